// A per-client budget of retries in flight. After a leader change every call
// of a busy client fails at once; without a budget they would all come back
// at once too, and a fleet of such clients arrives at the new leader as one
// wave. With it, at most `limit` retries of one client are out at a time and
// the rest wait their turn (each within its own deadline), in order.
import type { CancelToken } from './cancel';

/** Retries of one client in flight at once, by default. */
export const MAX_CONCURRENT_RETRIES = 32;

export class RetryBudget {
  #inUse = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly limit: number = MAX_CONCURRENT_RETRIES) {
    if (!(limit >= 1)) throw new RangeError('retry budget: limit must be >= 1');
  }

  /** Retries holding a slot now. */
  get inUse(): number {
    return this.#inUse;
  }

  /**
   * Takes a slot, waiting for one if need be. Resolves with the function that
   * gives it back, or with undefined when `signal` fired or `deadline` passed
   * first (the caller's own checks then end the call).
   */
  acquire(signal: CancelToken, deadline: number): Promise<(() => void) | undefined> {
    if (this.#inUse < this.limit && this.#waiting.length === 0) {
      this.#inUse++;
      return Promise.resolve(this.#releaser());
    }
    if (signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const give = () => {
        done();
        this.#inUse++;
        resolve(this.#releaser());
      };
      const quit = () => {
        done();
        const i = this.#waiting.indexOf(give);
        if (i >= 0) this.#waiting.splice(i, 1);
        resolve(undefined);
      };
      const off = signal.onAbort(quit);
      const done = () => {
        clearTimeout(timer);
        off();
      };
      timer = setTimeout(quit, Math.max(0, deadline - Date.now()));
      this.#waiting.push(give);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inUse--;
      const next = this.#waiting.shift();
      if (next) next();
    };
  }
}
