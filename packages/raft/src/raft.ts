import { bootstrapEntries, isFresh, isTornBootstrap } from './bootstrap.js';
import { checkConfChange, cloneConfig, emptyConfig, encodeConfChange, isVoter } from './confchange.js';
import { ConfChangeError, ConfigError, NotLeaderError, UsageError, assert } from './errors.js';
import { RaftLog, entrySizeBytes } from './log.js';
import type { AppendMsg, AppendRespMsg, HeartbeatMsg, HeartbeatRespMsg, Message, MessageDraft, SnapshotMsg } from './messages.js';
import { Progress } from './progress.js';
import { committedIndex, hasQuorum, voteResult } from './quorum.js';
import { type ReadRequest, ReadOnlyQueue, ctxKey } from './readonly.js';
import type { Ready } from './ready.js';
import type {
  ClusterConfig,
  ConfChange,
  Entry,
  HardState,
  NodeId,
  ProgressStatus,
  ReadState,
  Role,
  SnapshotMeta,
  SoftState,
  Status,
} from './types.js';

/** What a node restarts from (or bootstraps with). */
export interface InitialState {
  hardState: HardState;
  /**
   * Bootstrap only: when the hard state is empty (term 0), there is no snapshot and
   * no entries, this is the new cluster's membership; raft turns it into conf entries
   * 1..k of term 1, already committed, returned in the first Ready to persist and
   * apply like any others. Ignored on restart: the configuration is then derived
   * from `snapshot.config` and the conf entries in `entries`.
   */
  config: ClusterConfig;
  /** The compaction point the persisted log starts after. */
  snapshot?: SnapshotMeta;
  /** Persisted entries, contiguous from snapshot.index + 1 (or 1). */
  entries: Entry[];
  /** The state machine's applied index (default: the snapshot index). Committed entries after it are re-delivered. */
  applied?: number;
}

export interface RaftConfig {
  id: NodeId;
  /**
   * A follower that hears nothing from a leader for a randomised timeout in
   * [electionTimeoutTicks, 2*electionTimeoutTicks) campaigns. Must be well above
   * heartbeatTicks or healthy leaders get deposed by jitter.
   */
  electionTimeoutTicks: number;
  /** The leader heartbeats every heartbeatTicks; must be < electionTimeoutTicks. */
  heartbeatTicks: number;
  /** Seeded source in [0,1); raft owns no randomness of its own. */
  random: () => number;
  /** Pre-vote (§9.6): a partitioned node cannot bump everyone's term on rejoining. No safety trade-off. */
  preVote: boolean;
  /**
   * Check-quorum: a leader that has not heard from a majority for
   * checkQuorumTicks steps down, and followers ignore vote requests while
   * they hear from a leader (leader lease). Costs: a leader behind a
   * partition steps down even if no one else can win.
   */
  checkQuorum: boolean;
  /**
   * With checkQuorum, how long a leader may go without hearing from a
   * majority before it steps down (default electionTimeoutTicks; at least
   * that). Longer keeps a leader whose followers stall on a slow disk or a
   * starved CPU for a moment, at the price of a leader cut off by a
   * partition staying leader (unable to commit or confirm a read) for longer.
   * Followers' lease on vote requests stays one election timeout.
   */
  checkQuorumTicks?: number;
  /** Append messages in flight per follower in replicate state (pipelining depth). */
  maxInflightMsgs: number;
  /** Byte budget of one append message (at least one entry is always sent). */
  maxSizePerMsgBytes: number;
  /** Byte budget of the in-flight window per follower (default maxInflightMsgs * maxSizePerMsgBytes). */
  maxInflightBytes?: number;
  /** Byte budget of committedEntries per Ready (default 64 MiB; at least one entry). */
  maxCommittedSizePerReadyBytes?: number;
  /** Bound on pending ReadIndex requests on a leader (default 4096); beyond it reads fail fast. */
  maxPendingReads?: number;
  /**
   * Bytes of entry data the log keeps in memory (default: no bound). Beyond
   * it the data of the oldest durable, applied entries is dropped; appends
   * that need them carry stubs (`Entry.evictedBytes`) the caller fills from
   * its storage before sending. No safety trade-off: a caller that cannot
   * read an entry back drops that message, and Raft resends.
   */
  maxLogMemoryBytes?: number;
  initial?: InitialState;
}

interface PendingRead {
  from: NodeId;
  ctx: Uint8Array;
}

type StepFn = (m: Message) => void;

const EMPTY = new Uint8Array(0);

/**
 * A Raft peer as a pure, deterministic state machine (Raft paper and Ongaro's
 * dissertation, in the shape of etcd's raft). Inputs: tick(), step(), propose(),
 * proposeConfChange(), readIndex(), transferLeadership(); output: ready(), then
 * advance(). No I/O, no clock, no randomness except `config.random`.
 */
export class RawNode {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly maxInflightBytes: number;
  private readonly maxCommittedBytes: number;

  private term = 0;
  private vote: NodeId | null = null;
  private leaderId: NodeId | null = null;
  private role: Role = 'follower';
  /** Exposed read-only for tests and the simulator; do not mutate. */
  readonly log: RaftLog;

  private readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  /** Ticks a leader has counted since it last checked for a quorum of recently active voters. */
  private quorumElapsed = 0;
  private readonly checkQuorumTicks: number;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId | null = null;
  /** The leader accepts no conf change until its commit index reaches this (one change at a time). */
  private pendingConfIndex = 0;
  private readonly readOnly: ReadOnlyQueue;
  /** Reads that arrived before this leader committed an entry of its term (§6.4 step 1). */
  private pendingReads: PendingRead[] = [];
  /** Reads this node forwarded to a leader and still waits for (insertion order = age). */
  private readonly forwardedReads = new Map<string, Uint8Array>();
  private readonly maxPendingReads: number;

  private msgs: Message[] = [];
  /** Messages that promise this node's disk (see {@link RawNode.waitsForPersist}): sent only once their Ready is durable. */
  private msgsAfterPersist: Message[] = [];
  /** Heartbeats already answered by {@link answerHeartbeatNow}, not yet stepped. */
  private readonly answeredEarly = new WeakSet<Message>();
  private readStates: ReadState[] = [];
  private readStatesFailed: Uint8Array[] = [];
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private outstanding: Ready | undefined;
  private stepRole: StepFn;

  constructor(config: RaftConfig) {
    RawNode.validateConfig(config);
    this.cfg = config;
    this.id = config.id;
    this.maxInflightBytes = config.maxInflightBytes ?? config.maxInflightMsgs * config.maxSizePerMsgBytes;
    this.maxCommittedBytes = config.maxCommittedSizePerReadyBytes ?? 64 * 1024 * 1024;
    this.maxPendingReads = config.maxPendingReads ?? 4096;
    this.checkQuorumTicks = config.checkQuorumTicks ?? config.electionTimeoutTicks;
    this.readOnly = new ReadOnlyQueue(this.maxPendingReads);

    const init = config.initial;
    const bootstrap = init ? bootstrapEntries(init.config) : [];
    const bootstrapping = init !== undefined && bootstrap.length > 0 && (isFresh(init) || isTornBootstrap(init, bootstrap));

    if (bootstrapping) {
      this.log = new RaftLog({ index: 0, term: 0, config: emptyConfig() }, [], 0, 0);
      this.log.append(bootstrap);
      this.log.commitTo(bootstrap.length);
      this.term = 1;
      this.prevHardState = { term: 0, vote: null, commit: 0 };
    } else {
      const snap = init?.snapshot ?? { index: 0, term: 0, config: emptyConfig() };
      const hs = init?.hardState ?? { term: 0, vote: null, commit: 0 };
      this.log = new RaftLog(snap, init?.entries ?? [], hs.commit, init?.applied ?? snap.index);
      this.term = hs.term;
      this.vote = hs.vote;
      this.prevHardState = { term: hs.term, vote: hs.vote, commit: this.log.committed };
    }
    this.stepRole = this.stepFollower;
    this.resetRandomizedElectionTimeout();
    this.prevSoftState = { leaderId: null, role: 'follower', term: this.term };
    this.evictLogData();
  }

  private evictLogData(): void {
    if (this.cfg.maxLogMemoryBytes !== undefined) this.log.evict(this.cfg.maxLogMemoryBytes);
  }

  /** Throws {@link ConfigError} when `config` is unsafe or inconsistent. */
  static validateConfig(config: RaftConfig): void {
    const fail = (why: string): never => {
      throw new ConfigError(`invalid raft config: ${why}`);
    };
    const isInt = (n: unknown, min: number) => typeof n === 'number' && Number.isSafeInteger(n) && n >= min;
    if (typeof config.id !== 'string' || config.id.length === 0) fail('id must be a non-empty string');
    if (!isInt(config.heartbeatTicks, 1)) fail('heartbeatTicks must be an integer >= 1');
    if (!isInt(config.electionTimeoutTicks, 2)) fail('electionTimeoutTicks must be an integer >= 2');
    if (config.heartbeatTicks >= config.electionTimeoutTicks)
      fail('heartbeatTicks must be < electionTimeoutTicks, or followers time out between heartbeats');
    if (typeof config.random !== 'function') fail('random must be a function returning [0,1)');
    if (!isInt(config.maxInflightMsgs, 1)) fail('maxInflightMsgs must be an integer >= 1');
    if (!isInt(config.maxSizePerMsgBytes, 1)) fail('maxSizePerMsgBytes must be an integer >= 1');
    if (config.maxInflightBytes !== undefined && !isInt(config.maxInflightBytes, 1)) fail('maxInflightBytes must be >= 1');
    if (config.maxLogMemoryBytes !== undefined && !isInt(config.maxLogMemoryBytes, 0)) fail('maxLogMemoryBytes must be an integer >= 0');
    if (config.maxPendingReads !== undefined && !isInt(config.maxPendingReads, 1)) fail('maxPendingReads must be >= 1');
    if (config.checkQuorumTicks !== undefined && !isInt(config.checkQuorumTicks, config.electionTimeoutTicks))
      fail('checkQuorumTicks must be an integer >= electionTimeoutTicks');
    if (typeof config.preVote !== 'boolean' || typeof config.checkQuorum !== 'boolean')
      fail('preVote and checkQuorum must be booleans');
    const init = config.initial;
    if (init === undefined) return;
    const hs = init.hardState;
    if (!isInt(hs.term, 0) || !isInt(hs.commit, 0)) fail('hardState term/commit must be integers >= 0');
    const checkMembers = (c: ClusterConfig, what: string) => {
      const all = [...c.voters, ...c.learners];
      if (new Set(all).size !== all.length) fail(`${what}: voters and learners must be distinct and disjoint`);
      if (all.some((id) => typeof id !== 'string' || id.length === 0)) fail(`${what}: node ids must be non-empty strings`);
    };
    checkMembers(init.config, 'initial.config');
    const snap = init.snapshot;
    if (snap) {
      if (!isInt(snap.index, 1) || !isInt(snap.term, 1)) fail('snapshot index/term must be >= 1');
      checkMembers(snap.config, 'snapshot.config');
    }
    const base = snap?.index ?? 0;
    let prevTerm = snap?.term ?? 0;
    init.entries.forEach((e, i) => {
      if (e.index !== base + 1 + i) fail(`entries must be contiguous from ${base + 1}`);
      if (!isInt(e.term, 1) || e.term < prevTerm) fail('entry terms must be >= 1 and non-decreasing');
      prevTerm = e.term;
    });
    if (hs.term < prevTerm) fail('hardState.term is below the last entry term');
    const last = base + init.entries.length;
    if (hs.commit > last) fail(`hardState.commit ${hs.commit} is beyond the last index ${last}`);
    if (init.applied !== undefined && (!isInt(init.applied, 0) || init.applied > Math.max(hs.commit, base)))
      fail('applied must be <= commit');
    if (isFresh(init)) {
      const members = [...init.config.voters, ...init.config.learners];
      if (members.length > 0 && !members.includes(config.id))
        fail(`bootstrapping node ${config.id} must be a member of initial.config`);
      if (members.length > 0 && init.config.voters.length === 0) fail('initial.config needs at least one voter');
    }
    if (hs.vote !== null && (typeof hs.vote !== 'string' || hs.vote.length === 0)) fail('hardState.vote must be null or an id');
  }

  /** Validates this node's configuration again (it was validated at construction). */
  validate(): void {
    RawNode.validateConfig(this.cfg);
  }

  // ---------------------------------------------------------------- inputs

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  /** Starts an election now (with pre-vote if enabled). A no-op for a leader or a non-voter. */
  campaign(): void {
    this.hup(false);
  }

  /**
   * Appends `data` as consecutive normal entries in one batch. Throws
   * {@link NotLeaderError} when not the leader or while leadership is being
   * transferred. The entries are committed only if they appear in
   * committedEntries at `firstIndex..` with this `term`; a different entry at
   * that index means the proposal was lost (leadership changed).
   */
  propose(data: Uint8Array[]): { firstIndex: number; term: number } {
    this.assertLeaderForProposal();
    if (data.length === 0) throw new UsageError('propose needs at least one item');
    const firstIndex = this.log.lastIndex() + 1;
    this.appendEntries(data.map((d, i) => ({ index: firstIndex + i, term: this.term, type: 'normal', data: d })));
    this.bcastAppend();
    return { firstIndex, term: this.term };
  }

  /**
   * Proposes one membership change. Refused ({@link ConfChangeError}) while an
   * earlier change is uncommitted, before this leader committed its first entry,
   * or when the change is not a single-voter step. It takes effect when appended.
   */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    this.assertLeaderForProposal();
    if (this.log.committed < this.pendingConfIndex)
      throw new ConfChangeError(
        `a configuration change (or this leader's first entry) at index ${this.pendingConfIndex} is not committed yet; retry after it commits`,
      );
    const why = checkConfChange(this.log.config(), cc, this.id);
    if (why !== null) throw new ConfChangeError(why);
    const index = this.log.lastIndex() + 1;
    const stored: ConfChange = { kind: cc.kind, nodeId: cc.nodeId };
    if (cc.context !== undefined) stored.context = cc.context;
    this.pendingConfIndex = index;
    this.appendEntries([{ index, term: this.term, type: 'conf', data: encodeConfChange(stored) }]);
    this.bcastAppend();
    return { index, term: this.term };
  }

  /**
   * Requests a linearizable read point. The answer arrives in
   * `ready.readStates` as {index, ctx}; serve the read once applied >= index.
   * `ctx` must be unique among pending reads. On a follower the request is
   * forwarded to the leader; with no known leader it fails at once in
   * `ready.readStatesFailed`. A forwarded request lost in transit produces
   * nothing: callers must time reads out.
   */
  readIndex(ctx: Uint8Array): void {
    if (this.role === 'leader') this.handleReadIndex(this.id, ctx);
    else if (this.leaderId !== null && this.leaderId !== this.id) {
      this.forwardedReads.set(ctxKey(ctx), ctx);
      if (this.forwardedReads.size > this.maxPendingReads) {
        // Bounded: the oldest forwarded read is given up on (reported failed).
        const [oldestKey, oldestCtx] = this.forwardedReads.entries().next().value as [string, Uint8Array];
        this.forwardedReads.delete(oldestKey);
        this.readStatesFailed.push(oldestCtx);
      }
      this.send({ type: 'readIndex', to: this.leaderId, context: ctx });
    } else this.readStatesFailed.push(ctx);
  }

  /** Asks the leader to hand leadership to `to` (forwarded if this node is a follower). */
  transferLeadership(to: NodeId): void {
    if (this.role === 'leader') this.handleTransferLeader(to);
    else if (this.leaderId !== null) this.send({ type: 'transferLeader', to: this.leaderId, transferee: to });
    else throw new NotLeaderError(null);
  }

  /** The transport could not reach `to`: stop streaming to it optimistically. */
  reportUnreachable(to: NodeId): void {
    if (this.role !== 'leader') return;
    const pr = this.progress.get(to);
    if (pr && pr.state === 'replicate') pr.becomeProbe();
  }

  /** The snapshot transfer to `to` finished (`ok`) or failed. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    if (this.role !== 'leader') return;
    const pr = this.progress.get(to);
    if (pr === undefined || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the follower's answer (or a heartbeat response) before probing.
    pr.probeSent = true;
  }

  /**
   * Heartbeats to every follower as of now, for the caller to send at once
   * rather than in the next Ready: a leader whose own fsync is slow keeps its
   * followers from timing out meanwhile. A heartbeat promises nothing about
   * this node's disk (§10.2.1) and carries no read context. Changes no state;
   * empty unless this node leads.
   */
  heartbeatsNow(): Message[] {
    if (this.role !== 'leader') return [];
    const out: Message[] = [];
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      out.push({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit: Math.min(pr.match, this.log.committed) });
    }
    return out;
  }

  /**
   * The answer to a heartbeat from our leader, for the caller to send at once
   * while this node waits on a persist rather than after it: a follower whose
   * disk stalls for longer than an election timeout (LevelDB holding writes
   * back while it compacts large values) still tells the leader it is there,
   * so the leader's quorum check does not depose a leader whose followers are
   * alive. A heartbeat's answer promises nothing about this disk (see
   * {@link waitsForPersist}). Undefined unless this node follows `m.from` in
   * `m.term`. `m` must still be stepped (it moves the commit index and the
   * election timer); it is then not answered again.
   */
  answerHeartbeatNow(m: Message): Message | undefined {
    if (m.type !== 'heartbeat' || m.to !== this.id || this.role !== 'follower' || m.term !== this.term || m.from !== this.leaderId) return undefined;
    this.answeredEarly.add(m);
    const resp: Message = { type: 'heartbeatResp', from: this.id, to: m.from, term: this.term };
    if (m.context !== undefined) resp.context = m.context;
    return resp;
  }

  /** Size of the log after the compaction point, evicted entries included (what the caller's storage holds). */
  logSizeBytes(): number {
    return this.log.logBytes();
  }

  /** The highest index whose compaction keeps at most `keepBytes` of applied entries (see {@link RawNode.compact}). */
  compactionPointForBytes(keepBytes: number): number {
    return this.log.compactionPointForBytes(keepBytes);
  }

  /**
   * Drops entries <= index from memory (index <= applied). The new compaction
   * point is returned; the caller must be able to serve a state-machine
   * snapshot at exactly that index to followers that fall behind it. Do not
   * compact between ready() and sending that Ready's messages: a snapshot
   * message in it names the compaction point of the time it was made. An
   * index at or below the current compaction point changes nothing and
   * returns that point, which may be a leader's snapshot not yet persisted
   * and above the caller's state: compare the returned index with `index`.
   */
  compact(index: number): SnapshotMeta {
    if (index > this.log.applied) throw new UsageError(`compact(${index}) is beyond the applied index ${this.log.applied}`);
    const meta = this.log.compact(index);
    // Snapshot messages not yet handed out would name a compaction point the
    // caller no longer keeps: point them (and the progress) at the new one.
    this.msgs = this.msgs.map((m) => {
      if (m.type !== 'snapshot' || m.snapshot.index === meta.index) return m;
      const pr = this.progress.get(m.to);
      if (pr?.state === 'snapshot') pr.pendingSnapshot = meta.index;
      return { ...m, snapshot: { index: meta.index, term: meta.term, config: cloneConfig(meta.config) } };
    });
    return { index: meta.index, term: meta.term, config: cloneConfig(meta.config) };
  }

  step(m: Message): void {
    if (m.to !== this.id || m.from === this.id) return;
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // Leader lease (§4.2.3): while we hear from a leader, a disruptive
        // candidate (e.g. a removed server) gets no answer at all.
        const inLease = this.cfg.checkQuorum && this.leaderId !== null && this.electionElapsed < this.cfg.electionTimeoutTicks;
        const forced = m.type === 'vote' && m.transfer === true;
        if (inLease && !forced) return;
      }
      if (m.type === 'preVote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // The term is bumped only if the pre-vote wins.
      } else {
        const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // A stale leader cut off by a partition would otherwise never learn the
        // new term: with pre-vote/lease we won't disrupt it, so tell it.
        this.send({ type: 'appendResp', to: m.from, index: 0, reject: false, rejectHint: 0, logTerm: 0 });
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResp', to: m.from, reject: true });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      const canVote =
        this.vote === m.from || (this.vote === null && this.leaderId === null) || (m.type === 'preVote' && m.term > this.term);
      const respType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
      if (canVote && this.logIsUpToDate(m.index, m.logTerm)) {
        // A granted pre-vote answers in the candidate's future term so it counts it.
        this.send({ type: respType, to: m.from, term: m.term, reject: false });
        if (m.type === 'vote') {
          this.electionElapsed = 0;
          this.vote = m.from;
        }
      } else {
        this.send({ type: respType, to: m.from, reject: true });
      }
      return;
    }
    this.stepRole(m);
  }

  // ---------------------------------------------------------------- output

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    return (
      this.msgs.length > 0 ||
      this.msgsAfterPersist.length > 0 ||
      this.log.unstableFrom <= this.log.lastIndex() ||
      this.log.pendingSnapshot !== undefined ||
      this.log.hasNextCommittedEntries() ||
      this.readStates.length > 0 ||
      this.readStatesFailed.length > 0 ||
      !sameHardState(this.hardState(), this.prevHardState) ||
      !sameSoftState(this.softState(), this.prevSoftState)
    );
  }

  /** The next batch of work. Call advance(ready) before asking for another. */
  ready(): Ready {
    if (this.outstanding !== undefined) throw new UsageError('ready() called again before advance()');
    const hs = this.hardState();
    const ss = this.softState();
    const rd: Ready = {
      entries: this.log.unstableEntries(),
      committedEntries: this.log.nextCommittedEntries(this.maxCommittedBytes),
      messages: this.msgs,
      messagesAfterPersist: this.msgsAfterPersist,
      readStates: this.readStates,
      readStatesFailed: this.readStatesFailed,
      mustSync: false,
    };
    if (!sameSoftState(ss, this.prevSoftState)) {
      rd.softState = ss;
      this.prevSoftState = ss;
    }
    if (!sameHardState(hs, this.prevHardState)) rd.hardState = hs;
    if (this.log.pendingSnapshot) rd.snapshot = this.log.pendingSnapshot;
    rd.mustSync =
      rd.entries.length > 0 ||
      rd.snapshot !== undefined ||
      (rd.hardState !== undefined && (hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote));
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted) this.log.applying = Math.max(this.log.applying, lastCommitted.index);
    this.msgs = [];
    this.msgsAfterPersist = [];
    this.readStates = [];
    this.readStatesFailed = [];
    this.outstanding = rd;
    return rd;
  }

  /**
   * The caller has persisted `ready` durably, sent its messages and applied
   * its committed entries. This is also the "persisted up to" step: the log
   * counts the Ready's entries as durable from here, and a leader counts its
   * own match (towards commit) only now, never for entries still on their
   * way to its disk. The applied index becomes the last of its
   * committedEntries (or its snapshot's index).
   */
  advance(ready: Ready): void {
    if (ready !== this.outstanding) throw new UsageError('advance() must be given the Ready returned by the last ready()');
    this.outstanding = undefined;
    if (ready.hardState) this.prevHardState = ready.hardState;
    if (ready.snapshot) {
      if (this.log.pendingSnapshot?.index === ready.snapshot.index) this.log.pendingSnapshot = undefined;
      this.log.applied = Math.max(this.log.applied, ready.snapshot.index);
    }
    const last = ready.entries[ready.entries.length - 1];
    if (last) {
      this.log.stableTo(last.index, last.term);
      this.persistedOwnEntries();
    }
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplied) this.log.applied = Math.max(this.log.applied, lastApplied.index);
    this.evictLogData();
  }

  /** The leader's own acknowledgement of its durable log (etcd-raft steps a self MsgAppResp at the same point). */
  private persistedOwnEntries(): void {
    if (this.role !== 'leader') return;
    const pr = this.progress.get(this.id);
    if (pr?.maybeUpdate(this.ownMatchIndex()) && this.maybeCommit()) this.bcastCommit();
  }

  /** What the leader may count as its own match: the durable part of its log. */
  protected ownMatchIndex(): number {
    return Math.min(this.log.lastIndex(), this.log.unstableFrom - 1);
  }

  status(): Status {
    const st: Status = {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leaderId: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      logBytes: this.log.logBytes(),
      logMemoryBytes: this.log.memoryBytes(),
      config: cloneConfig(this.log.config()),
      leadTransferee: this.leadTransferee,
    };
    if (this.role === 'leader') {
      const progress: Record<NodeId, ProgressStatus> = {};
      for (const [id, pr] of this.progress) progress[id] = pr.status();
      st.progress = progress;
    }
    return st;
  }

  // ------------------------------------------------- hooks (overridden by bug-injection tests only)

  /** §5.4.1 election restriction. */
  protected logIsUpToDate(lastIndex: number, lastTerm: number): boolean {
    return this.log.isUpToDate(lastIndex, lastTerm);
  }

  /** §5.4.2: only entries of the current term are committed by counting replicas (Figure 8). */
  protected mayCommitByCounting(index: number): boolean {
    return this.log.term(index) === this.term;
  }

  /** §6.4: a leader confirms it is still leader with a heartbeat quorum before answering a read. */
  protected readNeedsQuorum(): boolean {
    return true;
  }

  /**
   * The after-persist rule (etcd-raft's msgsAfterAppend): a message that
   * promises something about this node's disk leaves only once the Ready it
   * came with is durable. An append response says the entries are stored, a
   * vote grant that the vote is, and a vote request carries the candidate's
   * own vote, which must be durable before anyone can count it toward a
   * win. Everything else (a leader's appends and heartbeats, §10.2.1; read
   * requests and answers; transfers) promises nothing about this disk and may
   * leave while the write is in flight.
   */
  protected waitsForPersist(m: Message): boolean {
    return m.type === 'appendResp' || m.type === 'vote' || m.type === 'voteResp' || m.type === 'preVoteResp';
  }

  // ---------------------------------------------------------------- roles

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.leaderId = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.quorumElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = null;
    this.votes.clear();
    this.progress.clear();
    this.pendingConfIndex = 0;
    this.failPendingReads();
  }

  private becomeFollower(term: number, leaderId: NodeId | null): void {
    this.reset(term);
    this.leaderId = leaderId;
    this.role = 'follower';
    this.stepRole = this.stepFollower;
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become pre-candidate');
    // Only the step function and votes change: no term bump, no vote.
    this.votes.clear();
    this.leaderId = null;
    this.role = 'preCandidate';
    this.stepRole = this.stepCandidate;
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
    this.stepRole = this.stepCandidate;
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', 'only a candidate becomes leader');
    this.reset(this.term);
    this.leaderId = this.id;
    this.role = 'leader';
    this.stepRole = this.stepLeader;
    this.syncProgress();
    // No conf change until everything up to and including our no-op commits:
    // that closes the single-server-change bug (raft-dev, 2015).
    const noopIndex = this.log.lastIndex() + 1;
    this.pendingConfIndex = noopIndex;
    this.appendEntries([{ index: noopIndex, term: this.term, type: 'noop', data: EMPTY }]);
  }

  private promotable(): boolean {
    return isVoter(this.log.config(), this.id) && this.log.pendingSnapshot === undefined;
  }

  private hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    if (this.cfg.preVote && !transfer) this.campaignRound('pre', false);
    else this.campaignRound('election', transfer);
  }

  private campaignRound(kind: 'pre' | 'election', transfer: boolean): void {
    let voteTerm: number;
    if (kind === 'pre') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (this.tallyAndAct()) return;
    const lastIndex = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const v of this.log.config().voters) {
      if (v === this.id) continue;
      if (kind === 'pre') this.send({ type: 'preVote', to: v, term: voteTerm, index: lastIndex, logTerm });
      else if (transfer) this.send({ type: 'vote', to: v, index: lastIndex, logTerm, transfer: true });
      else this.send({ type: 'vote', to: v, index: lastIndex, logTerm });
    }
  }

  /** Acts on the current tally; returns true if the election is decided. */
  private tallyAndAct(): boolean {
    const result = voteResult(this.log.config().voters, this.votes);
    if (result === 'won') {
      if (this.role === 'preCandidate') this.campaignRound('election', false);
      else {
        this.becomeLeader();
        this.bcastAppend();
      }
      return true;
    }
    if (result === 'lost') {
      this.becomeFollower(this.term, null);
      return true;
    }
    return false;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    this.quorumElapsed++;
    if (this.cfg.checkQuorum && this.quorumElapsed >= this.checkQuorumTicks) {
      this.quorumElapsed = 0;
      const active = hasQuorum(this.log.config().voters, (id) => id === this.id || this.progress.get(id)?.recentActive === true);
      for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
      if (!active) {
        this.becomeFollower(this.term, null);
        return;
      }
    }
    if (this.electionElapsed >= this.cfg.electionTimeoutTicks) {
      this.electionElapsed = 0;
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      // Re-carry the newest pending read context so a lost heartbeat does not stall reads.
      this.bcastHeartbeat(this.readOnly.lastPendingCtx());
    }
  }

  private resetRandomizedElectionTimeout(): void {
    const r = this.cfg.random();
    assert(r >= 0 && r < 1, 'random() must return a number in [0,1)');
    const t = this.cfg.electionTimeoutTicks;
    this.randomizedElectionTimeout = t + Math.floor(r * t);
  }

  // ---------------------------------------------------------------- step functions

  private stepFollower = (m: Message): void => {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleSnapshot(m);
        return;
      case 'transferLeader':
        if (this.leaderId !== null) this.send({ type: 'transferLeader', to: this.leaderId, transferee: m.transferee });
        return;
      case 'timeoutNow':
        // §3.10: the leader says our log is up to date: campaign now, skipping pre-vote.
        this.hup(true);
        return;
      case 'readIndexResp':
        this.handleReadIndexResp(m.index, m.context);
        return;
      default:
        return;
    }
  };

  private stepCandidate = (m: Message): void => {
    switch (m.type) {
      case 'append':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'preVoteResp':
      case 'voteResp': {
        const expected = this.role === 'preCandidate' ? 'preVoteResp' : 'voteResp';
        if (m.type !== expected || this.votes.has(m.from)) return;
        this.votes.set(m.from, !m.reject);
        this.tallyAndAct();
        return;
      }
      case 'readIndexResp':
        // The old leader confirmed its leadership after the request was made: still valid.
        this.handleReadIndexResp(m.index, m.context);
        return;
      default:
        return;
    }
  };

  private stepLeader = (m: Message): void => {
    switch (m.type) {
      case 'appendResp':
        this.handleAppendResp(m);
        return;
      case 'heartbeatResp':
        this.handleHeartbeatResp(m);
        return;
      case 'readIndex':
        this.handleReadIndex(m.from, m.context);
        return;
      case 'transferLeader':
        this.handleTransferLeader(m.transferee);
        return;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Another leader in our own term would break election safety.
        assert(false, `leader ${this.id} got ${m.type} from ${m.from} in its own term ${this.term}`);
        return;
      default:
        return;
    }
  };

  // ---------------------------------------------------------------- follower handlers

  private handleAppend(m: AppendMsg): void {
    if (m.index < this.log.committed) {
      // Our prefix up to commit is already known to match every leader's.
      this.send({ type: 'appendResp', to: m.from, index: this.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      // The leader already counts this match (AppendMsg.commitOnly): an
      // answer would cost a message and a wake-up on both sides for nothing.
      if (m.commitOnly === true) return;
      this.send({ type: 'appendResp', to: m.from, index: lastNew, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    // Fast backtracking (§5.3): hint the last index whose term could still match.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({ type: 'appendResp', to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: HeartbeatMsg): void {
    // The leader sends min(match, commit), which this log is known to hold.
    assert(m.commit <= this.log.lastIndex(), `heartbeat commit ${m.commit} beyond last index ${this.log.lastIndex()}`);
    this.log.commitTo(m.commit);
    if (this.answeredEarly.delete(m)) return;
    const resp: MessageDraft = { type: 'heartbeatResp', to: m.from };
    if (m.context !== undefined) resp.context = m.context;
    this.send(resp);
  }

  private handleSnapshot(m: SnapshotMsg): void {
    const s = m.snapshot;
    if (s.index <= this.log.committed) {
      // Stale: we already have (and may have applied) everything it covers. The
      // caller must discard the staged data: no Ready.snapshot follows.
      this.send({ type: 'appendResp', to: m.from, index: this.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    if (this.log.matchTerm(s.index, s.term)) {
      // Our log already holds the snapshot's last entry, so it holds everything
      // before it too. Restoring would throw away entries after it that we may
      // have acknowledged (and that may be committed): just fast-forward commit.
      this.log.commitTo(s.index);
      this.send({ type: 'appendResp', to: m.from, index: this.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    this.log.restore(s);
    this.send({ type: 'appendResp', to: m.from, index: this.log.lastIndex(), reject: false, rejectHint: 0, logTerm: 0 });
  }

  // ---------------------------------------------------------------- leader handlers

  private assertLeaderForProposal(): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.leaderId);
    if (this.leadTransferee !== null) throw new NotLeaderError(this.leadTransferee, 'transferring');
  }

  private appendEntries(entries: Entry[]): void {
    const hadConf = entries.some((e) => e.type === 'conf');
    this.log.append(entries);
    if (hadConf) this.syncProgress();
    // Our own match covers only the durable part of the log: new entries count once advance() confirms them.
    this.progress.get(this.id)?.maybeUpdate(this.ownMatchIndex());
    this.maybeCommit();
  }

  /** Makes the progress map match the configuration in effect (which changes on append). */
  private syncProgress(): void {
    const cfg = this.log.config();
    assert(isVoter(cfg, this.id), `leader ${this.id} is not a voter of its own configuration`);
    const members = new Set([...cfg.voters, ...cfg.learners]);
    for (const id of members) {
      const learner = cfg.learners.includes(id);
      const pr = this.progress.get(id);
      if (pr) pr.isLearner = learner;
      else {
        const np = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightMsgs, this.maxInflightBytes, learner);
        if (id === this.id) np.match = this.ownMatchIndex();
        this.progress.set(id, np);
      }
    }
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    if (this.leadTransferee !== null && !isVoter(cfg, this.leadTransferee)) this.leadTransferee = null;
  }

  /** Advances commit to what a majority has matched, for current-term entries only. */
  private maybeCommit(): boolean {
    const mci = committedIndex(this.log.config().voters, (id) => this.progress.get(id)?.match ?? 0);
    if (mci <= this.log.committed || !this.mayCommitByCounting(mci)) return false;
    this.log.commitTo(mci);
    if (this.pendingReads.length > 0 && this.log.term(this.log.committed) === this.term) {
      const queued = this.pendingReads;
      this.pendingReads = [];
      for (const r of queued) this.handleReadIndex(r.from, r.ctx);
    }
    return true;
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id, true);
  }

  /** Tells every follower a new commit index: with the entries it still needs, or on a commit-only append (see AppendMsg.commitOnly). */
  private bcastCommit(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id, true, true);
  }

  private bcastHeartbeat(ctx: Uint8Array | undefined): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      // Never tell a follower to commit beyond what it is known to hold.
      const hb: MessageDraft = { type: 'heartbeat', to: id, commit: Math.min(pr.match, this.log.committed) };
      if (ctx !== undefined) hb.context = ctx;
      this.send(hb);
    }
  }

  /** Sends the next append (or a snapshot) to `to` if its progress allows; true if something was sent. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean, commitOnlyWhenEmpty = false): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.slice(pr.next, this.log.lastIndex(), this.cfg.maxSizePerMsgBytes);
    if (prevTerm === undefined || entries === undefined) {
      assert(prevIndex < this.log.firstIndex(), `progress of ${to} is beyond our log (next ${pr.next})`);
      return this.sendSnapshot(to, pr);
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const e of entries) bytes += entrySizeBytes(e);
    const append: MessageDraft = { type: 'append', to, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed };
    // In replicate state every entry up to prevIndex was sent, and those
    // appends' answers tell the match. Not for a probe (it waits for an
    // answer) nor on the heartbeat path (its answer recovers lost ones).
    if (commitOnlyWhenEmpty && entries.length === 0 && pr.state === 'replicate') append.commitOnly = true;
    this.send(append);
    pr.sentEntries(prevIndex + entries.length, entries.length, bytes);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // A follower we have not heard from recently is likely down: don't start a transfer.
    if (!pr.recentActive) return false;
    const s = this.log.snapshot;
    pr.becomeSnapshot(s.index);
    this.send({ type: 'snapshot', to, snapshot: { index: s.index, term: s.term, config: cloneConfig(s.config) } });
    return true;
  }

  private handleAppendResp(m: AppendRespMsg): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.reject) {
      const hint = m.logTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.logTerm).index : m.rejectHint;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

    if (this.maybeCommit()) this.bcastCommit();
    else if (wasPaused) this.sendAppend(m.from, true);
    // Pipelining: keep the window full.
    while (this.sendAppend(m.from, false)) {}
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to: m.from });
  }

  private handleHeartbeatResp(m: HeartbeatRespMsg): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.match < this.log.lastIndex()) {
      if (pr.state === 'replicate' && pr.inflights.full()) this.checkWindow(m.from, pr);
      else this.sendAppend(m.from, true);
    }
    if (m.context === undefined || this.readOnly.size === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (!acks || !hasQuorum(this.log.config().voters, (id) => acks.has(id))) return;
    for (const req of this.readOnly.advance(m.context)) this.answerRead(req.from, req.ctx, req.index);
  }

  /**
   * The window to `to` is full and it answered a heartbeat: it is alive, but
   * that does not say whether the window's appends reached it. A follower
   * answers heartbeats at once and appends only once their entries are on
   * its disk, so one slow to persist (or waking from a pause with heartbeats
   * queued) answers many heartbeats first; freeing a slot for each sent it a
   * slot's worth more per answer, far past the window. An empty append at the
   * window's end is answered in order after those entries: acknowledged, the
   * window frees; refused (they were lost), the follower is probed and they
   * are sent again.
   */
  private checkWindow(to: NodeId, pr: Progress): void {
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      // The window's entries are compacted away: start over from the match (a snapshot if need be).
      pr.becomeProbe();
      this.sendAppend(to, true);
      return;
    }
    this.send({ type: 'append', to, index: prevIndex, logTerm: prevTerm, entries: [], commit: this.log.committed });
  }

  private handleReadIndex(from: NodeId, ctx: Uint8Array): void {
    // §6.4 step 1: until an entry of this term commits, our commit index may be
    // behind what earlier leaders committed. Queue (bounded) until the no-op commits.
    if (this.log.term(this.log.committed) !== this.term) {
      if (this.pendingReads.length >= this.maxPendingReads) {
        if (from === this.id) this.readStatesFailed.push(ctx);
      } else this.pendingReads.push({ from, ctx });
      return;
    }
    const voters = this.log.config().voters;
    if (!this.readNeedsQuorum() || (voters.length === 1 && voters[0] === this.id)) {
      this.answerRead(from, ctx, this.log.committed);
      return;
    }
    if (this.readOnly.add(this.log.committed, ctx, from, this.id)) this.bcastHeartbeat(ctx);
    else if (from === this.id) this.readStatesFailed.push(ctx);
  }

  /** Surfaces a leader's answer once; duplicates and answers to reads we gave up on are dropped. */
  private handleReadIndexResp(index: number, ctx: Uint8Array): void {
    if (this.forwardedReads.delete(ctxKey(ctx))) this.readStates.push({ index, ctx });
  }

  private answerRead(from: NodeId, ctx: Uint8Array, index: number): void {
    if (from === this.id) this.readStates.push({ index, ctx });
    else this.send({ type: 'readIndexResp', to: from, index, context: ctx });
  }

  /** Local reads waiting on this (former) leader fail; remote ones time out at their origin. */
  private failPendingReads(): void {
    const dropped: Array<ReadRequest | PendingRead> = [...this.readOnly.clear(), ...this.pendingReads];
    this.pendingReads = [];
    for (const r of dropped) if (r.from === this.id) this.readStatesFailed.push(r.ctx);
  }

  private handleTransferLeader(transferee: NodeId): void {
    const pr = this.progress.get(transferee);
    if (!pr || pr.isLearner || transferee === this.id) return;
    if (this.leadTransferee === transferee) return;
    this.leadTransferee = transferee;
    // The transfer must finish within an election timeout (see tickHeartbeat).
    this.electionElapsed = 0;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to: transferee });
    else this.sendAppend(transferee, true);
  }

  // ---------------------------------------------------------------- helpers

  private send(m: MessageDraft & { term?: number }): void {
    // Drafts are fresh literals owned by us: fill them in place (no copy on the hot path).
    const msg = m as MessageDraft & { from: NodeId; term: number };
    msg.from = this.id;
    if (msg.term === undefined) msg.term = this.term;
    if (this.waitsForPersist(msg as Message)) this.msgsAfterPersist.push(msg as Message);
    else this.msgs.push(msg as Message);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Role, term and leader as of now (cheap; status() has the full picture). */
  softState(): SoftState {
    return { leaderId: this.leaderId, role: this.role, term: this.term };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leaderId === b.leaderId && a.role === b.role && a.term === b.term;
}
