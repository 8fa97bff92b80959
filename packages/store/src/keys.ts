import { u64be } from './codec';

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
} as const;

export function logKey(index: number): Buffer {
  const k = Buffer.allocUnsafe(9);
  k[0] = Prefix.log;
  u64be(index).copy(k, 1);
  return k;
}

export const HARD_STATE_KEY = Buffer.from([Prefix.hardState]);

export function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.meta]), Buffer.from(name, 'utf8')]);
}

export function userKey(key: Uint8Array): Buffer {
  const k = Buffer.allocUnsafe(key.length + 1);
  k[0] = Prefix.user;
  k.set(key, 1);
  return k;
}

export function sessionKey(clientId: string): Buffer {
  return Buffer.concat([Buffer.from([Prefix.session]), Buffer.from(clientId, 'utf8')]);
}

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
