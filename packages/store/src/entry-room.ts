/**
 * Room in front of a command for its log record's header, so a large value
 * is not copied once more when its entry is stored: the command is encoded
 * `ENTRY_HEADER_ROOM` bytes into its allocation (encodeCommand), and the log
 * record (term, type, data length, data) is those bytes plus the command,
 * written in place (RaftLog.persist). Only buffers registered here have such
 * room: a command decoded from a peer's message or read back from disk is a
 * view whose preceding bytes belong to something else, and is copied.
 */

/** Enough for the header: a term and a length (varints, 8 bytes each at most) and the type byte. */
export const ENTRY_HEADER_ROOM = 24;

/** Commands with room in front, and the header written there (undefined: none yet). */
const rooms = new WeakMap<Uint8Array, Buffer | undefined>();

/** `command` starts `ENTRY_HEADER_ROOM` bytes into its buffer, and those bytes are its own. */
export function markEntryRoom(command: Buffer): Buffer {
  if (command.byteOffset < ENTRY_HEADER_ROOM) throw new RangeError('entry room: the command has no room in front');
  rooms.set(command, undefined);
  return command;
}

/**
 * The record `header` + `data` as one buffer without copying `data`, when
 * `data` has room in front (the header is written there); undefined if not.
 * Once written, the room holds that header: a different one (the same bytes
 * under another term) is refused, since the first record may still be read.
 */
export function recordInPlace(header: Buffer, data: Uint8Array): Buffer | undefined {
  if (!rooms.has(data) || header.length > ENTRY_HEADER_ROOM) return undefined;
  const written = rooms.get(data);
  if (written !== undefined && !written.equals(header)) return undefined;
  const record = Buffer.from(data.buffer, data.byteOffset - header.length, header.length + data.length);
  if (written === undefined) {
    header.copy(record, 0);
    rooms.set(data, header);
  }
  return record;
}
