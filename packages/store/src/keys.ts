import { Reader, Writer } from './codec';

/**
 * One LevelDB per node; the first byte of every key says what kind of record
 * it is, so each kind is one contiguous, independently scannable range.
 */
export const Prefix = {
  log: 0x6c, // 'l' + u64be(index) → log entry (before the log moved to wal/; moved out at open)
  hardState: 0x68, // 'h' → term, vote, commit (likewise)
  meta: 0x6d, // 'm' + name → node metadata
  user: 0x6b, // 'k' + user key → KeyValue record
  session: 0x73, // 's' + client id → recent write results of that client
  auth: 0x61, // 'a' → users, roles and permissions (one record)
  lease: 0x4c, // 'L' + u64be(lease id) → lease record (TTL)
  leaseKey: 0x41, // 'A' + u64be(lease id) + user key → '' (the keys attached to a lease)
  blobFile: 0x62, // 'b' + generation + u32be(file number) → the file's bytes and live bytes (blob-log.ts; local, not snapshotted)
} as const;

/** The kinds of records that make up the replicated state (snapshotted, generation-switched). */
export const STATE_PREFIXES = [Prefix.user, Prefix.session, Prefix.lease, Prefix.leaseKey, Prefix.auth] as const;

export function logKey(index: number): Buffer {
  const k = Buffer.allocUnsafe(9);
  k[0] = Prefix.log;
  // Big-endian u64 from two u32 halves: no BigInt on the append path.
  k.writeUInt32BE(Math.floor(index / 0x1_0000_0000), 1);
  k.writeUInt32BE(index >>> 0, 5);
  return k;
}

export const HARD_STATE_KEY = Buffer.from([Prefix.hardState]);

export function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.meta]), Buffer.from(name, 'utf8')]);
}

/**
 * The key-value state and sessions live under a generation byte (0 or 1). A
 * snapshot from the leader is written into the other generation and made
 * current by one atomic meta write, so a crash mid-install leaves the old state
 * whole.
 */
export type Generation = 0 | 1;

/** The applied index of the state (written with every apply, in the same batch). */
export const APPLIED_KEY = metaKey('applied');
/** Which of the two state generations is current (a snapshot install fills the other, then swaps). */
export const GENERATION_KEY = metaKey('generation');

export const decodeApplied = (raw: Uint8Array | undefined): number => (raw ? new Reader(raw).uint() : 0);
export const encodeApplied = (index: number): Buffer => new Writer(10).uint(index).finish();

export const decodeGeneration = (raw: Uint8Array | undefined): Generation => (raw?.[0] === 1 ? 1 : 0);

export const otherGeneration = (gen: Generation): Generation => (gen === 0 ? 1 : 0);

export function userKey(gen: Generation, key: Uint8Array): Buffer {
  const k = Buffer.allocUnsafe(key.length + 2);
  k[0] = Prefix.user;
  k[1] = gen;
  k.set(key, 2);
  return k;
}

export function sessionKey(gen: Generation, clientId: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.session, gen]), Buffer.from(clientId, 'utf8')]);
}

export function authKey(gen: Generation): Buffer {
  return Buffer.from([Prefix.auth, gen]);
}

/** [gte, lt) of one kind's records in one generation. */
export function generationRange(prefix: number, gen: Generation): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([prefix, gen]), lt: Buffer.from([prefix, gen + 1]) };
}

/** Bytes of a user or session key before the key proper. */
export const STATE_KEY_HEADER_BYTES = 2;

/** The smallest key greater than every key starting with `prefix`; undefined if none. */
export function prefixEnd(prefix: Uint8Array): Buffer | undefined {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

export function blobFileKey(gen: Generation, file: number): Buffer {
  const k = Buffer.allocUnsafe(6);
  k[0] = Prefix.blobFile;
  k[1] = gen;
  k.writeUInt32BE(file, 2);
  return k;
}

export function leaseKey(gen: Generation, id: number): Buffer {
  const k = Buffer.allocUnsafe(10);
  k[0] = Prefix.lease;
  k[1] = gen;
  k.writeUInt32BE(Math.floor(id / 0x1_0000_0000), 2);
  k.writeUInt32BE(id >>> 0, 6);
  return k;
}

/** The attachment of `key` to lease `id`; all of a lease's attachments share the 10-byte prefix. */
export function attachmentKey(gen: Generation, id: number, key: Uint8Array = Buffer.alloc(0)): Buffer {
  const head = leaseKey(gen, id);
  head[0] = Prefix.leaseKey;
  return Buffer.concat([head, key]);
}
