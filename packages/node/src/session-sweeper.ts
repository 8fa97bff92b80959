// Client sessions expire by time, decided by the leader and carried out
// through the log (store/session-expiry.ts), so that every replica forgets
// the same sessions. No replica's clock is compared with another's: each
// member records when it saw its applied index reach each value, and the
// time a session was last written is at most the time this member had
// applied its last index. A session is expired once that lower bound on its
// idleness passes the TTL; a member that just started or just became leader
// knows only its own recent samples, so it waits longer, never shorter.
import { SESSION_EXPIRE_BATCH, type SessionExpireCommand, type Store } from '@bellwether/store';
import type { Logger } from 'pino';
import type { Replica } from './replica';

/** When this member's applied index reached each value (samples, oldest first). */
export class AppliedTimeline {
  #samples: { index: number; atMs: number }[] = [];

  record(index: number, atMs: number): void {
    const last = this.#samples[this.#samples.length - 1];
    if (last && last.index >= index) return;
    this.#samples.push({ index, atMs });
  }

  /** At least how long ago `index` was applied here: 0 until a sample reached it. */
  idleAtLeastMs(index: number, nowMs: number): number {
    let lo = 0;
    let hi = this.#samples.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#samples[mid]!.index >= index) hi = mid;
      else lo = mid + 1;
    }
    const first = this.#samples[lo];
    return first ? nowMs - first.atMs : 0;
  }

  /** Forgets samples older than `keepMs`, but the newest of them (it still proves idleness past `keepMs`). */
  prune(nowMs: number, keepMs: number): void {
    let old = 0;
    while (old + 1 < this.#samples.length && nowMs - this.#samples[old + 1]!.atMs >= keepMs) old++;
    if (old > 0) this.#samples.splice(0, old);
  }

  get size(): number {
    return this.#samples.length;
  }
}

export interface SessionSweeperOptions {
  ttlMs: number;
  log: Logger;
  now?: () => number;
}

/** Samples the applied index on every member; on the leader, proposes the expiry of sessions idle past the TTL. */
export class SessionSweeper {
  readonly timeline = new AppliedTimeline();
  readonly #intervalMs: number;
  #sweeping = false;
  #lastSweepMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly replica: Replica,
    private readonly store: Store,
    private readonly opts: SessionSweeperOptions,
  ) {
    // Ten samples and sweeps per TTL: a session is expired at most ~20% after
    // its time. A sweep reads every session record, so not more often.
    this.#intervalMs = Math.min(600_000, Math.max(100, Math.floor(opts.ttlMs / 10)));
  }

  start(): () => void {
    const timer = setInterval(() => void this.tick(), this.#intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  async tick(): Promise<void> {
    const now = (this.opts.now ?? Date.now)();
    this.timeline.record(this.replica.appliedIndex, now);
    this.timeline.prune(now, this.opts.ttlMs);
    if (!this.replica.isLeader || this.#sweeping || now - this.#lastSweepMs < this.#intervalMs) return;
    this.#sweeping = true;
    this.#lastSweepMs = now;
    let expired = 0;
    try {
      let batch: SessionExpireCommand['sessions'] = [];
      for await (const s of this.store.sessionLastIndexes()) {
        if (this.timeline.idleAtLeastMs(s.lastIndex, now) < this.opts.ttlMs) continue;
        batch.push(s);
        if (batch.length === SESSION_EXPIRE_BATCH) {
          expired += (await this.replica.propose({ op: 'session-expire', sessions: batch })).deleted;
          batch = [];
        }
      }
      if (batch.length > 0) expired += (await this.replica.propose({ op: 'session-expire', sessions: batch })).deleted;
      if (expired > 0) this.opts.log.info({ expired, ttlMs: this.opts.ttlMs }, 'expired idle client sessions');
    } catch (err) {
      // Lost leadership or overloaded: the next leader, or the next sweep, tries again.
      this.opts.log.debug({ err: (err as Error).message }, 'session expiry did not complete');
    } finally {
      this.#sweeping = false;
    }
  }
}
