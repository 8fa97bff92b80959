import { EventEmitter } from 'node:events';
import {
  type ConfChange,
  decodeConfChange,
  type Entry,
  type Message,
  NotLeaderError,
  type RawNode,
  type Ready,
  type ReadState,
  type SnapshotMsg,
} from '@bellwether/raft';
import { type Command, encodeCommand, type KeyChange, type LeaseChange, type SnapshotReader, type Store, type WriteResult } from '@bellwether/store';
import { type Clock, type ClockTimer, systemClock } from './clock';
import { type LeaderHint, notLeader, resourceExhausted, unavailable } from './errors';
import { decodeIncarnations, recordIncarnations } from './incarnation';
import { LogReadback } from './log-readback';
import { compactionDue, compactionPoint, type RetentionPolicy } from './log-retention';
import { changedRecords, decodeMembers, encodeIndex, encodeMembers, encodeSnapshotMeta, MEMBERS_INDEX_KEY, type MemberInfo } from './membership';
import type { IncomingSnapshot } from './peer-transport';

/** Sends Raft messages to peers; delivery is best effort (Raft retries). */
export interface PeerTransport {
  send(messages: Message[]): void;
  /** Streams a pinned state snapshot to `msg.to`; resolves whether the peer installed it. */
  sendSnapshot(msg: SnapshotMsg, reader: SnapshotReader, members: Buffer): Promise<boolean>;
  close(): Promise<void>;
}

export interface ReplicaOptions {
  memberId: string;
  tickMs: number;
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
  /** Where a member serves clients, when that is not its member (peer) address. */
  clientAddressOf?: (id: string) => string;
  /** Snapshot chunks are cut to this many bytes (what a peer accepts in one message); default 1 MiB. */
  snapshotChunkBytes?: number;
  /** Longest a leadership transfer holds new writes back before they are proposed or refused (default 1000). */
  handOverHoldMs?: number;
  /** The log index the initial member list reflects, when beyond the applied index (a joiner's; see membership.ts). */
  membersIndex?: number;
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

interface PendingProposal extends Waiter<WriteResult> {
  data: Buffer;
}

interface InFlightWrite extends Waiter<WriteResult> {
  term: number;
}

export type Role = 'follower' | 'candidate' | 'preCandidate' | 'leader';

export interface LeaderChange {
  leaderId: string | null;
  term: number;
}

/**
 * Drives the pure Raft core with real time and real I/O. Every input (ticks,
 * peer messages, proposals, read requests) is queued and fed to Raft at the top
 * of one loop iteration; then one Ready is persisted (one fsync), its messages
 * sent, its committed entries applied (one LevelDB batch) and advanced. Work
 * that arrives while an fsync is in flight lands in the next iteration's
 * batch: that is the group commit.
 */
/**
 * What a replica reports as it works (listened to by the metrics): `applied`
 * carries the new applied index and the batch's apply time; `persisted` the
 * time of one synced log write.
 */
export interface ReplicaEvents {
  leaderChange: [LeaderChange];
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

export class Replica extends EventEmitter<ReplicaEvents> {
  private readonly raft: RawNode;
  private readonly store: Store;
  private transport: PeerTransport | undefined;
  private readonly opts: ReplicaOptions;

  private ticksDue = 0;
  private inbox: Message[] = [];
  private readonly unreachable = new Set<string>();
  private proposals: PendingProposal[] = [];
  private readRequests: Waiter<number>[] = [];
  private readonly inFlight = new Map<number, InFlightWrite>();
  /** Membership changes proposed here, by log index, until applied. */
  private readonly confInFlight = new Map<number, { term: number } & Waiter<number>>();
  private readonly readsByCtx = new Map<string, { waiters: Waiter<number>[]; timer: ClockTimer }>();
  private appliedWaiters: { index: number; resolve(): void }[] = [];
  /** Work that must run between two Readies (e.g. swapping in a snapshot). */
  private tasks: (() => Promise<void>)[] = [];
  private readonly snapshotsInFlight = new Set<string>();
  /** Applies run in order on this chain, overlapping the next Ready's fsync. */
  private applying: Promise<void> = Promise.resolve();
  /** Term and vote as last made durable: a Ready that changes them must reach disk before any of its messages leave. */
  private durableTerm = 0;
  private durableVote: string | null = null;
  private readonly snapshotReports: { to: string; ok: boolean }[] = [];
  private readCounter = 0;

  private wake: (() => void) | undefined;
  private stopped = false;
  private loopDone: Promise<void> | undefined;
  private ticker: ClockTimer | undefined;

  private role: Role = 'follower';
  private leader: string | null = null;
  private term = 0;
  private lastLeaderContactMs = 0;
  private members: Map<string, MemberInfo>;
  /** The log index `members` reflects: conf entries up to it are never applied to it again. */
  private membersAt: number;
  private fatal: Error | undefined;

  /** Time and timers (the real clock unless a simulator passes its own). */
  private readonly clock: Clock;

  constructor(raft: RawNode, store: Store, members: MemberInfo[], opts: ReplicaOptions, clock: Clock = systemClock) {
    super();
    this.clock = clock;
    this.startedAtMs = clock.now();
    this.raft = raft;
    this.store = store;
    this.opts = opts;
    this.members = new Map(members.map((m) => [m.id, m]));
    this.membersAt = Math.max(store.appliedIndex, opts.membersIndex ?? 0);
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
    this.compactedTo = st.firstIndex;
    this.ticker = this.clock.setInterval(() => {
      this.ticksDue++;
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
    this.failAll(unavailable(`member ${this.opts.memberId} stopped after a storage failure: ${err.message}`));
    this.emit('fatal', err);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) this.clock.clearInterval(this.ticker);
    this.kick();
    await this.loopDone;
    await this.applying;
    await this.transport?.close();
    this.failAll(unavailable(`member ${this.opts.memberId} is shutting down`));
  }

  // ---- inputs ----

  /** A message from a peer. */
  step(msg: Message): void {
    if (this.stopped) return;
    this.inbox.push(msg);
    this.kick();
  }

  /** Proposes one write; resolves with its result once committed and applied here. */
  propose(command: Command): Promise<WriteResult> {
    if (this.fatal) return Promise.reject(unavailable(`member ${this.opts.memberId} has stopped: ${this.fatal.message}`));
    if (this.role !== 'leader' && !(this.leader === null && this.holdingProposals())) return Promise.reject(notLeader(this.opts.memberId, this.leaderHint()));
    if (this.proposals.length + this.inFlight.size >= this.opts.maxPendingProposals) {
      return Promise.reject(resourceExhausted(`member ${this.opts.memberId}: ${this.opts.maxPendingProposals} writes already pending; back off and retry`));
    }
    return new Promise((resolve, reject) => {
      const failed = (e: Error) => {
        this.emit('proposalFailed');
        reject(e);
      };
      this.proposals.push({ data: encodeCommand(command), resolve, reject: failed });
      this.kick();
    });
  }

  /** Resolves with an index such that state applied up to it reflects every write acknowledged before this call. */
  readIndex(): Promise<number> {
    if (this.fatal) return Promise.reject(unavailable(`member ${this.opts.memberId} has stopped`));
    if (this.pendingReadCount() >= this.opts.maxPendingReads) {
      return Promise.reject(resourceExhausted(`member ${this.opts.memberId}: ${this.opts.maxPendingReads} reads already waiting; back off and retry`));
    }
    return new Promise((resolve, reject) => {
      this.readRequests.push({ resolve, reject });
      this.kick();
    });
  }

  private pendingReadCount(): number {
    let n = this.readRequests.length + this.appliedWaiters.length;
    for (const { waiters } of this.readsByCtx.values()) n += waiters.length;
    return n;
  }

  /** Resolves true once `index` is applied, false if `timeoutMs` passes first (or too many reads already wait). */
  waitApplied(index: number, timeoutMs: number): Promise<boolean> {
    if (this.store.appliedIndex >= index) return Promise.resolve(true);
    if (this.appliedWaiters.length >= this.opts.maxPendingReads) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w = {
        index,
        resolve: () => {
          this.clock.clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = this.clock.setTimeout(() => {
        this.appliedWaiters = this.appliedWaiters.filter((x) => x !== w);
        resolve(false);
      }, timeoutMs);
      this.appliedWaiters.push(w);
    });
  }

  /** A peer could not be reached: Raft falls back to probing it. */
  reportUnreachable(id: string): void {
    this.unreachable.add(id);
    this.kick();
  }

  /** Proposes one membership change; resolves with its index once committed and applied here. Raft's refusals reject as they are (ConfChangeError). */
  proposeConfChange(cc: ConfChange): Promise<number> {
    if (this.fatal) return Promise.reject(unavailable(`member ${this.opts.memberId} has stopped: ${this.fatal.message}`));
    if (this.role !== 'leader') return Promise.reject(notLeader(this.opts.memberId, this.leaderHint()));
    return new Promise((resolve, reject) => {
      this.tasks.push(async () => {
        try {
          const { index, term } = this.raft.proposeConfChange(cc);
          this.confInFlight.set(index, { term, resolve, reject });
        } catch (err) {
          reject(err instanceof NotLeaderError ? notLeader(this.opts.memberId, this.leaderHint()) : err);
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
    return this.proposals.length + this.inFlight.size;
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
    return this.store.appliedIndex;
  }

  /** Writes proposed here and not yet answered. */
  get pendingProposals(): number {
    return this.proposals.length + this.inFlight.size;
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
    const pinned = this.applying.then(() => this.store.snapshotReader());
    this.applying = pinned.then(
      () => undefined,
      () => undefined,
    );
    return pinned;
  }

  leaderHint(): LeaderHint | undefined {
    if (!this.leader) return undefined;
    const m = this.members.get(this.leader);
    return m ? { id: m.id, address: this.clientAddress(m) } : undefined;
  }

  /** The address clients reach a member at (its member address unless peers have a port of their own). */
  clientAddress(m: MemberInfo): string {
    return this.opts.clientAddressOf?.(m.id) ?? m.address;
  }

  /** Milliseconds since this member last heard from a leader; 0 on the leader. */
  leaderContactAgeMs(now = this.clock.now()): number {
    if (this.role === 'leader') return 0;
    if (!this.lastLeaderContactMs) return Number.POSITIVE_INFINITY;
    return now - this.lastLeaderContactMs;
  }

  /** Records where a member is reachable (e.g. this node's own port once bound). */
  setMemberAddress(id: string, address: string): void {
    const m = this.members.get(id);
    if (m) this.members.set(id, { ...m, address });
  }

  /** The log index the member list reflects (Members answers it, so a joiner starts from there). */
  get membersIndex(): number {
    return this.membersAt;
  }

  memberList(): MemberInfo[] {
    return [...this.members.values()];
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
    const proposals = this.proposals.length > 0 && !this.holdingProposals();
    return this.tasks.length > 0 || this.snapshotReports.length > 0 || this.ticksDue > 0 || this.unreachable.size > 0 || this.inbox.length > 0 || proposals || this.readRoundDue();
  }

  private feedInputs(): void {
    for (; this.ticksDue > 0; this.ticksDue--) this.raft.tick();
    for (const id of this.unreachable) this.raft.reportUnreachable(id);
    this.unreachable.clear();
    for (const { to, ok } of this.snapshotReports.splice(0)) this.raft.reportSnapshot(to, ok);
    const inbox = this.inbox;
    this.inbox = [];
    for (const msg of inbox) {
      if (msg.from === this.leader && (msg.type === 'append' || msg.type === 'heartbeat' || msg.type === 'snapshot')) {
        this.lastLeaderContactMs = this.clock.now();
      }
      try {
        this.raft.step(msg);
      } catch (err) {
        // A stale or malformed peer message must not stop the node.
        this.emit('droppedMessage', msg, err as Error);
      }
    }
    if (this.proposals.length > 0 && !this.holdingProposals()) this.proposeBatch();
    if (this.readRoundDue()) this.requestReadIndex();
  }

  /**
   * Reads queued and no read-index round in flight. Reads that arrive while
   * a round is in flight cannot use it (its confirmation may predate them),
   * so they wait and share the next one: one leadership confirmation per
   * round trip however many reads arrive, as etcd batches them.
   */
  private readRoundDue(): boolean {
    return this.readRequests.length > 0 && this.readsByCtx.size === 0;
  }

  private proposeBatch(): void {
    const batch = this.proposals;
    this.proposals = [];
    try {
      const { firstIndex, term } = this.raft.propose(batch.map((p) => p.data));
      batch.forEach((p, i) => {
        this.inFlight.set(firstIndex + i, { term, resolve: p.resolve, reject: p.reject });
      });
    } catch (err) {
      const e = err instanceof NotLeaderError ? notLeader(this.opts.memberId, this.leaderHint()) : unavailable(String(err));
      for (const p of batch) p.reject(e);
    }
  }

  private requestReadIndex(): void {
    const waiters = this.readRequests;
    this.readRequests = [];
    if (this.leader === null) {
      const e = unavailable(`member ${this.opts.memberId} knows no leader; a linearizable read cannot be served now`);
      for (const w of waiters) w.reject(e);
      return;
    }
    const ctx = Buffer.from(`${this.opts.memberId}:${++this.readCounter}`);
    const key = ctx.toString('latin1');
    const timer = this.clock.setTimeout(() => {
      const entry = this.readsByCtx.get(key);
      if (!entry) return;
      this.readsByCtx.delete(key);
      const e = unavailable('the leader did not confirm the read index in time; retry', this.leaderHint());
      for (const w of entry.waiters) w.reject(e);
      this.kick(); // the reads queued behind this round start theirs
    }, this.opts.readIndexTimeoutMs);
    this.readsByCtx.set(key, { waiters, timer });
    this.raft.readIndex(ctx);
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState.role, rd.softState.leaderId, rd.softState.term);
    if (rd.snapshot) {
      await this.applying;
      await this.store.resetLog(encodeSnapshotMeta(rd.snapshot), rd.snapshot.index);
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
      await this.store.persist({ hardState: hs ?? this.lastHardState(), entries: rd.entries }, rd.mustSync);
      if (rd.mustSync) this.emit('persisted', (this.clock.monotonicNow() - startedMs) / 1000);
      if (hs) {
        this.durableTerm = hs.term;
        this.durableVote = hs.vote;
      }
    }
    if (rd.messagesAfterPersist.length > 0) this.send(rd.messagesAfterPersist);
    if (rd.committedEntries.length > 0) {
      const entries = rd.committedEntries;
      this.applying = this.applying.then(() => this.apply(entries)).catch((err: Error) => this.onFatal(err));
    }
    for (const rs of rd.readStates) this.onReadState(rs);
    for (const ctx of rd.readStatesFailed) this.onReadFailed(ctx);
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
    if (regular.length > 0) this.readback.send(regular);
  }

  /** Appends carrying entries evicted from memory are filled from the stored log on their way out. */
  private readonly readback = new LogReadback(
    { readLog: (lo, hi) => this.store.readLog(lo, hi) },
    (messages) => this.transport?.send(messages),
  );

  /** Pins the state now (no apply is in flight) and streams it to the follower in the background. */
  private startSnapshot(msg: SnapshotMsg): void {
    const transport = this.transport;
    if (!transport || this.snapshotsInFlight.has(msg.to)) return;
    this.snapshotsInFlight.add(msg.to);
    const report = (ok: boolean) => {
      this.emit('snapshotSent', ok);
      this.snapshotsInFlight.delete(msg.to);
      this.snapshotReports.push({ to: msg.to, ok });
      this.kick();
    };
    // Pinned on the apply chain, between two applies, so the state is exactly
    // the one at the store's applied index.
    this.applying = this.applying.then(() => {
      const reader = this.store.snapshotReader(this.opts.snapshotChunkBytes);
      transport.sendSnapshot(msg, reader, encodeMembers(this.members.values())).then(report, () => report(false));
    });
  }

  /**
   * Installs a leader's snapshot: the data goes into the store's spare
   * generation while this node keeps serving, then one loop task swaps it in
   * and steps the snapshot message so Raft restores its log from it.
   */
  async installSnapshot(incoming: IncomingSnapshot): Promise<boolean> {
    if (incoming.message.type !== 'snapshot') throw new TypeError('installSnapshot: not a snapshot message');
    const installer = await this.store.beginSnapshotInstall();
    try {
      for await (const chunk of incoming.chunks) await installer.write(chunk);
    } catch (err) {
      await installer.abort();
      throw err;
    }
    return new Promise<boolean>((resolve, reject) => {
      this.tasks.push(async () => {
        try {
          await this.applying;
          const installed = await installer.finish(incoming.appliedIndex, { members: incoming.members, [MEMBERS_INDEX_KEY]: encodeIndex(incoming.appliedIndex) });
          if (installed) {
            const before = this.members;
            this.members = new Map(decodeMembers(incoming.members).map((m) => [m.id, m]));
            this.membersAt = incoming.appliedIndex;
            for (const id of changedRecords(before, this.members)) this.emit('memberReset', id);
            this.emit('reset', this.store.appliedIndex);
            this.resolveAppliedWaiters(this.store.appliedIndex);
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

  private compactedTo = 0;

  private compactionDue(appliedIndex: number): boolean {
    return compactionDue(this.retention, appliedIndex, this.compactedTo, this.raft.logSizeBytes());
  }

  private get retention(): RetentionPolicy {
    const { logRetentionEntries, compactEveryEntries, logRetentionBytes, compactEveryBytes } = this.opts;
    return { logRetentionEntries, compactEveryEntries, logRetentionBytes, compactEveryBytes };
  }

  /** Keeps the in-memory and stored log bounded: applied entries beyond the retention are dropped. */
  private async compact(appliedIndex: number): Promise<void> {
    const { firstIndex, applied } = this.raft.status();
    // An installed snapshot's state can be ahead of what Raft has applied: never compact past Raft's own applied index.
    const upTo = Math.min(compactionPoint(this.retention, appliedIndex, (keep) => this.raft.compactionPointForBytes(keep)), applied);
    this.compactedTo = Math.max(this.compactedTo, firstIndex);
    if (upTo <= firstIndex || !this.compactionDue(appliedIndex)) return;
    const meta = this.raft.compact(upTo);
    await this.store.compactLog(upTo, encodeSnapshotMeta(meta));
    this.compactedTo = upTo;
  }

  private onSoftState(role: Role, leaderId: string | null, term: number): void {
    const changed = leaderId !== this.leader || term !== this.term;
    this.role = role;
    if (leaderId !== this.leader) this.lastLeaderContactMs = leaderId ? this.clock.now() : 0;
    this.leader = leaderId;
    this.term = term;
    if (role !== 'leader' && !(leaderId === null && this.holdingProposals())) {
      // Queued, not yet proposed: refuse now so the client follows the new leader.
      const e = notLeader(this.opts.memberId, this.leaderHint());
      for (const p of this.proposals.splice(0)) p.reject(e);
    }
    if (changed) {
      // A round asked of the old leader may never be answered: its reads
      // join the next round (a confirmation after a read arrived is as good).
      for (const [key, { waiters, timer }] of this.readsByCtx) {
        this.clock.clearTimeout(timer);
        this.readsByCtx.delete(key);
        this.readRequests.unshift(...waiters);
      }
      this.emit('leaderChange', { leaderId, term });
    }
  }

  private onReadState(rs: ReadState): void {
    const key = Buffer.from(rs.ctx).toString('latin1');
    const entry = this.readsByCtx.get(key);
    if (!entry) return;
    this.readsByCtx.delete(key);
    this.clock.clearTimeout(entry.timer);
    for (const w of entry.waiters) w.resolve(rs.index);
  }

  private onReadFailed(ctx: Uint8Array): void {
    const key = Buffer.from(ctx).toString('latin1');
    const entry = this.readsByCtx.get(key);
    if (!entry) return;
    this.readsByCtx.delete(key);
    this.clock.clearTimeout(entry.timer);
    const e = unavailable('this member could not confirm a read index (no leader, or leadership was lost); retry', this.leaderHint());
    for (const w of entry.waiters) w.reject(e);
  }

  private async apply(entries: Entry[]): Promise<void> {
    const startedMs = this.clock.monotonicNow();
    const meta: Record<string, Uint8Array> = {};
    let membersChanged = false;
    for (const e of entries) {
      // A joiner's list is newer than the log it replays: going through the
      // old changes again would take it back to earlier memberships (a
      // member removed then, an incarnation replaced since) and make it
      // refuse the members of today, the leader among them.
      if (e.type !== 'conf' || e.index <= this.store.appliedIndex || e.index <= this.membersAt) continue;
      this.applyConfChange(decodeConfChange(e.data));
      membersChanged = true;
    }
    this.membersAt = Math.max(this.membersAt, entries.at(-1)?.index ?? 0);
    if (membersChanged) meta['members'] = encodeMembers(this.members.values());
    const { results, appliedIndex, changes, leases } = await this.store.apply(entries, meta);
    this.emit('changes', changes, appliedIndex, leases);
    for (const e of entries) {
      const w = this.inFlight.get(e.index);
      if (!w) continue;
      this.inFlight.delete(e.index);
      const result = results.get(e.index);
      if (w.term === e.term && result) w.resolve(result);
      else w.reject(unavailable('leadership changed before the write committed; it was not applied — retry', this.leaderHint()));
    }
    for (const e of entries) {
      const c = this.confInFlight.get(e.index);
      if (!c) continue;
      this.confInFlight.delete(e.index);
      if (c.term === e.term && e.type === 'conf') c.resolve(e.index);
      else c.reject(unavailable('leadership changed before the membership change committed; it was not applied — retry', this.leaderHint()));
    }
    this.resolveAppliedWaiters(appliedIndex);
    this.emit('applied', appliedIndex, (this.clock.monotonicNow() - startedMs) / 1000);
    if (this.compactionDue(appliedIndex)) {
      // Raft's log is only touched from the loop, between Readies.
      this.tasks.push(() => this.compact(appliedIndex));
      this.kick();
    }
  }

  private resolveAppliedWaiters(appliedIndex: number): void {
    if (this.appliedWaiters.length === 0) return;
    const ready = this.appliedWaiters.filter((w) => w.index <= appliedIndex);
    this.appliedWaiters = this.appliedWaiters.filter((w) => w.index > appliedIndex);
    for (const w of ready) w.resolve();
  }

  private applyConfChange(cc: ConfChange): void {
    if (cc.kind === 'memberMetadata') {
      recordIncarnations(this.members, decodeIncarnations(cc.context));
      return;
    }
    const address = cc.context ? Buffer.from(cc.context).toString('utf8') : this.members.get(cc.nodeId)?.address ?? '';
    switch (cc.kind) {
      case 'addVoter':
        this.members.set(cc.nodeId, { id: cc.nodeId, address, voter: true, incarnation: '' });
        break;
      case 'promoteLearner':
        this.members.set(cc.nodeId, { incarnation: '', ...this.members.get(cc.nodeId), id: cc.nodeId, address, voter: true });
        break;
      case 'addLearner':
        this.members.set(cc.nodeId, { id: cc.nodeId, address, voter: false, incarnation: '' });
        break;
      case 'removeNode':
        this.members.delete(cc.nodeId);
        break;
    }
    if (cc.kind !== 'promoteLearner') this.emit('memberReset', cc.nodeId);
  }

  private failAll(e: Error): void {
    for (const p of this.proposals.splice(0)) p.reject(e);
    for (const w of this.inFlight.values()) w.reject(e);
    this.inFlight.clear();
    for (const c of this.confInFlight.values()) c.reject(e);
    this.confInFlight.clear();
    for (const r of this.readRequests.splice(0)) r.reject(e);
    for (const { waiters, timer } of this.readsByCtx.values()) {
      this.clock.clearTimeout(timer);
      for (const w of waiters) w.reject(e);
    }
    this.readsByCtx.clear();
  }
}

/** Wraps a user command for the log (kept here so services never touch the encoding). */
export type { Command };
