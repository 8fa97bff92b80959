import { crc32 } from 'node:zlib';
import { putValueOf } from './records';
import { crc32Combine } from './wal/crc32-combine';
import type { EntryChecksum } from './wal/wal-records';

/**
 * CRC-32s of large put values, computed while their log record was
 * checksummed and taken when the value is written to a blob file, so that
 * each value is read for a checksum once per member instead of twice (two
 * passes over 1 MiB cost ~0.5 ms). Keyed by the value's bytes (buffer,
 * offset, length): the log and the apply decode the same entry data into
 * different views. A value not found here (its entry was read back from
 * disk, or applied before it was persisted) is checksummed again.
 */
const known = new WeakMap<ArrayBufferLike, Map<number, { length: number; crc: number }>>();

function remember(value: Uint8Array, crc: number): void {
  let spans = known.get(value.buffer);
  if (!spans) known.set(value.buffer, (spans = new Map()));
  spans.set(value.byteOffset, { length: value.length, crc });
}

/** The CRC-32 of `value` if its log record computed it; forgets it. */
export function takeValueCrc(value: Uint8Array): number | undefined {
  const spans = known.get(value.buffer);
  const span = spans?.get(value.byteOffset);
  if (!span || span.length !== value.length) return undefined;
  spans!.delete(value.byteOffset);
  return span.crc;
}

/**
 * The log's checksum of an entry's data (CRC-32 continuing from `seed`), for
 * a store whose values of `minValueBytes` or more go to blob files: a put
 * carrying such a value has the value's own CRC-32 computed, remembered, and
 * combined with the bytes around it.
 */
export function valueAwareChecksum(minValueBytes: number): EntryChecksum {
  return (data, seed) => {
    const value = data.length >= minValueBytes ? putValueOf(data) : undefined;
    // Data that only looks like a put (a membership entry, say) may yield a
    // span: the checksum is the same whatever the span, and nothing applies
    // it as a put to take the remembered CRC.
    if (!value || value.length < minValueBytes) return crc32(data, seed);
    const start = value.byteOffset - data.byteOffset;
    const end = start + value.length;
    const valueCrc = crc32(value);
    remember(value, valueCrc);
    // zlib's crc32 of a zero-length buffer without memory is 0, not the seed: skip empty parts.
    const before = start > 0 ? crc32(data.subarray(0, start), seed) : seed;
    const through = crc32Combine(before, valueCrc, value.length);
    return end < data.length ? crc32(data.subarray(end), through) : through;
  };
}
