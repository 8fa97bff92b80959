import type { CancelToken } from './cancel';
import { Cancelled, DeadlineExceeded } from './errors';

/**
 * Issues the `(clientId, sequence)` pairs of one client's writes: one
 * sequence per logical write, strictly increasing. A retry of a write reuses
 * its pair (the request is built once). It also knows the lowest sequence
 * still waiting for an answer (sent as `min_unacked_sequence`, so the cluster
 * may forget older results) and keeps at most `window` sequences between
 * that and the next, so the cluster still remembers every pending one.
 */
export class WriteSequencer {
  #next: number;
  #lowest: number;
  readonly #pending = new Set<number>();
  readonly #waiters = new Set<() => void>();

  constructor(
    first: number,
    readonly window: number,
  ) {
    this.#next = first;
    this.#lowest = first;
  }

  /** The lowest sequence still waiting for an answer (or the next one when none is). */
  floor(): number {
    return this.#lowest;
  }

  /** Takes the next sequence, waiting while the window is full. */
  async acquire(signal: CancelToken, deadline: number, method: string): Promise<number> {
    while (this.#next - this.#lowest >= this.window) {
      if (signal.aborted) throw new Cancelled(`${method}: cancelled before it was sent; nothing was applied`, { method, cause: signal.reason });
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new DeadlineExceeded(`${method}: deadline exceeded waiting for one of ${this.window} pending writes to finish; the write was not applied`, {
          method,
        });
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          off();
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        const off = signal.onAbort(done);
        this.#waiters.add(done);
      });
    }
    const sequence = this.#next++;
    this.#pending.add(sequence);
    return sequence;
  }

  /** The write with `sequence` has its answer (or its caller gave up). */
  release(sequence: number): void {
    if (!this.#pending.delete(sequence)) return;
    while (this.#lowest < this.#next && !this.#pending.has(this.#lowest)) this.#lowest++;
    for (const wake of [...this.#waiters]) wake();
  }
}
