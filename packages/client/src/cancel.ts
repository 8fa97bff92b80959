/**
 * A cancellation flag with listeners: what the SDK passes around inside a call
 * instead of `AbortSignal`. Each call links the caller's signal, the client's
 * close and one per attempt; with Node's EventTarget those links were the
 * largest CPU cost of a call, here each is a Set insertion.
 */
export class CancelToken {
  #aborted = false;
  #reason: unknown;
  #listeners: Set<() => void> | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** What `abort` was given; undefined while not aborted. */
  get reason(): unknown {
    return this.#reason;
  }

  /** Aborts (once) and runs the listeners in the order they were added. */
  abort(reason: unknown = new Error('aborted')): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const fn of listeners) fn();
  }

  /**
   * Runs `fn` once when this token is aborted (never, if it already is: check
   * `aborted` first). Returns the function that detaches it.
   */
  onAbort(fn: () => void): () => void {
    if (this.#aborted) return noop;
    const listeners = (this.#listeners ??= new Set());
    // A wrapper keeps detaching exact when one function is registered twice.
    const once = () => fn();
    listeners.add(once);
    return () => {
      this.#listeners?.delete(once);
    };
  }

  /**
   * A token aborted as soon as any of `parents` is (with that parent's
   * reason); `dispose()` detaches it from them. Parents may be the caller's
   * `AbortSignal`s.
   */
  static link(parents: readonly (CancelToken | AbortSignal | undefined)[]): { token: CancelToken; dispose: () => void } {
    const token = new CancelToken();
    const offs: (() => void)[] = [];
    for (const parent of parents) {
      if (parent === undefined) continue;
      if (parent.aborted) {
        token.abort(parent.reason);
        break;
      }
      const onAbort = () => token.abort(parent.reason);
      if (parent instanceof CancelToken) {
        offs.push(parent.onAbort(onAbort));
      } else {
        parent.addEventListener('abort', onAbort, { once: true });
        offs.push(() => parent.removeEventListener('abort', onAbort));
      }
    }
    return {
      token,
      dispose: () => {
        for (const off of offs) off();
      },
    };
  }
}

function noop(): void {}
