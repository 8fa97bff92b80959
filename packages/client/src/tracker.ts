// The client's view of the cluster: who the members are, which are up, how
// far each has applied, and who leads. It learns from four sources, so that
// no single silent socket can pin the client to a dead or isolated node:
//
// 1. a Cluster.WatchLeader stream to every member (reopened with back-off),
//    which reports a new leader as soon as any member learns of it;
// 2. a Cluster.Status probe of every member each heartbeat interval, which
//    measures round-trip time and marks a member down when it stops answering
//    (a SIGSTOPped process keeps its sockets open and says nothing);
// 3. every response header (member id, term, leader id, applied index) and
//    every NOT_LEADER / UNAVAILABLE leader hint;
// 4. a Cluster.Members poll, to learn members added or removed.
//
// Leadership is ordered by Raft term: a report from a lower term than the
// highest seen is ignored, a higher term always wins. A leader whose member is
// down is not used (but kept, in case it comes back still leading).
import type { LeaderEvent__Output, MembersResponse__Output, StatusResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { CancelToken } from './cancel';
import { type BellwetherError, StatusCode } from './errors';
import type { MemberPool } from './member';
import type { ResponseHeader } from './results';

/** Whether the client can reach a member: not yet known, answering, or not answering. */
export type MemberHealth = 'unknown' | 'up' | 'down';

/** Where the leader is, as the client knows it. */
export interface LeaderInfo {
  /** The leader's member id. */
  readonly id: string;
  /** Its `host:port`, when known. */
  readonly address: string | undefined;
  /** The Raft term it leads in (the highest term the client has seen). */
  readonly term: number;
  /**
   * Learned from a NOT_LEADER hint, which carries no term: any member's
   * report of a leader in the same term replaces it.
   */
  readonly tentative?: boolean;
}

/** The client's state for one member (internal, mutable). */
export class MemberState {
  id: string | undefined;
  voter = true;
  /** Listed by the last Members answer. */
  listed = false;
  health: MemberHealth = 'unknown';
  lastContactAt: number | undefined;
  appliedIndex = 0;
  term = 0;
  rttMs: number | undefined;
  outstanding = 0;
  leaderContactAgeMs: number | undefined;
  lastError: string | undefined;
  /** Consecutive failed probes. */
  probeFailures = 0;
  /** When it last refused a read (behind the session index, too stale, no leader): `Date.now()` ms. */
  refusedReadAt = 0;
  /** Answered with another cluster's id: never used. */
  foreign = false;
  /** Answered with this client's cluster id at least once (its WatchLeader events count from then on). */
  clusterChecked = false;
  /** A WatchLeader event that came before the member's cluster was checked. */
  pendingEvent: LeaderEvent__Output | undefined;
  removed = false;
  watch: grpc.ClientReadableStream<LeaderEvent__Output> | undefined;
  watchBackoffMs = 0;
  watchTimer: NodeJS.Timeout | undefined;
  probeTimer: NodeJS.Timeout | undefined;
  probing = false;

  constructor(
    readonly address: string,
    readonly seed: boolean,
  ) {}

  /** Usable for routing: not known down, not another cluster's. */
  get usable(): boolean {
    return this.health !== 'down' && !this.foreign && !this.removed;
  }
}

/** Something the tracker noticed. */
export type TrackerEvent =
  | { readonly type: 'leaderChange'; readonly leader: LeaderInfo | undefined; readonly previous: LeaderInfo | undefined; readonly reason: string }
  | { readonly type: 'memberUp' | 'memberDown'; readonly member: MemberState; readonly reason: string };

/** Timing of the tracker's background work. */
export interface TrackerSettings {
  /** Status probe of each member every this many ms. */
  heartbeatIntervalMs: number;
  /** A probe not answered within this many ms failed. */
  heartbeatTimeoutMs: number;
  /** Members poll every this many ms. */
  refreshIntervalMs: number;
  /** WatchLeader streams are reopened after a back-off from this ... */
  watchBackoffMinMs: number;
  /** ... doubling up to this. */
  watchBackoffMaxMs: number;
}

/** Structured log lines from the tracker and the client. */
export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>) => void;

/** Probe failures in a row (timeouts, not refusals) before a member counts as down. */
const PROBE_FAILURES_DOWN = 2;

/** Tracks the cluster; see the comment at the top of this file. */
export class ClusterTracker {
  clusterId: string | undefined;
  readonly #pool: MemberPool;
  readonly #seeds: readonly string[];
  readonly #settings: TrackerSettings;
  readonly #log: LogFn;
  readonly #members = new Map<string, MemberState>();
  readonly #listeners = new Set<(e: TrackerEvent) => void>();
  readonly #stopping = new CancelToken();
  #term = 0;
  #leader: LeaderInfo | undefined;
  #started = false;
  #refreshTimer: NodeJS.Timeout | undefined;
  #refreshing = false;
  #refreshCursor = 0;

  constructor(pool: MemberPool, seeds: readonly string[], settings: TrackerSettings, log: LogFn) {
    this.#pool = pool;
    this.#seeds = seeds;
    this.#settings = settings;
    this.#log = log;
    for (const address of seeds) this.#members.set(address, new MemberState(address, true));
  }

  /** Starts the background work: watches, probes and the Members poll. */
  start(): void {
    if (this.#started || this.#stopping.aborted) return;
    this.#started = true;
    for (const m of this.#members.values()) this.#startMember(m);
    this.#scheduleRefresh(0);
  }

  /** Stops everything: cancels streams, clears timers. */
  stop(): void {
    if (this.#stopping.aborted) return;
    this.#stopping.abort();
    clearTimeout(this.#refreshTimer);
    for (const m of this.#members.values()) this.#stopMember(m);
    this.#listeners.clear();
  }

  /** Receives every event until the returned function is called. */
  subscribe(listener: (e: TrackerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves at the next leader change or member coming up, or when `signal` fires. */
  changed(signal: CancelToken): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = () => {
        off();
        offAbort();
        resolve();
      };
      const off = this.subscribe((e) => {
        if (e.type === 'leaderChange' ? e.leader !== undefined : e.type === 'memberUp') done();
      });
      const offAbort = signal.onAbort(done);
    });
  }

  /** The highest Raft term seen. */
  get term(): number {
    return this.#term;
  }

  /** The recorded leader (its member may be down; see {@link ClusterTracker.leaderMember}). */
  get leader(): LeaderInfo | undefined {
    return this.#leader;
  }

  /** The leader's member when it is known, reachable and usable. */
  leaderMember(): MemberState | undefined {
    const leader = this.#leader;
    if (!leader) return undefined;
    const m = this.byId(leader.id) ?? (leader.address ? this.#members.get(leader.address) : undefined);
    return m?.usable ? m : undefined;
  }

  members(): MemberState[] {
    return [...this.#members.values()].filter((m) => !m.removed);
  }

  byAddress(address: string): MemberState | undefined {
    return this.#members.get(address);
  }

  byId(id: string): MemberState | undefined {
    let found: MemberState | undefined;
    for (const m of this.#members.values()) {
      if (m.id !== id || m.removed) continue;
      // Prefer the address the cluster lists over a seed that named itself.
      if (!found || (m.listed && !found.listed)) found = m;
    }
    return found;
  }

  /** A response from `address`. */
  observeHeader(address: string, header: ResponseHeader): void {
    const m = this.#members.get(address);
    if (!m || !this.#checkCluster(m, header.clusterId)) return;
    if (header.memberId) m.id = header.memberId;
    m.appliedIndex = header.appliedIndex;
    m.term = header.term;
    this.#markUp(m, 'answered a call');
    this.#report(m, header.term, header.leaderId, undefined, `response from ${describe(m)}`);
  }

  /**
   * A call to `address` failed. A leader hint is followed; a failure that
   * suggests the member is gone (unreachable, silent) triggers a probe now.
   */
  observeFailure(address: string, error: BellwetherError, hint: { leaderId: string | undefined; leaderAddress: string | undefined }): void {
    const m = this.#members.get(address);
    if (hint.leaderId || hint.leaderAddress) this.hint(address, hint.leaderId, hint.leaderAddress);
    if (!m) return;
    m.lastError = error.message;
    if (error.code === StatusCode.UNAVAILABLE || error.code === StatusCode.DEADLINE_EXCEEDED || error.code === StatusCode.INTERNAL) {
      this.#probeNow(m);
    }
  }

  /**
   * `from` said it is not the leader and named `leaderId` at `leaderAddress`.
   * A hint has no term: it replaces the recorded leader only when that leader
   * is the member that refused, is unknown, or is down.
   */
  hint(from: string, leaderId: string | undefined, leaderAddress: string | undefined): void {
    if (this.#stopping.aborted) return;
    if (leaderAddress) {
      const target = this.#ensure(leaderAddress, leaderId);
      if (target.foreign) return;
    }
    if (!leaderId) return;
    const current = this.#leader;
    if (current?.id === leaderId) {
      if (!current.address && leaderAddress) this.#leader = { ...current, address: leaderAddress };
      return;
    }
    const refusing = this.#members.get(from);
    if (!current || refusing?.id === current.id || !this.leaderMember()) {
      this.#setLeader(
        { id: leaderId, address: leaderAddress ?? this.byId(leaderId)?.address, term: this.#term, tentative: true },
        `hint from ${refusing ? describe(refusing) : from}`,
      );
    }
  }

  /** The address to dial for member `id`, if known. */
  addressOf(id: string): string | undefined {
    return this.byId(id)?.address;
  }

  // ---- leadership -------------------------------------------------------

  #report(from: MemberState, term: number, leaderId: string | undefined, leaderAddress: string | undefined, reason: string): void {
    if (term < this.#term) return;
    if (leaderAddress && leaderId) this.#ensure(leaderAddress, leaderId);
    const address = leaderId ? (leaderAddress ?? this.byId(leaderId)?.address) : undefined;
    if (term > this.#term) {
      this.#term = term;
      this.#setLeader(leaderId ? { id: leaderId, address, term } : undefined, reason);
      return;
    }
    const current = this.#leader;
    if (leaderId) {
      if (!current || (current.id !== leaderId && (from.id === current.id || current.tentative))) {
        this.#setLeader({ id: leaderId, address, term }, reason);
      } else if (current.id === leaderId && (current.tentative || (current.address === undefined && address))) {
        // Confirmed by a report with a term (no event: the leader did not change).
        this.#leader = { id: leaderId, address: address ?? current.address, term };
      }
    } else if (current && from.id === current.id) {
      // The recorded leader itself knows no leader in this term: it stepped down.
      this.#setLeader(undefined, `${reason}: the leader stepped down`);
    }
  }

  #setLeader(next: LeaderInfo | undefined, reason: string): void {
    const previous = this.#leader;
    if (previous?.id === next?.id && previous?.term === next?.term) return;
    this.#leader = next;
    this.#log('info', next ? `leader is ${next.id}${next.address ? ` at ${next.address}` : ''} (term ${next.term})` : 'no leader known', {
      leaderId: next?.id,
      leaderAddress: next?.address,
      term: next?.term ?? this.#term,
      previousLeaderId: previous?.id,
      reason,
    });
    if (next && !this.byId(next.id)) this.#scheduleRefresh(0);
    this.#emit({ type: 'leaderChange', leader: next, previous, reason });
  }

  // ---- members ----------------------------------------------------------

  #ensure(address: string, id: string | undefined): MemberState {
    let m = this.#members.get(address);
    if (!m || m.removed) {
      m = new MemberState(address, this.#seeds.includes(address));
      this.#members.set(address, m);
      this.#log('debug', `member ${id ?? '?'} at ${address} discovered`, { memberId: id, address });
      if (this.#started) this.#startMember(m);
    }
    if (id && !m.id) m.id = id;
    return m;
  }

  #checkCluster(m: MemberState, clusterId: string): boolean {
    if (!clusterId) return !m.foreign;
    if (this.clusterId === undefined) this.clusterId = clusterId;
    if (clusterId === this.clusterId) {
      if (!m.clusterChecked && !m.foreign) {
        m.clusterChecked = true;
        const pending = m.pendingEvent;
        m.pendingEvent = undefined;
        if (pending) queueMicrotask(() => this.#onLeaderEvent(m, pending));
      }
      return !m.foreign;
    }
    if (!m.foreign) {
      m.foreign = true;
      this.#log('error', `${m.address} belongs to cluster ${clusterId}, not ${this.clusterId}; it will not be used`, { address: m.address, clusterId });
      this.#markDown(m, `belongs to another cluster (${clusterId})`);
      m.pendingEvent = undefined;
      m.watch?.cancel();
    }
    return false;
  }

  #markUp(m: MemberState, reason: string): void {
    m.lastContactAt = Date.now();
    m.probeFailures = 0;
    if (m.health === 'up' || m.foreign || m.removed) return;
    const was = m.health;
    m.health = 'up';
    this.#log(was === 'down' ? 'info' : 'debug', `member ${describe(m)} is up`, { memberId: m.id, address: m.address, reason });
    this.#emit({ type: 'memberUp', member: m, reason });
  }

  #markDown(m: MemberState, reason: string): void {
    m.lastError = reason;
    if (m.health === 'down' || m.removed) return;
    m.health = 'down';
    this.#log('warn', `member ${describe(m)} is down: ${reason}`, { memberId: m.id, address: m.address, reason });
    this.#emit({ type: 'memberDown', member: m, reason });
  }

  #startMember(m: MemberState): void {
    this.#openWatch(m);
    this.#scheduleProbe(m, 0);
  }

  #stopMember(m: MemberState): void {
    clearTimeout(m.watchTimer);
    clearTimeout(m.probeTimer);
    m.watch?.cancel();
    m.watch = undefined;
  }

  #remove(m: MemberState, reason: string): void {
    if (m.removed) return;
    this.#log('info', `member ${describe(m)} removed: ${reason}`, { memberId: m.id, address: m.address });
    m.removed = true;
    this.#stopMember(m);
    this.#members.delete(m.address);
    if (!this.#seeds.includes(m.address)) this.#pool.drop(m.address);
  }

  // ---- WatchLeader streams ---------------------------------------------

  #openWatch(m: MemberState): void {
    if (this.#stopping.aborted || m.removed || m.foreign || m.watch) return;
    let stream: grpc.ClientReadableStream<LeaderEvent__Output>;
    try {
      stream = this.#pool.get(m.address).watchLeader();
    } catch (err) {
      this.#log('warn', `cannot open WatchLeader on ${m.address}: ${String(err)}`, { address: m.address });
      this.#reopenWatch(m);
      return;
    }
    m.watch = stream;
    let finished = false;
    let failure: grpc.ServiceError | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (m.watch === stream) m.watch = undefined;
      if (this.#stopping.aborted || m.removed || m.foreign) return;
      if (failure?.code === StatusCode.UNAVAILABLE) this.#markDown(m, `connection lost (${failure.details})`);
      if (failure?.code === StatusCode.UNIMPLEMENTED) {
        m.watchBackoffMs = this.#settings.watchBackoffMaxMs; // an older server: rely on probes
      }
      this.#reopenWatch(m);
    };
    stream.on('data', (event: LeaderEvent__Output) => {
      m.watchBackoffMs = 0;
      if (!m.clusterChecked) {
        // Events carry no cluster id: trust them once a probe has shown the member is ours.
        m.pendingEvent = event;
        this.#probeNow(m);
        return;
      }
      this.#onLeaderEvent(m, event);
    });
    stream.on('error', (err: grpc.ServiceError) => {
      failure = err;
      finish();
    });
    stream.on('end', finish);
    stream.on('close', finish);
  }

  #onLeaderEvent(m: MemberState, event: LeaderEvent__Output): void {
    if (m.foreign || m.removed || this.#stopping.aborted) return;
    if (event.memberId) m.id ??= event.memberId;
    this.#markUp(m, 'WatchLeader event');
    this.#report(m, Number(event.term), event.leaderId || undefined, event.leaderAddress || undefined, `WatchLeader from ${describe(m)}`);
  }

  #reopenWatch(m: MemberState): void {
    const { watchBackoffMinMs: min, watchBackoffMaxMs: max } = this.#settings;
    m.watchBackoffMs = Math.min(max, Math.max(min, m.watchBackoffMs * 2));
    const delay = m.watchBackoffMs * (0.5 + Math.random() / 2);
    clearTimeout(m.watchTimer);
    m.watchTimer = setTimeout(() => this.#openWatch(m), delay);
  }

  // ---- Status probes ---------------------------------------------------

  #scheduleProbe(m: MemberState, delayMs: number): void {
    clearTimeout(m.probeTimer);
    if (this.#stopping.aborted || m.removed) return;
    m.probeTimer = setTimeout(() => void this.#probe(m), delayMs);
  }

  #probeNow(m: MemberState): void {
    if (!m.probing) this.#scheduleProbe(m, 0);
  }

  async #probe(m: MemberState): Promise<void> {
    if (m.probing || m.removed || this.#stopping.aborted) return;
    m.probing = true;
    const { heartbeatIntervalMs: interval, heartbeatTimeoutMs: timeout } = this.#settings;
    let next = interval * (0.9 + Math.random() / 5);
    const started = performance.now();
    try {
      const status = await this.#pool.get(m.address).unary('Status', {}, { deadline: Date.now() + timeout, signal: this.#stopping });
      const rtt = performance.now() - started;
      m.rttMs = m.rttMs === undefined ? rtt : m.rttMs * 0.7 + rtt * 0.3;
      this.#onStatus(m, status);
    } catch (raw) {
      if (this.#stopping.aborted) return;
      const err = raw as Partial<grpc.ServiceError>;
      // Refused for want of credentials: the member is up, the call says why it fails.
      if (err.code === StatusCode.UNAUTHENTICATED || err.code === StatusCode.PERMISSION_DENIED) {
        m.lastError = `Status probe refused: ${err.details ?? String(raw)}`;
        return;
      }
      m.probeFailures++;
      m.lastError = `Status probe failed: ${err.details ?? String(raw)}`;
      if (err.code === StatusCode.UNAVAILABLE) this.#markDown(m, `unreachable (${err.details ?? 'UNAVAILABLE'})`);
      else if (m.probeFailures >= PROBE_FAILURES_DOWN) this.#markDown(m, `${m.probeFailures} probes in a row unanswered (${err.details ?? String(raw)})`);
      else next = 0; // one silence: ask again at once before calling it down
    } finally {
      m.probing = false;
      if (!this.#stopping.aborted) this.#scheduleProbe(m, next);
    }
  }

  #onStatus(m: MemberState, s: StatusResponse__Output): void {
    if (!this.#checkCluster(m, s.clusterId)) return;
    if (s.memberId) m.id = s.memberId;
    m.appliedIndex = Number(s.appliedIndex);
    m.term = Number(s.term);
    m.leaderContactAgeMs = Number(s.leaderContactAgeMs);
    this.#markUp(m, 'answered a probe');
    const term = Number(s.term);
    if (s.role === 'ROLE_LEADER' && s.memberId) this.#report(m, term, s.memberId, m.address, `probe of ${describe(m)}`);
    else this.#report(m, term, s.leaderId || undefined, s.leaderAddress || undefined, `probe of ${describe(m)}`);
  }

  // ---- Members poll ------------------------------------------------------

  #scheduleRefresh(delayMs: number): void {
    if (this.#stopping.aborted) return;
    if (delayMs === 0 && this.#refreshing) return;
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => void this.#refresh(), delayMs);
  }

  async #refresh(): Promise<void> {
    if (this.#refreshing || this.#stopping.aborted) return;
    this.#refreshing = true;
    try {
      const leader = this.leaderMember();
      const ordered = [
        ...(leader ? [leader.address] : []),
        ...this.members()
          .filter((m) => m.usable)
          .sort((a, b) => Number(b.health === 'up') - Number(a.health === 'up'))
          .map((m) => m.address),
      ];
      // When nothing answers, fall back to the seeds, one more each round.
      const seed = this.#seeds[this.#refreshCursor++ % this.#seeds.length];
      if (seed) ordered.push(seed);
      for (const address of [...new Set(ordered)]) {
        if (this.#stopping.aborted) return;
        try {
          const res = await this.#pool.get(address).unary('Members', {}, { deadline: Date.now() + this.#settings.heartbeatTimeoutMs * 2, signal: this.#stopping });
          this.#applyMembers(address, res);
          return;
        } catch {
          // try the next one
        }
      }
    } finally {
      this.#refreshing = false;
      this.#scheduleRefresh(this.#settings.refreshIntervalMs);
    }
  }

  #applyMembers(from: string, res: MembersResponse__Output): void {
    const source = this.#ensure(from, undefined);
    if (!this.#checkCluster(source, res.clusterId)) return;
    const listedIds = new Set<string>();
    const listedAddresses = new Set<string>();
    for (const x of res.members) {
      if (!x.id || !x.address) continue;
      const m = this.#ensure(x.address, x.id);
      m.id = x.id;
      m.voter = x.voter;
      m.listed = true;
      listedIds.add(x.id);
      listedAddresses.add(x.address);
    }
    if (listedIds.size > 0) {
      for (const m of this.members()) {
        if (listedAddresses.has(m.address)) continue;
        m.listed = false;
        if (m.seed) {
          // A seed reached under another name than the one the cluster lists: keep the listed one.
          if (m.id && listedIds.has(m.id)) this.#remove(m, `listed as ${this.addressOf(m.id)}`);
        } else if (!m.id || !listedIds.has(m.id)) {
          this.#remove(m, 'no longer a member');
        }
      }
    }
    this.#report(source, Number(res.term), res.leaderId || undefined, undefined, `Members from ${describe(source)}`);
  }

  #emit(e: TrackerEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(e);
      } catch (err) {
        this.#log('error', `an event listener threw: ${String(err)}`, { event: e.type });
      }
    }
  }
}

function describe(m: MemberState): string {
  return m.id ? `${m.id} (${m.address})` : m.address;
}
