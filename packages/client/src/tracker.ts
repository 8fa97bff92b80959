// The client's view of the cluster: who the members are, which are up, how
// far each has applied, and who leads. It is built so that an idle client
// costs the cluster (almost) nothing and no single silent socket can pin the
// client to a dead or isolated node. It learns from:
//
// 1. one Cluster.WatchLeader stream, to one member at a time (chosen at
//    random, so a fleet's streams spread over the members), which pushes
//    every leader or term change and every change of the member list; when
//    it breaks the client probes that member and moves the stream to another
//    one at once;
// 2. each member's connection: HTTP/2 keepalive pings (member.ts) notice a
//    dead or silent peer, and a connection that leaves READY triggers a
//    Status probe of that member (refused: down at once; unanswered twice:
//    down);
// 3. every response header (member id, term, leader id, applied index) and
//    every NOT_LEADER / UNAVAILABLE leader hint; a failed call probes its
//    member;
// 4. Cluster.Members: at start, when the watched member says the member list
//    changed, when a leader unknown to the client appears, and on a long
//    safety timer.
//
// Probes are events, not a heartbeat: the watched member is probed when its
// first event arrives (to check its cluster id), any member when something
// above suggests it changed; a member that is down is probed again with a
// jittered back-off to notice its return. A member the client neither
// watches nor calls is never contacted (its health stays 'unknown'). With `pollIntervalMs` set,
// every member is also probed on that period (the behaviour of earlier
// versions, for a server without WatchLeader, or tests that want it).
//
// Leadership is ordered by Raft term: a report from a lower term than the
// highest seen is ignored, a higher term always wins. A leader whose member is
// down is not used (but kept, in case it comes back still leading).
import { type LeaderEvent__Output, type MembersResponse__Output, RETRY_AFTER_METADATA, type StatusResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { CancelToken } from './cancel';
import { type BellwetherError, StatusCode } from './errors';
import type { MemberPool } from './member';
import { type LeaderInfo, MemberState } from './member-state';
import type { ResponseHeader } from './results';
import type { TrackerSettings } from './tracker-settings';

/** Something the tracker noticed. */
export type TrackerEvent =
  | { readonly type: 'leaderChange'; readonly leader: LeaderInfo | undefined; readonly previous: LeaderInfo | undefined; readonly reason: string }
  | { readonly type: 'memberUp' | 'memberDown'; readonly member: MemberState; readonly reason: string };

/** A member's answer that it leads serves the writes that ask within this many ms. */
const CONFIRM_FRESH_MS = 1000;

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
  /** The member holding the WatchLeader stream (or about to). */
  #watched: MemberState | undefined;
  #watchTimer: NodeJS.Timeout | undefined;
  /** Consecutive WatchLeader streams that ended before delivering an event. */
  #watchFailures = 0;
  /** The member list's fingerprint as the watched member last reported it. */
  #membersFingerprint: string | undefined;

  constructor(pool: MemberPool, seeds: readonly string[], settings: TrackerSettings, log: LogFn) {
    this.#pool = pool;
    this.#seeds = seeds;
    this.#settings = settings;
    this.#log = log;
    for (const address of seeds) this.#members.set(address, new MemberState(address, true));
  }

  /** Starts the background work: the WatchLeader stream (its member is probed) and the Members read. */
  start(): void {
    if (this.#started || this.#stopping.aborted) return;
    this.#started = true;
    for (const m of this.#members.values()) this.#startMember(m);
    this.#moveWatch(undefined, 0);
    this.#scheduleRefresh(0);
  }

  /** Stops everything: cancels streams, clears timers. */
  stop(): void {
    if (this.#stopping.aborted) return;
    this.#stopping.abort();
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#watchTimer);
    for (const m of this.#members.values()) this.#stopMember(m);
    this.#listeners.clear();
  }

  /** The member currently holding the WatchLeader stream, if one is open. */
  get watchedMember(): MemberState | undefined {
    return this.#watched?.watch ? this.#watched : undefined;
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
    const m = this.#recordedLeaderMember();
    return m?.usable ? m : undefined;
  }

  /**
   * A write wants the leader: if the recorded one is thought down, ask it now
   * rather than at its next back-off probe (it may only have been slow).
   */
  wantLeader(): void {
    const m = this.#recordedLeaderMember();
    if (m && m.health === 'down' && !m.foreign && !m.removed) this.#probeNow(m);
  }

  /**
   * Asks the member at `address` now (a Status call bounded by `timeoutMs`)
   * whether it still leads: true only if it answered as leader. A write sent
   * to a busy leader keeps waiting on that answer instead of being abandoned
   * and sent again; a silent or deposed one is left. What it answers also
   * updates the view, as a probe's would.
   */
  confirmLeader(address: string, timeoutMs: number, signal: CancelToken): Promise<boolean> {
    const m = this.#members.get(address);
    if (!m || this.#stopping.aborted || signal.aborted) return Promise.resolve(false);
    // Many writes wait on one leader: they share one recent answer, or the question in flight.
    if (performance.now() - m.confirmedLeaderAt < CONFIRM_FRESH_MS) return Promise.resolve(true);
    const asked = this.#askStatus(m, timeoutMs).then(
      (s) => s.role === 'ROLE_LEADER' && !m.foreign,
      () => {
        if (!this.#stopping.aborted) this.#probeNow(m);
        return false;
      },
    );
    return new Promise((resolve) => {
      const off = signal.onAbort(() => resolve(false));
      void asked.then((leads) => {
        off();
        resolve(leads);
      });
    });
  }

  /**
   * Asks `m` for its Status, or joins the question already in flight: many
   * writes waiting on one leader, and its probe, cost one call. The answer
   * updates the view (round-trip time, role, leader) before anyone sees it.
   */
  #askStatus(m: MemberState, timeoutMs: number): Promise<StatusResponse__Output> {
    if (m.asking) return m.asking;
    const asking = this.#callStatus(m, timeoutMs);
    m.asking = asking;
    const done = () => {
      if (m.asking === asking) m.asking = undefined;
    };
    asking.then(done, done);
    return asking;
  }

  async #callStatus(m: MemberState, timeoutMs: number): Promise<StatusResponse__Output> {
    const started = performance.now();
    const s = await this.#pool.get(m.address).unary('Status', {}, { deadline: Date.now() + timeoutMs, signal: this.#stopping });
    const rtt = performance.now() - started;
    m.rttMs = m.rttMs === undefined ? rtt : m.rttMs * 0.7 + rtt * 0.3;
    this.#onStatus(m, s);
    if (s.role === 'ROLE_LEADER' && !m.foreign) m.confirmedLeaderAt = performance.now();
    return s;
  }

  #recordedLeaderMember(): MemberState | undefined {
    const leader = this.#leader;
    if (!leader) return undefined;
    return this.byId(leader.id) ?? (leader.address ? this.#members.get(leader.address) : undefined);
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
      // The watched member failing a call may be silent on its stream too:
      // hear from another member now (it sends the leader it knows at once).
      if (this.#watched === m) this.#moveWatch(m, 0);
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
      // Writes are about to go there: check it is ours and alive (once).
      if (target.health === 'unknown' && !target.clusterChecked) this.#probeNow(target);
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

  /** Whether the client's connection to `m` is open, and how many long-lived streams it holds there. */
  connectionOf(m: MemberState): { connected: boolean; streams: number } {
    const conn = this.#pool.peek(m.address);
    return { connected: conn?.connected ?? false, streams: (m.watch ? 1 : 0) + (conn?.streamOpen ? 1 : 0) };
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
      if (this.#watched === m) this.#moveWatch(m, 0);
    }
    return false;
  }

  #markUp(m: MemberState, reason: string): void {
    m.lastContactAt = Date.now();
    m.probeFailures = 0;
    if (m.health === 'up' || m.foreign || m.removed) return;
    const was = m.health;
    m.health = 'up';
    m.downProbeMs = 0;
    if (was === 'down' && !this.#settings.pollIntervalMs) clearTimeout(m.probeTimer);
    if (!this.#watched && this.#started) this.#moveWatch(undefined, 0);
    this.#log(was === 'down' ? 'info' : 'debug', `member ${describe(m)} is up`, { memberId: m.id, address: m.address, reason });
    this.#emit({ type: 'memberUp', member: m, reason });
  }

  #markDown(m: MemberState, reason: string): void {
    m.lastError = reason;
    if (m.health === 'down' || m.removed) return;
    m.health = 'down';
    this.#log('warn', `member ${describe(m)} is down: ${reason}`, { memberId: m.id, address: m.address, reason });
    this.#emit({ type: 'memberDown', member: m, reason });
    // Not watching a down member: move the stream so leader news keeps coming.
    if (this.#watched === m) this.#moveWatch(m, 0);
  }

  #startMember(m: MemberState): void {
    // The connection is followed, not opened: grpc-js connects on the first call.
    m.unwatchConnection ??= this.#pool.get(m.address).onConnectionLost(() => {
      if (this.#stopping.aborted || m.removed || m.foreign) return;
      this.#log('debug', `connection to ${describe(m)} lost; probing it`, { memberId: m.id, address: m.address });
      this.#probeNow(m);
    });
    // Polling (opt-in) probes every member from the start; otherwise a member
    // is first contacted when it is watched or used, so a client holds no
    // connection to a member it does not use.
    if (this.#settings.pollIntervalMs !== undefined) this.#scheduleProbe(m, 0);
  }

  #stopMember(m: MemberState): void {
    clearTimeout(m.probeTimer);
    m.unwatchConnection?.();
    m.unwatchConnection = undefined;
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
    if (this.#watched === m) this.#moveWatch(m, 0);
  }

  // ---- the WatchLeader stream -------------------------------------------

  /**
   * Moves the one WatchLeader stream away from `from` (undefined: opens the
   * first) after `delayMs`: to a random usable member, members known up first,
   * `from` only when nothing else is left.
   */
  #moveWatch(from: MemberState | undefined, delayMs: number): void {
    if (this.#stopping.aborted) return;
    if (this.#watched && this.#watched !== from) return; // already moved
    this.#watched = undefined;
    from?.watch?.cancel();
    clearTimeout(this.#watchTimer);
    this.#watchTimer = setTimeout(() => {
      if (this.#stopping.aborted || this.#watched) return;
      const all = this.members().filter((m) => !m.foreign);
      const usable = all.filter((m) => m.usable && m !== from);
      const up = usable.filter((m) => m.health === 'up');
      const pool = up.length > 0 ? up : usable.length > 0 ? usable : all;
      const next = pool[Math.floor(Math.random() * pool.length)];
      if (next) this.#openWatch(next);
    }, delayMs);
  }

  #openWatch(m: MemberState): void {
    if (this.#stopping.aborted || m.removed || m.foreign || m.watch) return;
    this.#watched = m;
    let stream: grpc.ClientReadableStream<LeaderEvent__Output>;
    try {
      stream = this.#pool.get(m.address).watchLeader();
    } catch (err) {
      this.#log('warn', `cannot open WatchLeader on ${m.address}: ${String(err)}`, { address: m.address });
      this.#watchEnded(m, undefined);
      return;
    }
    m.watch = stream;
    let finished = false;
    let failure: grpc.ServiceError | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (m.watch === stream) m.watch = undefined;
      if (this.#stopping.aborted || m.removed || m.foreign || this.#watched !== m) return;
      if (failure?.code === StatusCode.UNAVAILABLE) this.#markDown(m, `connection lost (${failure.details})`);
      this.#watchEnded(m, failure);
    };
    stream.on('data', (event: LeaderEvent__Output) => {
      this.#watchFailures = 0;
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

  /** The stream on `m` ended: find out whether `m` is alive, and watch elsewhere. */
  #watchEnded(m: MemberState, failure: grpc.ServiceError | undefined): void {
    if (failure?.code === StatusCode.UNIMPLEMENTED) {
      // A server without WatchLeader: leader news comes from probes.
      this.#log('warn', `${m.address} does not implement WatchLeader; probing every member each second instead`, { address: m.address });
      this.#settings.pollIntervalMs ??= 1000;
      for (const x of this.members()) this.#scheduleProbe(x, 0);
      this.#watched = undefined;
      return;
    }
    const retryAfter = failure?.code === StatusCode.RESOURCE_EXHAUSTED ? Number(failure.metadata?.get(RETRY_AFTER_METADATA)[0]) : Number.NaN;
    if (Number.isFinite(retryAfter)) {
      // The member is alive but shedding new streams: come back when it said, a little spread.
      this.#watched = undefined;
      clearTimeout(this.#watchTimer);
      this.#watchTimer = setTimeout(() => this.#moveWatch(undefined, 0), retryAfter * (1 + Math.random() / 4));
      return;
    }
    if (m.health !== 'down') this.#probeNow(m);
    // The first move is immediate (jittered, so a fleet that lost the same
    // member does not arrive at once); repeated failures back off.
    const { watchBackoffMinMs: min, watchBackoffMaxMs: max } = this.#settings;
    const ceiling = this.#watchFailures === 0 ? min : Math.min(max, min * 2 ** this.#watchFailures);
    this.#watchFailures++;
    this.#moveWatch(m, ceiling * Math.random());
  }

  #onLeaderEvent(m: MemberState, event: LeaderEvent__Output): void {
    if (m.foreign || m.removed || this.#stopping.aborted) return;
    if (event.memberId) m.id ??= event.memberId;
    this.#markUp(m, 'WatchLeader event');
    const fingerprint = event.membersFingerprint || undefined;
    if (fingerprint !== undefined && fingerprint !== this.#membersFingerprint) {
      if (this.#membersFingerprint !== undefined) this.#scheduleRefresh(0);
      this.#membersFingerprint = fingerprint;
    }
    this.#report(m, Number(event.term), event.leaderId || undefined, event.leaderAddress || undefined, `WatchLeader from ${describe(m)}`);
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
    const { pollIntervalMs: interval, heartbeatTimeoutMs: timeout } = this.#settings;
    let next = interval === undefined ? undefined : interval * (0.9 + Math.random() / 5);
    try {
      // A member known before whose connection is not open is first asked over
      // plain TCP: a refusal marks it down without the cost of a gRPC call
      // (reachability.ts). A first contact goes straight to gRPC, so the seeds
      // answer in the order they are asked and the first one's cluster is the client's.
      const reach = m.health === 'unknown' ? ({ kind: 'open' } as const) : await this.#pool.reach(m.address, timeout);
      if (reach.kind === 'failed') throw { code: StatusCode.UNAVAILABLE, details: `connection failed (${reach.reason})` };
      if (reach.kind === 'silent') throw { code: StatusCode.DEADLINE_EXCEEDED, details: `no TCP connection within ${timeout} ms` };
      await this.#askStatus(m, timeout);
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
      if (m.health === 'down' && next !== 0) {
        // Down: look again later, backing off, to notice it come back.
        const { downProbeMinMs: min, downProbeMaxMs: max } = this.#settings;
        m.downProbeMs = Math.min(max, Math.max(min, m.downProbeMs * 2));
        const retry = m.downProbeMs * (0.5 + Math.random() / 2);
        next = next === undefined ? retry : Math.min(next, retry);
      }
    } finally {
      m.probing = false;
      if (!this.#stopping.aborted && next !== undefined) this.#scheduleProbe(m, next);
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
