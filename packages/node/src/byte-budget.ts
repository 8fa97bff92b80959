/**
 * A bound in bytes on something a member holds for others (writes waiting
 * to commit, buffered replies, ...): takers reserve bytes and give them back
 * when done. Those that do not fit wait in arrival order, each for at most
 * its own time, so one large request is not overtaken forever by small ones.
 * A request larger than the whole budget is let in only when the budget is
 * empty, so a value at the size limit always gets through eventually.
 *
 * It also measures how fast bytes are given back, so a refusal can say when
 * room is likely (a retry hint) and a caller can tell whether a wait would
 * outlast its deadline.
 */
const RATE_WINDOW_MS = 500;
const IDLE_WINDOW_MS = 5000;

export class ByteBudget {
  private used = 0;
  private readonly waiters: { bytes: number; grant(): void }[] = [];
  /** Bytes released per millisecond, smoothed over windows; 0 until one window was measured. */
  private drainBytesPerMs = 0;
  private windowStartMs = 0;
  private windowBytes = 0;

  constructor(readonly capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes <= 0) throw new RangeError(`ByteBudget: capacity must be a positive integer, got ${capacityBytes}`);
  }

  get usedBytes(): number {
    return this.used;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.capacityBytes;
  }

  /** Reserves `bytes` now if they fit and nobody waits ahead; false otherwise. */
  tryTake(bytes: number): boolean {
    if (this.waiters.length > 0 || !this.fits(bytes)) return false;
    this.used += bytes;
    return true;
  }

  /** Reserves `bytes`, waiting up to `waitMs` for room; resolves false (nothing reserved) if the time ran out. */
  take(bytes: number, waitMs: number): Promise<boolean> {
    if (this.tryTake(bytes)) return Promise.resolve(true);
    if (waitMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        bytes,
        grant: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
        // The head may have been what blocked the others.
        this.grantWaiters();
      }, waitMs);
      this.waiters.push(waiter);
    });
  }

  /** Gives back bytes taken earlier and lets waiters in. */
  release(bytes: number, nowMs = Date.now()): void {
    this.used = Math.max(0, this.used - bytes);
    this.measure(bytes, nowMs);
    this.grantWaiters();
  }

  /**
   * Releases come in bursts (one apply answers many writes), so the rate is
   * taken over windows of at least RATE_WINDOW_MS; a window that spans an
   * idle pause says nothing about the rate under load and is dropped.
   */
  private measure(bytes: number, nowMs: number): void {
    if (this.windowStartMs === 0 || nowMs - this.windowStartMs > IDLE_WINDOW_MS) {
      this.windowStartMs = nowMs;
      this.windowBytes = 0;
    }
    this.windowBytes += bytes;
    const spanMs = nowMs - this.windowStartMs;
    if (spanMs < RATE_WINDOW_MS) return;
    const rate = this.windowBytes / spanMs;
    this.drainBytesPerMs = this.drainBytesPerMs === 0 ? rate : 0.7 * this.drainBytesPerMs + 0.3 * rate;
    this.windowStartMs = nowMs;
    this.windowBytes = 0;
  }

  private grantWaiters(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      this.used += w.bytes;
      w.grant();
    }
  }

  /** About how long until `bytes` more would fit, from the recent release rate (undefined: no rate known yet). */
  estimatedWaitMs(bytes: number): number | undefined {
    if (this.drainBytesPerMs <= 0) return undefined;
    return Math.max(0, Math.ceil((this.queuedWith(bytes) - this.capacityBytes) / this.drainBytesPerMs));
  }

  /**
   * About how long until the bytes held now, those waiting, and `bytes` more
   * have drained, at the measured rate or, before one is measured, at
   * `assumedBytesPerMs`.
   */
  drainMsWith(bytes: number, assumedBytesPerMs: number): number {
    const rate = this.drainBytesPerMs > 0 ? this.drainBytesPerMs : assumedBytesPerMs;
    return Math.ceil(this.queuedWith(bytes) / rate);
  }

  /** The bytes held, those waiting, and `bytes` more. */
  private queuedWith(bytes: number): number {
    return this.used + bytes + this.waiters.reduce((n, w) => n + w.bytes, 0);
  }
}
