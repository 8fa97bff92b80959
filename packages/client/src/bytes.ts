import { InvalidArgument } from './errors';

/** A key or a value: a string (stored as its UTF-8 bytes) or raw bytes. */
export type Bytes = string | Uint8Array;

/** Keys are 1..4096 bytes (kv.proto). The SDK checks this before sending. */
export const MAX_KEY_BYTES = 4096;

const decoder = new TextDecoder('utf-8');

/** Encodes a key or value for the wire (a zero-copy Buffer view of a Uint8Array). */
export function toBuffer(input: Bytes, field: string): Buffer {
  if (typeof input === 'string') return Buffer.from(input, 'utf8');
  if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  throw new InvalidArgument(`${field}: must be a string or a Uint8Array, got ${describe(input)}`);
}

/** Encodes and checks a key: 1..4096 bytes. */
export function toKey(input: Bytes, field = 'key'): Buffer {
  const b = toBuffer(input, field);
  if (b.length < 1 || b.length > MAX_KEY_BYTES) {
    throw new InvalidArgument(`${field}: must be 1..${MAX_KEY_BYTES} bytes, got ${b.length}`);
  }
  return b;
}

/** A plain Uint8Array view (no copy) of bytes the gRPC layer decoded. */
export function view(b: Uint8Array | undefined | null): Uint8Array {
  if (!b) return new Uint8Array(0);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Decodes UTF-8; invalid sequences become U+FFFD. */
export function utf8(b: Uint8Array): string {
  return decoder.decode(b);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
