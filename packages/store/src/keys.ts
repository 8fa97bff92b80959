/**
 * One LevelDB per node; the first byte of every key says what kind of record
 * it is, so each kind is one contiguous, independently scannable range.
 */
export const Prefix = {
  log: 0x6c, // 'l' + u64be(index) → log entry
  hardState: 0x68, // 'h' → term, vote, commit
  meta: 0x6d, // 'm' + name → node metadata
  user: 0x6b, // 'k' + user key → KeyValue record
  session: 0x73, // 's' + client id → recent write results of that client
  auth: 0x61, // 'a' → users, roles and permissions (one record)
} as const;

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
