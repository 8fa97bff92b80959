import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { UserRecord } from '@bellwether/store';

/** scrypt cost: N = 2^14, r = 8, p = 1 (~16 MiB, tens of ms): slow for guessing, fine for a login. */
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const HASH_BYTES = 32;
const SALT_BYTES = 16;

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, HASH_BYTES, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A fresh salt and the password's scrypt hash; only these are replicated. */
export async function hashPassword(password: string): Promise<{ salt: Buffer; hash: Buffer }> {
  const salt = randomBytes(SALT_BYTES);
  return { salt, hash: await derive(password, salt) };
}

export async function passwordMatches(user: Pick<UserRecord, 'salt' | 'hash'>, password: string): Promise<boolean> {
  const hash = await derive(password, user.salt);
  return hash.length === user.hash.length && timingSafeEqual(hash, user.hash);
}
