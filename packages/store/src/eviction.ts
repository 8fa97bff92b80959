/**
 * The least recently written entries of a Map-based cache go in batches. A
 * full cache that evicts one entry per insert asks the Map for its oldest
 * key each time, and V8 finds it by walking past the entries deleted since
 * the Map was last rehashed, which it keeps in place until then: ~30 µs per
 * insert into a full 131,072-key cache under random keys, the largest cost
 * of a put's apply at 1M keys. Evicting a sixteenth at once walks once per
 * batch (~1.5 µs per insert).
 */
export const EVICT_SHARE = 16;

/** How many entries (or bytes) below its bound a cache goes when it evicts. */
export function evictionSlack(bound: number): number {
  return Math.floor(bound / EVICT_SHARE);
}
