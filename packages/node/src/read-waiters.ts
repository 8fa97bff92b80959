import type { ReadState } from '@bellwether/raft';
import type { Clock, ClockTimer } from './clock';
import { Overloaded } from './replica-errors';

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

/**
 * Reads waiting on this member: for a read index (batched into rounds, one
 * leadership confirmation per round trip, as etcd batches them) and for the
 * applied index to reach a given index. Bounded by maxPendingReads.
 */
export class ReadWaiters {
  /** Waiting for the next read-index round. */
  private queued: Waiter<number>[] = [];
  /** Rounds asked of Raft, by their context, with the reads that share each. */
  private readonly rounds = new Map<string, { waiters: Waiter<number>[]; timer: ClockTimer }>();
  /** Waiting for the applied index, each until its deadline (clock.monotonicNow() ms). */
  private appliedWaiters: { index: number; deadlineMs: number; resolve(ok: boolean): void }[] = [];
  /** One timer for all of them, due at the earliest deadline: no timer per read. */
  private expiryTimer: ClockTimer | undefined;
  private expiryAtMs = Number.POSITIVE_INFINITY;
  private roundCounter = 0;

  constructor(
    private readonly clock: Clock,
    private readonly memberId: string,
    private readonly maxPendingReads: number,
    private readonly readIndexTimeoutMs: number,
  ) {}

  get pendingCount(): number {
    let n = this.queued.length + this.appliedWaiters.length;
    for (const { waiters } of this.rounds.values()) n += waiters.length;
    return n;
  }

  /** Queues a read for the next read-index round; refused when too many reads already wait. */
  request(): Promise<number> {
    if (this.pendingCount >= this.maxPendingReads) {
      return Promise.reject(new Overloaded(`member ${this.memberId}: ${this.maxPendingReads} reads already waiting; back off and retry`));
    }
    return new Promise((resolve, reject) => {
      this.queued.push({ resolve, reject });
    });
  }

  /**
   * Reads queued and no read-index round in flight. Reads that arrive while
   * a round is in flight cannot use it (its confirmation may predate them),
   * so they wait and share the next one.
   */
  roundDue(): boolean {
    return this.queued.length > 0 && this.rounds.size === 0;
  }

  /**
   * Starts a round for the queued reads: `ask` hands its context to Raft. A
   * round not answered within readIndexTimeoutMs fails its reads with
   * `timedOut()`, and `kick` lets the reads queued behind it start theirs.
   */
  startRound(ask: (ctx: Buffer) => void, timedOut: () => Error, kick: () => void): void {
    const waiters = this.queued;
    this.queued = [];
    const ctx = Buffer.from(`${this.memberId}:${++this.roundCounter}`);
    const key = ctx.toString('latin1');
    const timer = this.clock.setTimeout(() => {
      const entry = this.rounds.get(key);
      if (!entry) return;
      this.rounds.delete(key);
      const e = timedOut();
      for (const w of entry.waiters) w.reject(e);
      kick();
    }, this.readIndexTimeoutMs);
    this.rounds.set(key, { waiters, timer });
    ask(ctx);
  }

  /** Refuses the queued reads (no leader to ask). */
  rejectQueued(e: Error): void {
    for (const w of this.queued.splice(0)) w.reject(e);
  }

  onReadState(rs: ReadState): void {
    const entry = this.takeRound(rs.ctx);
    if (entry) for (const w of entry.waiters) w.resolve(rs.index);
  }

  onReadFailed(ctx: Uint8Array, e: () => Error): void {
    const entry = this.takeRound(ctx);
    if (!entry) return;
    const err = e();
    for (const w of entry.waiters) w.reject(err);
  }

  private takeRound(ctx: Uint8Array): { waiters: Waiter<number>[] } | undefined {
    const key = Buffer.from(ctx).toString('latin1');
    const entry = this.rounds.get(key);
    if (!entry) return undefined;
    this.rounds.delete(key);
    this.clock.clearTimeout(entry.timer);
    return entry;
  }

  /**
   * The leader changed: a round asked of the old one may never be answered,
   * so its reads join the next round (a confirmation after a read arrived is
   * as good).
   */
  retireRounds(): void {
    for (const [key, { waiters, timer }] of this.rounds) {
      this.clock.clearTimeout(timer);
      this.rounds.delete(key);
      this.queued.unshift(...waiters);
    }
  }

  /** Resolves true once `applied()` reaches `index`, false if `timeoutMs` passes first (or too many reads already wait). */
  waitApplied(index: number, timeoutMs: number, applied: number): Promise<boolean> {
    if (applied >= index) return Promise.resolve(true);
    if (this.appliedWaiters.length >= this.maxPendingReads) return Promise.resolve(false);
    return new Promise((resolve) => {
      const deadlineMs = this.clock.monotonicNow() + timeoutMs;
      this.appliedWaiters.push({ index, deadlineMs, resolve });
      if (deadlineMs < this.expiryAtMs) this.armExpiry(deadlineMs);
    });
  }

  /** The state is applied up to `appliedIndex`: the reads waiting for it go ahead. */
  resolveApplied(appliedIndex: number): void {
    if (this.appliedWaiters.length === 0) return;
    const ready = this.takeAppliedWaiters((w) => w.index <= appliedIndex);
    if (this.appliedWaiters.length === 0) this.disarmExpiry();
    for (const resolve of ready) resolve(true);
  }

  /** Removes the applied-index waiters `done` picks; returns how to answer them. */
  private takeAppliedWaiters(done: (w: { index: number; deadlineMs: number }) => boolean): ((ok: boolean) => void)[] {
    const taken: ((ok: boolean) => void)[] = [];
    const kept: typeof this.appliedWaiters = [];
    for (const w of this.appliedWaiters) {
      if (done(w)) taken.push(w.resolve);
      else kept.push(w);
    }
    this.appliedWaiters = kept;
    return taken;
  }

  private armExpiry(atMs: number): void {
    this.disarmExpiry();
    this.expiryAtMs = atMs;
    this.expiryTimer = this.clock.setTimeout(() => this.expire(), Math.max(0, atMs - this.clock.monotonicNow()));
  }

  private disarmExpiry(): void {
    if (this.expiryTimer !== undefined) this.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.expiryAtMs = Number.POSITIVE_INFINITY;
  }

  /** The earliest deadline passed: those past theirs give up; the timer moves to the next deadline. */
  private expire(): void {
    this.expiryTimer = undefined;
    this.expiryAtMs = Number.POSITIVE_INFINITY;
    const nowMs = this.clock.monotonicNow();
    const late = this.takeAppliedWaiters((w) => w.deadlineMs <= nowMs);
    let nextMs = Number.POSITIVE_INFINITY;
    for (const w of this.appliedWaiters) nextMs = Math.min(nextMs, w.deadlineMs);
    if (nextMs < Number.POSITIVE_INFINITY) this.armExpiry(nextMs);
    for (const resolve of late) resolve(false);
  }

  /** Fails every read waiting for a read index (the member stops). Reads waiting for an apply time out on their own. */
  failAll(e: Error): void {
    this.rejectQueued(e);
    for (const { waiters, timer } of this.rounds.values()) {
      this.clock.clearTimeout(timer);
      for (const w of waiters) w.reject(e);
    }
    this.rounds.clear();
  }
}
