import { evictionSlack } from './eviction';

/**
 * Records the apply path wrote recently, kept in memory so the next apply
 * that needs one, or a point read, does not read it back from LevelDB (a
 * read there is a round trip through libuv's thread pool, on the way to
 * every write's answer). Bounded by count and by bytes, least recently
 * written first out; a record larger than `maxRecordBytes` is not kept.
 * `null` records a key known to be absent. Like the revision cache, only
 * the store's apply writes to it, after its batch is in LevelDB, and
 * whatever replaces the state (a snapshot install) clears it.
 */
export class RecentRecords<T> {
  readonly #entries = new Map<string, { record: T | null; bytes: number }>();
  #bytes = 0;

  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
    readonly maxRecordBytes: number,
  ) {}

  /** `undefined` when not kept (read it from the store). */
  get(key: string): T | null | undefined {
    return this.#entries.get(key)?.record;
  }

  set(key: string, record: T | null, bytes: number): void {
    this.delete(key);
    if (bytes > this.maxRecordBytes || this.maxRecords <= 0) return;
    // Inserted last: the young end of the Map's order.
    this.#entries.set(key, { record, bytes });
    this.#bytes += bytes;
    if (this.#entries.size <= this.maxRecords && this.#bytes <= this.maxBytes) return;
    // Past a bound, a sixteenth more goes in the same pass (see EVICT_SHARE).
    const keepRecords = this.maxRecords - evictionSlack(this.maxRecords);
    const keepBytes = this.maxBytes - evictionSlack(this.maxBytes);
    for (const [oldest, held] of this.#entries) {
      if (this.#entries.size <= keepRecords && this.#bytes <= keepBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= held.bytes;
    }
  }

  delete(key: string): void {
    const held = this.#entries.get(key);
    if (!held) return;
    this.#entries.delete(key);
    this.#bytes -= held.bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}
