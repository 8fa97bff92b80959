/** An opaque handle for a timer set through a {@link Clock}. */
export type ClockTimer = { readonly clockTimer: true } | NodeJS.Timeout;

/**
 * Time as the replica sees it: the wall clock, a monotonic clock for
 * durations, and timers. Production uses {@link systemClock}; the node
 * simulator passes a virtual clock so a whole cluster runs deterministically.
 */
export interface Clock {
  /** Wall-clock milliseconds (Date.now()). */
  now(): number;
  /** Monotonic milliseconds for measuring durations (performance.now()). */
  monotonicNow(): number;
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
  setInterval(fn: () => void, ms: number): ClockTimer;
  clearInterval(timer: ClockTimer): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonicNow: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (timer) => clearInterval(timer as NodeJS.Timeout),
};
