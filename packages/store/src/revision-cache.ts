import { evictionSlack } from './eviction';
import type { BlobPointer } from './records';

/** What applying a write needs to know of a key besides its value. */
export interface KeyRevisions {
  createRevision: number;
  modRevision: number;
  version: number;
  lease?: number;
  /** Where the value is, when it lives in a blob file (its space is released when the key is written again). */
  blob?: BlobPointer;
}

/**
 * The revisions of recently written keys, so an apply batch need not read
 * them back from LevelDB (a point read there costs ~6–13 µs of CPU, the
 * largest part of applying a put). `null` records a key known to be absent.
 * Bounded, least recently written first out. Only the store's apply writes
 * to it, after its batch is durable in LevelDB, so it never runs ahead of
 * the state; whatever replaces the state (a snapshot install) clears it.
 */
export class RevisionCache {
  readonly #entries = new Map<string, KeyRevisions | null>();

  constructor(readonly capacity: number) {}

  /** `undefined` when the key is not cached (read it from the store). */
  get(key: string): KeyRevisions | null | undefined {
    return this.#entries.get(key);
  }

  set(key: string, revisions: KeyRevisions | null): void {
    if (this.capacity <= 0) return;
    // Re-inserting moves the key to the young end of the Map's order.
    this.#entries.delete(key);
    this.#entries.set(key, revisions);
    if (this.#entries.size <= this.capacity) return;
    // Past the bound, a sixteenth more goes in the same pass (see EVICT_SHARE).
    let excess = this.#entries.size - this.capacity + evictionSlack(this.capacity);
    for (const oldest of this.#entries.keys()) {
      this.#entries.delete(oldest);
      if (--excess <= 0) break;
    }
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
