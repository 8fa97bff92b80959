import type { KeyChange } from '@bellwether/store';
import type { Replica } from '../replica';
import { type HistoryLimits, WatchHistory } from './history';
import type { Watcher, WatcherLimits } from './watcher';

export interface WatchLimits extends HistoryLimits, WatcherLimits {
  /** Watches on one member at once; more are refused (RESOURCE_EXHAUSTED as a cancel reason). */
  maxWatches: number;
  /** How often watches with progress_notify that sent nothing get an empty response. */
  progressIntervalMs: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimits = {
  maxRevisions: 100_000,
  maxBytes: 64 * 1024 * 1024,
  maxLagBytes: 16 * 1024 * 1024,
  maxResponseBytes: 1024 * 1024,
  maxWatches: 10_000,
  progressIntervalMs: 1000,
};

/**
 * Every watch of this member and the history they read. Changes arrive from
 * the replica after each apply; watchers are pumped on a later turn of the
 * event loop, so however many watch, the apply loop only appends to the
 * history.
 */
export class WatchHub {
  readonly history: WatchHistory;
  readonly #watchers = new Set<Watcher>();
  #scheduled = false;

  constructor(
    replica: Replica,
    readonly limits: WatchLimits,
  ) {
    this.history = new WatchHistory(limits, replica.appliedIndex);
    replica.on('changes', (changes: KeyChange[], appliedIndex: number) => {
      this.history.append(changes, appliedIndex);
      this.#schedule();
    });
    replica.on('reset', (appliedIndex: number) => {
      this.history.reset(appliedIndex);
      this.#schedule();
    });
  }

  get size(): number {
    return this.#watchers.size;
  }

  add(w: Watcher): void {
    this.#watchers.add(w);
  }

  remove(w: Watcher): void {
    this.#watchers.delete(w);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      for (const w of this.#watchers) w.pump();
    });
  }
}
