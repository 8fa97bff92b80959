import { EventEmitter } from 'node:events';
import { type ConfChange, type Entry, type Message, NotLeaderError, type RawNode, type Ready, type SnapshotMsg } from '@bellwether/raft';
import { type Command, encodeCommand, type KeyChange, type LeaseChange, type ReplicaStorage, type SnapshotReader, type WriteResult } from '@bellwether/store';
import { ApplyBacklog } from './apply-backlog';
import { type Clock, type ClockTimer, systemClock } from './clock';
import { CommitHold } from './commit-hold';
import { ConnectedLeaderGrace } from './connected-leader-grace';
import { LogCompaction } from './log-compaction';
import { LogReadback } from './log-readback';
import { MemberDirectory } from './member-directory';
import { encodeSnapshotMeta, type MemberInfo } from './membership';
import type { IncomingSnapshot } from './peer-transport';
import { PendingWrites } from './pending-writes';
import { ReadWaiters } from './read-waiters';
import { type LeaderHint, NotLeader, Overloaded, Unavailable } from './replica-errors';
import { finishSnapshot, receiveSnapshot, SnapshotSends } from './replica-snapshots';
/** A clock tick in the inbox, between the peer messages it arrived among. */
const TICK = Symbol('tick');
/** A batch waiting on the apply chain takes more committed entries up to these sizes. */
const APPLY_BATCH_MAX_BYTES = 32 * 1024 * 1024;
const APPLY_BATCH_MAX_ENTRIES = 4096;

/** Sends Raft messages to peers; delivery is best effort (Raft retries). */
export interface PeerTransport {
  send(messages: Message[]): void;
  /** Streams a pinned state snapshot to `msg.to`; resolves whether the peer installed it. */
  sendSnapshot(msg: SnapshotMsg, reader: SnapshotReader, members: Buffer): Promise<boolean>;
  close(): Promise<void>;
  /** Whether a Replicate stream with `id` is open and answered (either direction); transports that cannot tell leave it out. */
  connectedTo?(id: string): boolean;
}

export interface ReplicaOptions {
  memberId: string;
  tickMs: number;
  /** The leader's heartbeat interval (also used while it waits on its own fsync). */
  heartbeatMs: number;
  /** A follower connected to its leader campaigns only after this much silence on top of the election timeout (config.ts). */
  connectedLeaderGraceMs?: number;
  maxPendingProposals: number;
  /** Reads waiting for a read index or for the applied index to catch up, before new ones are refused. */
  maxPendingReads: number;
  /** How long a linearizable read waits for the leader to confirm its read index. */
  readIndexTimeoutMs: number;
  /** Keep at least this many applied entries in the log for lagging followers. */
  logRetentionEntries: number;
  /** Compact once this many entries past the retention have been applied. */
  compactEveryEntries: number;
  /** Applied entries kept are also at most this many bytes (the smaller bound wins; default: no byte bound). */
  logRetentionBytes?: number;
  /** Compact once the log exceeds logRetentionBytes by this many bytes. */
  compactEveryBytes?: number;
  /** Applied log a leader keeps beyond the retention for a catching-up follower (log-compaction.ts; default: none). */
  catchUpBytes?: number;
  /** Where a member serves clients, when that is not its member (peer) address. */
  clientAddressOf?: (id: string) => string;
  /** Snapshot chunks are cut to this many bytes (what a peer accepts in one message); default 1 MiB. */
  snapshotChunkBytes?: number;
  /** Longest a leadership transfer holds new writes back before they are proposed or refused (default 1000). */
  handOverHoldMs?: number;
  /** The log index the initial member list reflects, when beyond the applied index (a joiner's; see membership.ts). */
  membersIndex?: number;
  /** How long a commit-only append may wait for the next append to carry its commit instead (commit-hold.ts; default 0: sent at once). */
  commitHoldMs?: number;
}

export type Role = 'follower' | 'candidate' | 'preCandidate' | 'leader';

export interface LeaderChange {
  leaderId: string | null;
  term: number;
}

/**
 * What a replica reports as it works (listened to by the metrics): `applied`
 * carries the new applied index and the batch's apply time; `persisted` the
 * time of one synced log write.
 */
export interface ReplicaEvents {
  leaderChange: [LeaderChange];
  /** This member led and stepped down within its term: it heard from no majority of voters for the check-quorum period. */
  quorumLost: [term: number];
  applied: [index: number, seconds: number];
  /** The key changes of an applied batch (when the store tracks them), the index it reached, and its lease grants and revocations. */
  changes: [changes: KeyChange[], index: number, leases: LeaseChange[]];
  /** The state was replaced by a snapshot at this index. */
  reset: [index: number];
  fatal: [Error];
  droppedMessage: [Message, Error];
  persisted: [seconds: number];
  proposalFailed: [];
  snapshotSent: [ok: boolean];
  snapshotInstalled: [ok: boolean];
  /**
   * A member's record was made anew or dropped (added, removed, or changed by
   * an installed snapshot's member list): what a process presented under that
   * id before no longer says which process the member is.
   */
  memberReset: [id: string];
}

/**
 * Drives the pure Raft core with real time and real I/O. Every input (ticks,
 * peer messages, proposals, read requests) is queued and fed to Raft at the top
 * of one loop iteration; then one Ready is persisted (one fsync), its messages
 * sent, its committed entries applied (one LevelDB batch) and advanced. Work
 * that arrives while an fsync is in flight lands in the next iteration's
 * batch: that is the group commit.
 *
 * What waits on it lives beside it: pending-writes.ts, read-waiters.ts,
 * member-directory.ts, replica-snapshots.ts, log-compaction.ts.
 */
export class Replica extends EventEmitter<ReplicaEvents> {
  private readonly raft: RawNode;
  private readonly storage: ReplicaStorage;
  private transport: PeerTransport | undefined;
  private readonly opts: ReplicaOptions;

  /**
   * Peer messages and clock ticks in the order they arrived. While the loop
   * waits on an fsync both pile up; stepping them in arrival order means a
   * leader's heartbeats that came during a slow fsync count before the ticks
   * after them, instead of every tick first and a spurious election timeout.
   */
  private inbox: (Message | typeof TICK)[] = [];
  private readonly unreachable = new Set<string>();
  private readonly writes = new PendingWrites(() => this.emit('proposalFailed'));
  private readonly reads: ReadWaiters;
  /** Work that must run between two Readies (e.g. swapping in a snapshot). */
  private tasks: (() => Promise<void>)[] = [];
  private readonly snapshotSends = new SnapshotSends((ok) => {
    this.emit('snapshotSent', ok);
    this.kick();
  });
  private readonly compaction: LogCompaction;
  /** Commit-only appends wait briefly for the next append to carry their commit. */
  private readonly commitHold: CommitHold;
  /** Applies run in order on this chain, overlapping the next Ready's fsync. */
  private applying: Promise<void> = Promise.resolve();
  /**
   * The last batch on the apply chain while it has not started: entries
   * committed meanwhile join it, so a member whose applies fall behind
   * catches up in fewer, larger batches (one blob append and one LevelDB
   * write each) instead of one per Ready. Anything else put on the chain
   * (a snapshot's pin) closes it, so it still sits between the same applies.
   */
  private queuedApply: { entries: Entry[]; bytes: number } | undefined;
  /** See {@link answeredIndex}. */
  private answeredThrough = 0;
  /** A follower's committed entries waiting for the apply, and the appends it holds back while that is too much. */
  readonly applyBacklog = new ApplyBacklog();
  /** When the loop started waiting on a persist during which a leader may heartbeat (see heartbeatWhilePersisting). */
  private persistingSinceMs: number | undefined;
  private lastPersistHeartbeatMs = 0;
  /** Term and vote as last made durable: a Ready that changes them must reach disk before any of its messages leave. */
  private durableTerm = 0;
  private durableVote: string | null = null;

  private wake: (() => void) | undefined;
  private stopped = false;
  private loopDone: Promise<void> | undefined;
  private ticker: ClockTimer | undefined;

  private role: Role = 'follower';
  private leader: string | null = null;
  private term = 0;
  private lastLeaderContactMs = 0;
  /** Holds a follower's election clock while its leader is still connected. */
  private readonly leaderGrace: ConnectedLeaderGrace;
  private readonly members: MemberDirectory;
  private fatal: Error | undefined;

  /** Time and timers (the real clock unless a simulator passes its own). */
  private readonly clock: Clock;

  /**
   * `storage` is the log, state machine and snapshots this replica drives:
   * a Store in production, the same Store's parts (possibly wrapped to
   * inject faults) in the simulator.
   */
  constructor(raft: RawNode, storage: ReplicaStorage, members: MemberInfo[], opts: ReplicaOptions, clock: Clock = systemClock) {
    super();
    this.clock = clock;
    this.startedAtMs = clock.now();
    this.raft = raft;
    this.storage = storage;
    this.opts = opts;
    this.members = new MemberDirectory(members, Math.max(storage.stateMachine.appliedIndex, opts.membersIndex ?? 0), opts.clientAddressOf, (id) =>
      this.emit('memberReset', id),
    );
    this.leaderGrace = new ConnectedLeaderGrace(opts.connectedLeaderGraceMs ?? 0);
    this.reads = new ReadWaiters(clock, opts.memberId, opts.maxPendingReads, opts.readIndexTimeoutMs);
    const { logRetentionEntries, compactEveryEntries, logRetentionBytes, compactEveryBytes, catchUpBytes } = opts;
    this.compaction = new LogCompaction(raft, storage.log, { logRetentionEntries, compactEveryEntries, logRetentionBytes, compactEveryBytes, catchUpBytes }, () => clock.now());
    this.commitHold = new CommitHold(clock, opts.commitHoldMs ?? 0, (messages) => this.readback.send(messages));
  }

  setTransport(transport: PeerTransport): void {
    this.transport = transport;
  }

  /** When this replica started (wall clock), for "no leader heard since start" ages. */
  readonly startedAtMs: number;

  start(): void {
    const st = this.raft.status();
    this.durableTerm = st.term;
    this.durableVote = st.vote;
    this.compaction.start(st.firstIndex);
    this.ticker = this.clock.setInterval(() => {
      this.inbox.push(TICK);
      this.heartbeatWhilePersisting();
      this.kick();
    }, this.opts.tickMs);
    this.loopDone = this.loop().catch((err: Error) => this.onFatal(err));
  }

  /** A failed fsync or apply leaves the node unable to keep its promises: it stops taking work rather than acknowledge anything further. */
  private onFatal(err: Error): void {
    if (this.fatal) return;
    this.fatal = err;
    this.stopped = true;
    if (this.ticker) this.clock.clearInterval(this.ticker);
    this.kick();
    this.failAll(new Unavailable(`member ${this.opts.memberId} stopped after a storage failure: ${err.message}`));
    this.emit('fatal', err);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) this.clock.clearInterval(this.ticker);
    this.kick();
    await this.loopDone;
    this.commitHold.stop();
    await this.applying;
    await this.compaction.idle();
    await this.transport?.close();
    this.failAll(new Unavailable(`member ${this.opts.memberId} is shutting down`));
  }

  // ---- inputs ----

  /** A message from a peer. */
  step(msg: Message): void {
    if (this.stopped) return;
    // The loop steps nothing while it waits on a persist, and a large write can
    // wait seconds (LevelDB stalls writes while it compacts): answer the
    // leader's heartbeats meanwhile, or it counts this member gone.
    if (msg.type === 'heartbeat' && this.persistingSinceMs !== undefined) {
      const answer = this.raft.answerHeartbeatNow(msg);
      if (answer) this.send([answer]);
    }
    this.inbox.push(msg);
    this.kick();
  }

  /** Proposes one write; resolves with its result once committed and applied here. */
  propose(command: Command): Promise<WriteResult> {
    if (this.fatal) return Promise.reject(new Unavailable(`member ${this.opts.memberId} has stopped: ${this.fatal.message}`));
    if (this.role !== 'leader' && !(this.leader === null && this.holdingProposals())) return Promise.reject(this.notLeader());
    if (this.writes.count >= this.opts.maxPendingProposals) {
      return Promise.reject(new Overloaded(`member ${this.opts.memberId}: ${this.opts.maxPendingProposals} writes already pending; back off and retry`));
    }
    const result = this.writes.enqueue(encodeCommand(command));
    this.kick();
    return result;
  }

  /** Resolves with an index such that state applied up to it reflects every write acknowledged before this call. */
  readIndex(): Promise<number> {
    if (this.fatal) return Promise.reject(new Unavailable(`member ${this.opts.memberId} has stopped`));
    const index = this.reads.request();
    this.kick();
    return index;
  }

  /** Resolves true once `index` is applied, false if `timeoutMs` passes first (or too many reads already wait). */
  waitApplied(index: number, timeoutMs: number): Promise<boolean> {
    return this.reads.waitApplied(index, timeoutMs, this.storage.stateMachine.appliedIndex);
  }

  /** A peer could not be reached: Raft falls back to probing it. */
  reportUnreachable(id: string): void {
    this.unreachable.add(id);
    this.kick();
  }

  /** Proposes one membership change; resolves with its index once committed and applied here. Raft's refusals reject as they are (ConfChangeError). */
  proposeConfChange(cc: ConfChange): Promise<number> {
    if (this.fatal) return Promise.reject(new Unavailable(`member ${this.opts.memberId} has stopped: ${this.fatal.message}`));
    if (this.role !== 'leader') return Promise.reject(this.notLeader());
    return new Promise((resolve, reject) => {
      this.tasks.push(async () => {
        try {
          const { index, term } = this.raft.proposeConfChange(cc);
          this.writes.trackConfChange(index, term, { resolve, reject });
        } catch (err) {
          reject(err instanceof NotLeaderError ? this.notLeader() : err);
        }
      });
      this.kick();
    });
  }

  /**
   * Asks Raft to hand leadership to `to`. While the transfer runs the core
   * refuses proposals, and right after it this member knows no leader for a
   * round trip; writes arriving then are held (bounded by handOverHoldMs)
   * and refused with a hint naming the new leader as soon as it is known,
   * so clients go straight there instead of backing off.
   */
  transferLeadership(to: string): void {
    this.raft.transferLeadership(to);
    this.handOverUntilMs = this.clock.now() + (this.opts.handOverHoldMs ?? 1000);
    this.kick();
  }

  private handOverUntilMs = 0;

  private holdingProposals(): boolean {
    if (this.handOverUntilMs === 0) return false;
    if (this.clock.now() >= this.handOverUntilMs) {
      this.handOverUntilMs = 0;
      return false;
    }
    return this.role === 'leader' ? this.raft.status().leadTransferee !== null : this.leader === null;
  }

  /** Writes proposed here and not yet answered. */
  get pendingWriteCount(): number {
    return this.writes.count;
  }

  // ---- views ----

  get memberId(): string {
    return this.opts.memberId;
  }

  get isLeader(): boolean {
    return this.role === 'leader';
  }

  get currentRole(): Role {
    return this.role;
  }

  get currentTerm(): number {
    return this.term;
  }

  get leaderId(): string | null {
    return this.leader;
  }

  get appliedIndex(): number {
    return this.storage.stateMachine.appliedIndex;
  }

  /**
   * The last index whose writers this member answered. It may be past the
   * applied index while an apply batch is being written (writers are
   * answered before it, see StateMachine.apply); a read served here waits
   * for it, so a member never serves a state older than one it answered.
   */
  get answeredIndex(): number {
    return this.answeredThrough;
  }

  /** Writes proposed here and not yet answered. */
  get pendingProposals(): number {
    return this.writes.count;
  }

  /** Log entries read back from disk for followers since start (they had been evicted from memory). */
  get logEntriesReadBack(): number {
    return this.readback.entriesRead;
  }

  /** A storage failure that stopped this member, if one did. */
  get fatalError(): Error | undefined {
    return this.fatal;
  }

  /** Pins the state between two applies (so it is exactly the state at its applied index) and returns a reader of it. */
  pinSnapshot(): Promise<SnapshotReader> {
    this.queuedApply = undefined;
    const pinned = this.applying.then(() => this.storage.snapshots.snapshotReader());
    this.applying = pinned.then(
      () => undefined,
      () => undefined,
    );
    return pinned;
  }

  leaderHint(): LeaderHint | undefined {
    return this.members.hint(this.leader);
  }

  private notLeader(): NotLeader {
    return new NotLeader(this.opts.memberId, this.leaderHint());
  }

  /** The address clients reach a member at (its member address unless peers have a port of their own). */
  clientAddress(m: MemberInfo): string {
    return this.members.clientAddress(m);
  }

  /** Milliseconds since this member last heard from a leader; 0 on the leader. */
  leaderContactAgeMs(now = this.clock.now()): number {
    if (this.role === 'leader') return 0;
    if (!this.lastLeaderContactMs) return Number.POSITIVE_INFINITY;
    return now - this.lastLeaderContactMs;
  }

  /** Records where a member is reachable (e.g. this node's own port once bound). */
  setMemberAddress(id: string, address: string): void {
    this.members.setAddress(id, address);
  }

  /** The log index the member list reflects (Members answers it, so a joiner starts from there). */
  get membersIndex(): number {
    return this.members.index;
  }

  memberList(): MemberInfo[] {
    return this.members.list();
  }

  raftStatus(): ReturnType<RawNode['status']> {
    return this.raft.status();
  }

  // ---- the loop ----

  private kick(): void {
    const w = this.wake;
    if (w) {
      this.wake = undefined;
      w();
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      for (let task = this.tasks.shift(); task; task = this.tasks.shift()) await task();
      this.feedInputs();
      if (!this.raft.hasReady()) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.hasInputs() || this.stopped) this.kick();
        });
        continue;
      }
      const rd = this.raft.ready();
      await this.handleReady(rd);
      this.raft.advance(rd);
    }
  }

  private hasInputs(): boolean {
    const proposals = this.writes.hasQueued && !this.holdingProposals();
    return (
      this.tasks.length > 0 ||
      this.snapshotSends.hasReports ||
      this.unreachable.size > 0 ||
      this.inbox.length > 0 ||
      proposals ||
      this.reads.roundDue() ||
      this.applyBacklog.releasable
    );
  }

  private feedInputs(): void {
    for (const id of this.unreachable) this.raft.reportUnreachable(id);
    this.unreachable.clear();
    for (const { to, ok } of this.snapshotSends.takeReports()) this.raft.reportSnapshot(to, ok);
    const inbox = this.inbox;
    this.inbox = [];
    const held = this.applyBacklog.release(this.role !== 'follower');
    for (const msg of held.length > 0 ? [...held, ...inbox] : inbox) {
      if (msg === TICK) {
        const leader = this.leader;
        const following = this.role === 'follower' && leader !== null;
        const ticks = this.leaderGrace.ticks(following, this.clock.now() - this.lastLeaderContactMs, () => leader !== null && this.transport?.connectedTo?.(leader) === true);
        for (let n = ticks; n > 0; n--) this.raft.tick();
        continue;
      }
      if (msg.from === this.leader && (msg.type === 'append' || msg.type === 'heartbeat' || msg.type === 'snapshot')) {
        this.lastLeaderContactMs = this.clock.now();
        this.leaderGrace.heard();
      }
      if (this.role === 'follower' && this.applyBacklog.intercept(msg)) continue;
      try {
        this.raft.step(msg);
      } catch (err) {
        // A stale or malformed peer message must not stop the node.
        this.emit('droppedMessage', msg, err as Error);
      }
    }
    if (this.writes.hasQueued && !this.holdingProposals()) {
      this.writes.proposeQueued(
        (data) => this.raft.propose(data),
        (err) => (err instanceof NotLeaderError ? this.notLeader() : new Unavailable(String(err))),
      );
    }
    if (this.reads.roundDue()) this.requestReadIndex();
  }

  private requestReadIndex(): void {
    if (this.leader === null) {
      this.reads.rejectQueued(new Unavailable(`member ${this.opts.memberId} knows no leader; a linearizable read cannot be served now`));
      return;
    }
    this.reads.startRound(
      (ctx) => this.raft.readIndex(ctx),
      () => new Unavailable('the leader did not confirm the read index in time; retry', this.leaderHint()),
      () => this.kick(),
    );
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState.role, rd.softState.leaderId, rd.softState.term);
    if (rd.snapshot) {
      await this.applying;
      await this.compaction.idle();
      await this.storage.log.resetLog(encodeSnapshotMeta(rd.snapshot), rd.snapshot.index);
    }
    const hs = rd.hardState;
    const termOrVoteChanged = hs !== undefined && (hs.term !== this.durableTerm || hs.vote !== this.durableVote);
    // Raft says which messages promise nothing about this disk (a leader's
    // appends and heartbeats, §10.2.1): they leave while the write is in flight.
    if (rd.messages.length > 0) this.send(rd.messages);
    // The commit index is volatile state in Raft (recovered from the leader
    // after a restart), so a Ready that only moves it writes nothing: it rides
    // along with the next append or term/vote change instead.
    if (termOrVoteChanged || rd.entries.length > 0) {
      const startedMs = this.clock.monotonicNow();
      // A change of term or vote must be on disk before anything speaks for it.
      if (!termOrVoteChanged) this.persistingSinceMs = startedMs;
      try {
        // Written on this thread when no message waits to leave meanwhile (a
        // follower's acknowledgement waits on the write itself): see WalFile.append.
        await this.storage.log.persist({ hardState: hs ?? this.lastHardState(), entries: rd.entries }, rd.mustSync, rd.messages.length === 0);
      } finally {
        this.persistingSinceMs = undefined;
      }
      if (rd.mustSync) this.emit('persisted', (this.clock.monotonicNow() - startedMs) / 1000);
      if (hs) {
        this.durableTerm = hs.term;
        this.durableVote = hs.vote;
      }
    }
    if (rd.messagesAfterPersist.length > 0) this.send(rd.messagesAfterPersist);
    if (rd.committedEntries.length > 0) {
      const bytes = this.applyBacklog.added(rd.committedEntries);
      const open = this.queuedApply;
      if (open && open.bytes < APPLY_BATCH_MAX_BYTES && open.entries.length < APPLY_BATCH_MAX_ENTRIES) {
        open.entries.push(...rd.committedEntries);
        open.bytes += bytes;
      } else {
        const batch = { entries: [...rd.committedEntries], bytes };
        this.queuedApply = batch;
        this.applying = this.applying
          .then(async () => {
            if (this.queuedApply === batch) this.queuedApply = undefined;
            // After a failed apply nothing more is applied: a later batch would land on a state without the failed one.
            if (this.fatal) return;
            await this.apply(batch.entries);
            if (this.applyBacklog.applied(batch.bytes)) this.kick();
          })
          .catch((err: Error) => this.onFatal(err));
      }
    }
    for (const rs of rd.readStates) this.reads.onReadState(rs);
    for (const ctx of rd.readStatesFailed) {
      this.reads.onReadFailed(ctx, () => new Unavailable('this member could not confirm a read index (no leader, or leadership was lost); retry', this.leaderHint()));
    }
  }

  private lastHardState(): { term: number; vote: string | null; commit: number } {
    const st = this.raft.status();
    return { term: st.term, vote: st.vote, commit: st.commit };
  }

  private send(messages: Message[]): void {
    const regular: Message[] = [];
    for (const m of messages) {
      if (m.type === 'snapshot') this.startSnapshot(m);
      else regular.push(m);
    }
    if (regular.length > 0) this.readback.send(this.commitHold.filter(regular));
  }

  /** Appends carrying entries evicted from memory are filled from the stored log on their way out. */
  private readonly readback = new LogReadback(
    { readLog: (lo, hi) => this.storage.log.readLog(lo, hi) },
    (messages) => this.transport?.send(messages),
  );

  /** Pins the state now (no apply is in flight) and streams it to the follower in the background. */
  private startSnapshot(msg: SnapshotMsg): void {
    const transport = this.transport;
    if (!transport) return;
    // Pinned on the apply chain, between two applies, so the state is exactly
    // the one at the store's applied index.
    const pin = (open: () => void) => {
      this.queuedApply = undefined;
      this.applying = this.applying.then(open);
    };
    this.snapshotSends.start(msg.to, pin, () =>
      transport.sendSnapshot(msg, this.storage.snapshots.snapshotReader(this.opts.snapshotChunkBytes), this.members.encoded()),
    );
  }

  /**
   * Installs a leader's snapshot: the data goes into the store's spare
   * generation while this node keeps serving, then one loop task swaps it in
   * and steps the snapshot message so Raft restores its log from it.
   */
  async installSnapshot(incoming: IncomingSnapshot): Promise<boolean> {
    const installer = await receiveSnapshot(this.storage.snapshots, incoming);
    return new Promise<boolean>((resolve, reject) => {
      this.tasks.push(async () => {
        try {
          await this.applying;
          await this.compaction.idle();
          if (await finishSnapshot(installer, incoming)) {
            this.members.replace(incoming.members, incoming.appliedIndex);
            const applied = this.storage.stateMachine.appliedIndex;
            this.emit('reset', applied);
            this.reads.resolveApplied(applied);
          }
          this.inbox.push(incoming.message);
          this.emit('snapshotInstalled', true);
          resolve(true);
        } catch (err) {
          this.emit('snapshotInstalled', false);
          reject(err);
        }
      });
      this.kick();
    });
  }

  private onSoftState(role: Role, leaderId: string | null, term: number): void {
    const changed = leaderId !== this.leader || term !== this.term;
    // A leader leaves its role within its own term only through the quorum check (a newer term deposes it otherwise).
    const quorumLost = this.role === 'leader' && role !== 'leader' && term === this.term;
    this.role = role;
    if (leaderId !== this.leader) {
      this.lastLeaderContactMs = leaderId ? this.clock.now() : 0;
      this.leaderGrace.heard();
    }
    this.leader = leaderId;
    this.term = term;
    // Queued, not yet proposed: refuse now so the client follows the new leader.
    if (role !== 'leader' && !(leaderId === null && this.holdingProposals())) this.writes.rejectQueued(this.notLeader());
    if (changed) {
      this.reads.retireRounds();
      this.emit('leaderChange', { leaderId, term });
    }
    if (quorumLost) this.emit('quorumLost', term);
  }

  private async apply(entries: Entry[]): Promise<void> {
    const startedMs = this.clock.monotonicNow();
    const meta: Record<string, Uint8Array> = {};
    if (this.members.applyEntries(entries, this.storage.stateMachine.appliedIndex)) meta['members'] = this.members.encoded();
    let answered = false;
    const answer = (results: Map<number, WriteResult>) => {
      answered = true;
      this.answeredThrough = entries[entries.length - 1]!.index;
      this.writes.settle(
        entries,
        results,
        (what) => new Unavailable(`leadership changed before the ${what} committed; it was not applied — retry`, this.leaderHint()),
      );
    };
    // Writers are answered once their results are known, before the batch is written, unless it changes auth or leases (StateMachine.apply).
    const { results, appliedIndex, changes, leases } = await this.storage.stateMachine.apply(entries, meta, false, answer);
    this.emit('changes', changes, appliedIndex, leases);
    if (!answered) answer(results);
    this.reads.resolveApplied(appliedIndex);
    this.emit('applied', appliedIndex, (this.clock.monotonicNow() - startedMs) / 1000);
    if (this.compaction.shouldStart(appliedIndex)) {
      // Raft's log is only touched from the loop, between Readies.
      this.tasks.push(async () => this.compaction.compactInBackground(appliedIndex, (err) => this.onFatal(err)));
      this.kick();
    }
  }

  /**
   * The loop sends a leader's heartbeats only between Readies, so a slow
   * fsync (a busy shared disk) would silence it past the followers' election
   * timeout and cost an election. While a persist is in flight, the ticker
   * sends Raft's heartbeats itself every heartbeat interval.
   */
  private heartbeatWhilePersisting(): void {
    const since = this.persistingSinceMs;
    if (since === undefined) return;
    const now = this.clock.monotonicNow();
    if (now - Math.max(since, this.lastPersistHeartbeatMs) < this.opts.heartbeatMs) return;
    this.lastPersistHeartbeatMs = now;
    const heartbeats = this.raft.heartbeatsNow();
    if (heartbeats.length > 0) this.send(heartbeats);
  }

  private failAll(e: Error): void {
    this.writes.failAll(e);
    this.reads.failAll(e);
  }
}

/** Wraps a user command for the log (kept here so services never touch the encoding). */
export type { Command };
