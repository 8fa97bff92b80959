import { crc32 } from 'node:zlib';
import { Reader, Writer } from '../codec';
import type { HardState, LogEntry } from '../storage-interfaces';

/**
 * The log's records on disk. Each is framed as u32le body length, u32le
 * CRC-32 of the body, then the body, whose first byte is its kind. A record
 * whose frame or checksum does not hold ends the readable log: that is the
 * tail a crash tore off mid-write.
 */
export const FRAME_BYTES = 8;

export const RecordKind = {
  /** index, term, type, then the entry's data to the end of the body. */
  entry: 1,
  /** term, vote, commit. */
  hardState: 2,
  /** mode, index, then the compaction point's meta (opaque) to the end of the body. */
  snapshot: 3,
} as const;

/**
 * The CRC-32 of an entry's data continuing from `seed` (the header's). The
 * store passes one that also keeps a large value's own checksum
 * (value-checksums.ts); the result must be zlib's crc32(data, seed).
 */
export type EntryChecksum = (data: Uint8Array, seed: number) => number;

/** `compact`: entries up to the index are dropped. `reset`: the whole log is, and it resumes after the index. */
export type SnapshotMode = 'compact' | 'reset';

const ENTRY_TYPES = ['normal', 'noop', 'conf'] as const;
/** A body longer than this is a torn or garbage length, not a record (entries are at most a few MiB). */
const MAX_BODY_BYTES = 256 * 1024 * 1024;
/** Data up to this size is copied next to its header; larger data goes out as its own buffer, uncopied. */
const INLINE_DATA_BYTES = 4096;

/**
 * An entry's record as the buffers to write: the frame and header, then the
 * data itself when it is large (one gathered write, no copy of the value).
 */
export function entryRecord(e: LogEntry, checksum: EntryChecksum = crc32): Uint8Array[] {
  const head = new Writer(24, FRAME_BYTES).u8(RecordKind.entry).uint(e.index).uint(e.term).u8(ENTRY_TYPES.indexOf(e.type));
  if (e.data.length <= INLINE_DATA_BYTES) {
    const body = head.raw(e.data).finish();
    return [frame(body, crc32(body))];
  }
  const header = head.finish();
  return [frame(header, checksum(e.data, crc32(header)), e.data.length), e.data];
}

export function hardStateRecord(h: HardState): Buffer {
  const body = new Writer(24, FRAME_BYTES)
    .u8(RecordKind.hardState)
    .uint(h.term)
    .optional(h.vote, (w, v) => w.string(v))
    .uint(h.commit)
    .finish();
  return frame(body, crc32(body));
}

export function snapshotRecord(mode: SnapshotMode, index: number, meta: Uint8Array): Buffer {
  const body = new Writer(16 + meta.length, FRAME_BYTES)
    .u8(RecordKind.snapshot)
    .u8(mode === 'reset' ? 1 : 0)
    .uint(index)
    .raw(meta)
    .finish();
  return frame(body, crc32(body));
}

/**
 * Writes the frame into the `FRAME_BYTES` the Writer left in front of `head`
 * and returns frame + head as one buffer; `tailBytes` more body bytes follow
 * in a buffer of their own.
 */
function frame(head: Buffer, crc: number, tailBytes = 0): Buffer {
  const framed = Buffer.from(head.buffer, head.byteOffset - FRAME_BYTES, head.length + FRAME_BYTES);
  framed.writeUInt32LE(head.length + tailBytes, 0);
  framed.writeUInt32LE(crc, 4);
  return framed;
}

export type WalRecord =
  | { kind: 'entry'; entry: LogEntry }
  | { kind: 'hardState'; hardState: HardState }
  | { kind: 'snapshot'; mode: SnapshotMode; index: number; meta: Buffer };

export interface ParsedRecord {
  record: WalRecord;
  /** Where the record's frame starts in the segment, and its length with the frame. */
  offset: number;
  bytes: number;
}

/**
 * The records of one segment, up to the first that does not check out;
 * `validBytes` is where that is. Entry data are views into `buf`.
 */
export function parseSegment(buf: Buffer): { records: ParsedRecord[]; validBytes: number } {
  const records: ParsedRecord[] = [];
  let pos = 0;
  while (pos + FRAME_BYTES <= buf.length) {
    const len = buf.readUInt32LE(pos);
    if (len === 0 || len > MAX_BODY_BYTES || pos + FRAME_BYTES + len > buf.length) break;
    const body = buf.subarray(pos + FRAME_BYTES, pos + FRAME_BYTES + len);
    if (crc32(body) !== buf.readUInt32LE(pos + 4)) break;
    const record = decodeBody(body);
    if (!record) break;
    records.push({ record, offset: pos, bytes: FRAME_BYTES + len });
    pos += FRAME_BYTES + len;
  }
  return { records, validBytes: pos };
}

/** A record read back on its own (a follower's catch-up); undefined if it does not check out. */
export function parseRecord(buf: Buffer): WalRecord | undefined {
  const { records } = parseSegment(buf);
  return records.length === 1 && records[0]!.bytes === buf.length ? records[0]!.record : undefined;
}

function decodeBody(body: Buffer): WalRecord | undefined {
  const r = new Reader(body);
  try {
    switch (r.u8()) {
      case RecordKind.entry: {
        const index = r.uint();
        const term = r.uint();
        const type = ENTRY_TYPES[r.u8()];
        if (!type) return undefined;
        return { kind: 'entry', entry: { index, term, type, data: body.subarray(r.position) } };
      }
      case RecordKind.hardState: {
        const term = r.uint();
        const vote = r.optional((r) => r.string()) ?? null;
        return { kind: 'hardState', hardState: { term, vote, commit: r.uint() } };
      }
      case RecordKind.snapshot: {
        const mode: SnapshotMode = r.u8() === 1 ? 'reset' : 'compact';
        const index = r.uint();
        return { kind: 'snapshot', mode, index, meta: body.subarray(r.position) };
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}
