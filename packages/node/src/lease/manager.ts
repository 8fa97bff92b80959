import type { LeaseChange, Store } from '@bellwether/store';
import { notLeader } from '../errors';
import type { Replica } from '../replica';

/** How often the leader looks for expired leases. */
export const LEASE_CHECK_INTERVAL_MS = 100;

interface LeaseClock {
  ttlMs: number;
  /** `Date.now()` after which the leader expires it. */
  deadline: number;
}

/**
 * The lease clocks. Every member tracks which leases exist (from the applied
 * log); only the leader's deadlines matter: it alone expires leases, by
 * proposing their revocation. A member that becomes leader cannot know when
 * its predecessor last saw a keep-alive, so it starts every clock afresh at
 * TTL + election timeout: a lease never expires early because of a failover.
 */
export class LeaseManager {
  readonly #leases = new Map<number, LeaseClock>();
  readonly #revoking = new Set<number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly replica: Replica,
    private readonly store: Store,
    private readonly electionTimeoutMs: number,
  ) {
    replica.on('changes', (_changes, _applied, leases: LeaseChange[]) => {
      for (const c of leases) {
        if (c.type === 'grant') this.#leases.set(c.lease.id, { ttlMs: c.lease.ttlMs, deadline: Date.now() + c.lease.ttlMs });
        else this.#leases.delete(c.lease.id);
      }
    });
    replica.on('leaderChange', () => {
      if (!this.replica.isLeader) return;
      const now = Date.now();
      for (const l of this.#leases.values()) l.deadline = now + l.ttlMs + this.electionTimeoutMs;
    });
    replica.on('reset', () => void this.#reload());
  }

  async start(): Promise<void> {
    await this.#reload();
    this.#timer = setInterval(() => this.#expire(), LEASE_CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #reload(): Promise<void> {
    const now = Date.now();
    const leases = await this.store.leases();
    this.#leases.clear();
    for (const l of leases) this.#leases.set(l.id, { ttlMs: l.ttlMs, deadline: now + l.ttlMs + this.electionTimeoutMs });
  }

  /** Restarts a lease's TTL; returns it, or 0 when the lease does not exist. Leader only. */
  keepAlive(id: number): number {
    this.#requireLeader();
    const l = this.#leases.get(id);
    if (!l || this.#revoking.has(id)) return 0;
    l.deadline = Math.max(l.deadline, Date.now() + l.ttlMs);
    return l.ttlMs;
  }

  /** Milliseconds left and the granted TTL; undefined when the lease does not exist. Leader only. */
  timeToLive(id: number): { leftMs: number; ttlMs: number } | undefined {
    this.#requireLeader();
    const l = this.#leases.get(id);
    return l ? { leftMs: Math.max(0, l.deadline - Date.now()), ttlMs: l.ttlMs } : undefined;
  }

  list(): { id: number; ttlMs: number }[] {
    return [...this.#leases.entries()].map(([id, l]) => ({ id, ttlMs: l.ttlMs })).sort((a, b) => a.id - b.id);
  }

  #requireLeader(): void {
    if (!this.replica.isLeader) throw notLeader(this.replica.memberId, this.replica.leaderHint());
  }

  /** Proposes the revocation of every lease past its deadline (the log deletes its keys). */
  #expire(): void {
    if (!this.replica.isLeader) return;
    const now = Date.now();
    for (const [id, l] of this.#leases) {
      if (l.deadline > now || this.#revoking.has(id)) continue;
      this.#revoking.add(id);
      this.replica
        .propose({ op: 'lease-revoke', id, clientId: '', sequence: 0, minUnackedSequence: 0 })
        .catch(() => {
          // Not leader any more, or overloaded: the next leader (or the next check) retries.
        })
        .finally(() => this.#revoking.delete(id));
    }
  }
}
