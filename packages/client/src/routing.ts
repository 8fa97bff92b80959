// Where each attempt goes, and whether a failed attempt is tried again.
//
// Writes go to the leader: a NOT_LEADER hint is followed at once, and while
// no leader is known the write waits for the tracker to learn one (waking
// at once when it does) instead of being sent where it cannot succeed.
// Reads go by mode: linearizable to the leader first; read-your-writes and
// any-follower spread over the followers (least outstanding requests, or
// round robin), skip members known down, prefer members known to have
// applied the session's index, and use the leader only when no follower is
// left. A read that fails on one member is retried on another at once.
import type { CancelToken } from './cancel';
import { Aborted, type BellwetherError, Cancelled, Internal, NotLeader, ResourceExhausted, Unavailable } from './errors';
import type { MemberConnection, MemberPool } from './member';
import type { CallContext, CallState, Operation, RetryPolicy, Router } from './pipeline';
import type { ResponseHeader } from './results';
import { type MAX_CONCURRENT_RETRIES, RetryBudget } from './retry-budget';
import type { MemberState } from './member-state';
import type { ClusterTracker } from './tracker';

/** How long a follower that refused a read is passed over while others can serve. */
const REFUSAL_MEMORY_MS = 2000;

/** How follower reads are spread over the members that may serve them. */
export type LoadBalancing = 'least-outstanding' | 'round-robin';

/** Routes by the tracker's view; see the comment at the top of this file. */
/** How far behind a session's index a follower may be known to be and still get its read-your-writes reads. */
const NEAR_ENOUGH_ENTRIES = 1000;

export class ClusterRouter implements Router {
  readonly #tracker: ClusterTracker;
  readonly #pool: MemberPool;
  readonly #balancing: LoadBalancing;
  #cursor = 0;

  constructor(tracker: ClusterTracker, pool: MemberPool, balancing: LoadBalancing) {
    this.#tracker = tracker;
    this.#pool = pool;
    this.#balancing = balancing;
  }

  route(op: Operation, _attempt: number, call: CallState): MemberConnection | undefined {
    call.lastReadMode = op.readMode;
    const m = op.kind === 'write' ? this.#routeWrite(call) : this.#routeRead(op, call);
    if (!m) return undefined;
    const conn = this.#pool.get(m.address);
    if (m.id) conn.memberId = m.id;
    return conn;
  }

  #routeWrite(call: CallState): MemberState | { address: string; id: undefined } | undefined {
    const hinted = call.hintAddress;
    call.hintAddress = undefined;
    if (hinted) {
      const m = this.#tracker.byAddress(hinted);
      if (!m || m.usable) return m ?? { address: hinted, id: undefined };
    }
    // No leader known: wait. Every member's probe and WatchLeader stream would
    // report a leader it knew of, so sending the write to one of them could
    // only earn an UNAVAILABLE, which cannot be told from a broken connection
    // and would turn a write that surely did not apply into OutcomeUnknown.
    const leader = this.#tracker.leaderMember();
    if (!leader) this.#tracker.wantLeader();
    return leader;
  }

  #routeRead(op: Operation, call: CallState): MemberState | undefined {
    const leader = this.#tracker.leaderMember();
    const leaderFree = leader && !call.tried.has(leader.address) ? leader : undefined;
    // Linearizable reads and cluster calls prefer the leader; follower modes avoid it.
    if (op.readMode === undefined || op.readMode === 'linearizable') {
      if (leaderFree) return leaderFree;
      return this.#pick(this.#candidates(call, true), call) ?? this.#fallback(call);
    }
    let followers = this.#candidates(call, false).filter((m) => m !== leader);
    // A follower that refused a read a moment ago (lagging, isolated, too stale) comes last.
    const now = Date.now();
    const willing = followers.filter((m) => now - m.refusedReadAt > REFUSAL_MEMORY_MS);
    if (willing.length > 0) followers = willing;
    if (op.readMode === 'read-your-writes' && op.minIndex) {
      const min = op.minIndex;
      const caughtUp = followers.filter((m) => m.appliedIndex >= min);
      // What we know of a follower's applied index is as old as its last
      // probe or reply, and replication takes milliseconds: one only a little
      // behind is almost surely caught up by now, and if not the server waits
      // for min_index. Spreading reads over those too keeps one follower from
      // taking every read of a busy session; far-behind ones stay out.
      const near = followers.filter((m) => m.health === 'up' && min - m.appliedIndex <= NEAR_ENOUGH_ENTRIES);
      if (near.length > caughtUp.length) followers = near;
      else if (caughtUp.length > 0) followers = caughtUp;
    }
    return this.#pick(followers, call) ?? leaderFree ?? this.#fallback(call);
  }

  /** Usable members this call has not failed on; `up` ones first when `preferUp`. */
  #candidates(call: CallState, preferUp: boolean): MemberState[] {
    const fresh = this.#tracker.members().filter((m) => m.usable && !call.tried.has(m.address));
    if (!preferUp) return fresh;
    const up = fresh.filter((m) => m.health === 'up');
    return up.length > 0 ? up : fresh;
  }

  /** Every member was tried: start over with the usable ones, else anything at all. */
  #fallback(call: CallState): MemberState | undefined {
    call.tried.clear();
    const usable = this.#tracker.members().filter((m) => m.usable);
    return this.#pick(usable, call) ?? this.#pick(this.#tracker.members(), call);
  }

  #pick(members: MemberState[], call: CallState): MemberState | undefined {
    if (members.length === 0) return undefined;
    // Members not known down first: 'unknown' ones too, since a member is
    // only contacted once used (preferring 'up' would never try the others).
    const live = members.filter((m) => m.health !== 'down');
    const pool = (live.length > 0 ? live : members).sort((a, b) => (a.address < b.address ? -1 : 1));
    const turn = this.#cursor++;
    if (this.#balancing === 'round-robin') return pool[turn % pool.length];
    // Least outstanding requests; ties go round robin, avoiding the member of the last attempt.
    let best = Number.POSITIVE_INFINITY;
    for (const m of pool) best = Math.min(best, m.outstanding);
    const least = pool.filter((m) => m.outstanding === best);
    const others = least.length > 1 ? least.filter((m) => m.address !== call.lastAddress) : least;
    return others[turn % others.length];
  }

  observe(member: MemberConnection, header: ResponseHeader): void {
    this.#tracker.observeHeader(member.address, header);
  }

  observeError(member: MemberConnection, error: BellwetherError, call?: CallState): void {
    const hint = error instanceof NotLeader || error instanceof Unavailable ? error : undefined;
    this.#tracker.observeFailure(member.address, error, { leaderId: hint?.leaderId, leaderAddress: hint?.leaderAddress });
    if (!call) return;
    call.tried.add(member.address);
    const state = this.#tracker.byAddress(member.address);
    if (state && error instanceof Unavailable && call.lastReadMode !== undefined) state.refusedReadAt = Date.now();
    const hintAddress = hint?.leaderAddress ?? (hint?.leaderId ? this.#tracker.addressOf(hint.leaderId) : undefined);
    if (hintAddress && hintAddress !== member.address) {
      call.hintAddress = hintAddress;
      call.consecutiveHints++;
    } else {
      call.consecutiveHints = 0;
    }
  }

  attempt(op: Operation, member: MemberConnection, abandon: (reason: string) => void): () => void {
    const state = this.#tracker.byAddress(member.address);
    if (state) state.outstanding++;
    const off = this.#tracker.subscribe((e) => {
      if (e.type === 'memberDown' && e.member.address === member.address) {
        abandon(`the member is down (${e.reason})`);
      } else if (e.type === 'leaderChange' && op.kind === 'write' && e.leader && e.leader.id !== (state?.id ?? member.memberId)) {
        abandon(`the leader changed to ${e.leader.id} (term ${e.leader.term})`);
      }
    });
    return () => {
      off();
      if (state) state.outstanding = Math.max(0, state.outstanding - 1);
    };
  }

  confirmLeader(member: MemberConnection, timeoutMs: number, signal: CancelToken): Promise<boolean> {
    return this.#tracker.confirmLeader(member.address, timeoutMs, signal);
  }

  changed(signal: CancelToken): Promise<void> {
    return this.#tracker.changed(signal);
  }
}

/** Bounded exponential back-off. */
interface BackoffSettings {
  /** The first delay in ms (each later one doubles). */
  initialMs: number;
  /** The largest delay in ms. */
  maxMs: number;
}

/** What is retried; see {@link ClusterRetryPolicy.nextDelayMs}. */
interface RetrySettings {
  retryWrites: boolean;
  retryReads: boolean;
  attemptTimeoutMs: number;
  backoff: BackoffSettings;
}

/** Attempts in a row that end in INTERNAL/UNKNOWN before giving up (maybe a bug, not a failover). */
const MAX_INTERNAL_ATTEMPTS = 3;
/** Failed read attempts retried elsewhere without waiting (a 3-member cluster: every member once). */
const IMMEDIATE_READ_RETRIES = 3;

/**
 * Retries what a failover or an overloaded member explains, until the call's
 * deadline: leader hints at once, reads on another member at once, the rest
 * after a jittered exponential back-off (the call also wakes when the
 * tracker learns a leader). Never retries what will fail again: invalid
 * arguments, permission errors, a refused too-old sequence, the caller's own
 * cancellation.
 */
export class ClusterRetryPolicy implements RetryPolicy {
  readonly #settings: RetrySettings;
  /** At most {@link MAX_CONCURRENT_RETRIES} retries of this client out at once. */
  readonly budget = new RetryBudget();

  constructor(settings: RetrySettings) {
    this.#settings = settings;
  }

  attemptTimeoutMs(op: Operation): number | undefined {
    // A change without an exactly-once pair (membership, leadership transfer)
    // is never cut short and sent again: a second attempt after a success
    // would be refused (the member is already gone) or act twice.
    if (op.kind === 'write' && op.clientId === undefined) return undefined;
    const retries = op.kind === 'write' ? this.#settings.retryWrites : this.#settings.retryReads;
    return retries ? this.#settings.attemptTimeoutMs : undefined;
  }

  nextDelayMs(error: BellwetherError, op: Operation, attempt: number, _ctx: CallContext, call?: CallState): number | undefined {
    if (!(op.kind === 'write' ? this.#settings.retryWrites : this.#settings.retryReads)) return undefined;
    if (error instanceof Aborted) return undefined;
    const followHint = call?.hintAddress !== undefined && call.consecutiveHints <= 2;
    if (error instanceof NotLeader) return followHint ? 0 : this.#backoff(attempt);
    const transient =
      error instanceof Unavailable ||
      error instanceof ResourceExhausted ||
      error instanceof Cancelled || // by the server or a proxy; the caller's own cancel never gets here
      (error instanceof Internal && attempt < MAX_INTERNAL_ATTEMPTS);
    if (!transient) return undefined;
    // A member shedding load said when to come back: no sooner, and spread a little further.
    if (error instanceof ResourceExhausted && error.retryAfterMs !== undefined) return Math.max(error.retryAfterMs * (1 + Math.random() / 4), this.#backoff(attempt));
    if (followHint) return 0;
    // A read that failed on one member goes to another at once, the first few times.
    if (op.kind === 'read' && !(error instanceof ResourceExhausted) && attempt <= IMMEDIATE_READ_RETRIES) return 0;
    return this.#backoff(attempt);
  }

  /** Full jitter over [half, all] of min(max, initial * 2^(attempt-1)). */
  #backoff(attempt: number): number {
    const { initialMs, maxMs } = this.#settings.backoff;
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 20));
    return ceiling * (0.5 + Math.random() / 2);
  }
}
