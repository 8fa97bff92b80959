// Random and boundary values for fuzzed messages, all drawn from one seeded Rng.
import type { Rng } from '@bellwether/raft';

/** Numbers at the edges: JS-safe limits, 32/64-bit limits (as decimal strings where a JS number cannot hold them), and small ones. */
const BOUNDARY = [0, 1, 2, 255, 256, 65535, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 52, 2 ** 53 - 1, '9007199254740992', '9007199254740993', '18446744073709551615'] as const;

export function number(rng: Rng): number | string {
  return rng.chance(0.6) ? rng.pick(BOUNDARY) : rng.int(0, 1_000_000);
}

/** A 32-bit field: proto3 uint32 accepts up to 2^32 - 1. */
export function u32(rng: Rng): number {
  return rng.pick([0, 1, 100, 5000, 2 ** 31 - 1, 2 ** 32 - 1]);
}

/** Bytes of a random length, sometimes just past a server limit (keys 4096, values 1 MiB). */
export function bytes(rng: Rng, kind: 'key' | 'value' | 'small' = 'small'): Buffer {
  const lengths = kind === 'key' ? [0, 1, 16, 4096, 4097] : kind === 'value' ? [0, 1, 100, 65_536, 1024 * 1024 + 1] : [0, 1, 8, 64, 1025];
  // Large ones rarely: they cost the cluster real work.
  const len = rng.chance(0.9) ? rng.int(0, 32) : rng.pick(lengths);
  const b = Buffer.alloc(len);
  for (let i = 0; i < Math.min(len, 64); i++) b[i] = rng.int(0, 255);
  return b;
}

/** A user key that never lands on the acknowledged writes the campaign checks. */
export function key(rng: Rng, protectedPrefix: string): Buffer {
  const k = bytes(rng, 'key');
  return k.subarray(0, protectedPrefix.length).toString('latin1') === protectedPrefix ? Buffer.concat([Buffer.from('x'), k]) : k;
}

export function text(rng: Rng): string {
  const len = rng.chance(0.95) ? rng.int(0, 20) : rng.pick([129, 1025, 70_000]);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(rng.chance(0.9) ? rng.int(0x20, 0x7e) : rng.int(0, 0xffff));
  return s;
}

export function enumValue(rng: Rng, names: readonly string[]): string | number {
  // Unknown numeric values too: a decoder must cope with enum values it does not know.
  return rng.chance(0.8) ? rng.pick(names) : rng.int(0, 1000);
}
