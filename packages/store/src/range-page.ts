// A Range reply is paged by bytes as well as by count: a page stops before
// the key that would take its keys and values past a byte budget, and says
// `more`, so one reply (and the memory holding it) stays bounded whatever the
// values weigh. A page always holds at least one key, or a key larger than
// the budget could never be read.
import type { KeyValueRecord } from './records';

/**
 * The default byte budget of one Range page: keys plus values (keys only with
 * keys_only). 3 MiB leaves room for the ~40 bytes of revisions and framing
 * each of up to 10,000 keys adds, so a page fits the 4 MiB a stock gRPC client
 * accepts in one message.
 */
export const DEFAULT_RANGE_PAGE_BYTES = 3 * 1024 * 1024;

/**
 * The byte budget shared by every range in one transaction. A fixed number, not
 * a setting: each replica evaluates the transaction and must cut its pages at
 * the same key, and the result is remembered in the client's session.
 */
export const TXN_RANGE_BYTES = DEFAULT_RANGE_PAGE_BYTES;

/** What one key costs a page: its key, and its value unless the range is keys only. */
export function pageBytes(kv: KeyValueRecord, keysOnly: boolean | undefined): number {
  return kv.key.length + (keysOnly ? 0 : kv.value.length);
}

/** How many of `kvs` (in order) fit `maxBytes`: at least `minKeys` (and at least one) whatever they weigh. */
export function fitBytes(kvs: readonly KeyValueRecord[], maxBytes: number, keysOnly: boolean | undefined, minKeys = 1): number {
  let bytes = 0;
  for (let i = 0; i < kvs.length; i++) {
    bytes += pageBytes(kvs[i]!, keysOnly);
    if (bytes > maxBytes && i >= Math.max(1, minKeys)) return i;
  }
  return kvs.length;
}
