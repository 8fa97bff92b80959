import type { Clock, ClockTimer } from '../src/clock';

interface Timer {
  readonly clockTimer: true;
  at: number;
  seq: number;
  fn: () => void;
  /** Re-armed this many ms after it fires (setInterval). */
  every: number | undefined;
  cancelled: boolean;
}

/** Wall-clock time the simulation starts at (any fixed instant will do). */
const EPOCH_MS = Date.UTC(2026, 0, 1);

/**
 * Virtual time for a whole simulated cluster: timers fire in (time, creation)
 * order, never by the real clock, so a run depends on its seed alone.
 */
export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  /** Pending timers, sorted by (at, seq). */
  private queue: Timer[] = [];

  now(): number {
    return EPOCH_MS + this.t;
  }

  monotonicNow(): number {
    return this.t;
  }

  /** Milliseconds since the simulation started. */
  get elapsed(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    return this.arm(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): ClockTimer {
    return this.arm(fn, ms, Math.max(1, ms));
  }

  clearTimeout(timer: ClockTimer): void {
    (timer as Timer).cancelled = true;
  }

  clearInterval(timer: ClockTimer): void {
    (timer as Timer).cancelled = true;
  }

  private arm(fn: () => void, ms: number, every: number | undefined): Timer {
    const timer: Timer = { clockTimer: true, at: this.t + Math.max(0, ms), seq: this.seq++, fn, every, cancelled: false };
    this.insert(timer);
    return timer;
  }

  private insert(timer: Timer): void {
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const q = this.queue[mid]!;
      if (q.at < timer.at || (q.at === timer.at && q.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, timer);
  }

  /**
   * Moves time to the next pending timer at or before `until` and fires it;
   * false when there is none (time then stands at `until`).
   */
  fireNext(until: number): boolean {
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.at > until) {
        this.t = Math.max(this.t, until);
        return false;
      }
      this.queue.shift();
      if (next.cancelled) continue;
      this.t = next.at;
      if (next.every !== undefined) {
        next.at = this.t + next.every;
        next.seq = this.seq++;
        this.insert(next);
      }
      next.fn();
      return true;
    }
  }
}
