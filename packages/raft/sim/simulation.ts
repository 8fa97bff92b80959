import {
  ConfChangeError,
  type ConfChange,
  type Message,
  type Entry,
  type HardState,
  NotLeaderError,
  type RaftConfig,
  RawNode,
  type Ready,
  type SnapshotMeta,
  decodeConfChange,
} from '../src/index.js';
import { BUGS, type BugName } from './bugs.js';
import { CommittedChecker, type DiskView } from './checkers/committed.js';
import { ElectionSafetyChecker } from './checkers/election-safety.js';
import { LeaderCompletenessChecker } from './checkers/leader-completeness.js';
import { LinearizableReadChecker } from './checkers/linearizable-reads.js';
import { LogMatchingChecker } from './checkers/log-matching.js';
import { Violation } from './checkers/violation.js';
import { FAULT_KINDS, type FaultKind, type FaultPlan, planFaults } from './faults.js';
import { Network } from './network.js';
import { Rng } from '../src/rng.js';

/**
 * A whole cluster in one process: raft nodes, their disks and state machines,
 * a faulty network and a random workload, all driven by one seed. The same
 * seed and options replay the same run exactly.
 */

export interface SimOptions {
  seed: number;
  nodes: number;
  /** Fault kinds this run may use (a random subset per seed is enabled). */
  faults?: readonly FaultKind[];
  /** Ticks of faults and workload before the network heals. */
  chaosTicks?: number;
  /** After healing, a leader must commit a fresh proposal within this many ticks. */
  livenessTicksMax?: number;
  bug?: BugName;
  /** Keep a log of events and include its tail in the result. */
  trace?: boolean;
}

export interface SimStats {
  ticks: number;
  messagesDelivered: number;
  messagesDropped: number;
  terms: number;
  proposalsAcked: number;
  readsServed: number;
  crashes: number;
  confChanges: number;
  /** Membership changes proposed while the network was partitioned. */
  confChangesPartitioned: number;
  snapshotsInstalled: number;
  transfers: number;
  compactions: number;
  recoveryTicks: number;
}

export interface SimResult {
  seed: number;
  nodes: number;
  ok: boolean;
  violation?: string;
  checker?: string;
  stats: SimStats;
  setup: string;
  trace?: string[];
}

interface Disk {
  hardState: HardState;
  snapshot: SnapshotMeta | undefined;
  snapData: ReadonlySet<number>;
  entries: Entry[];
  applied: number;
  /** The state machine: ids of applied proposals. Updated atomically with `applied`. */
  sm: Set<number>;
}

interface SimNode {
  id: string;
  raft: RawNode | undefined;
  disk: Disk;
  rng: Rng;
  bootstrap: boolean;
  retired: boolean;
  downUntil: number;
  /** Snapshot data received but not yet installed, by snapshot index (lost on crash). */
  staged: Map<number, ReadonlySet<number>>;
  /** Proposals made on this node, by log index, waiting to be acknowledged. */
  proposals: Map<number, { pid: number; term: number }>;
  /** Read states waiting for the state machine to catch up. */
  reads: Array<{ index: number; ctx: string }>;
  seenCommit: number;
  /** A Ready whose write is on its way to disk: its early messages are out, the rest waits for `doneAt`. */
  writing: { rd: Ready; doneAt: number; failedSnapshots: string[] } | undefined;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function encodeProposal(pid: number, padBytes: number): Uint8Array {
  const out = new Uint8Array(4 + padBytes);
  new DataView(out.buffer).setUint32(0, pid);
  return out;
}

function decodeProposal(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
}

export class Simulation {
  readonly rng: Rng;
  /** Disk latency draws, on a stream of their own so they do not reshuffle the workload. */
  private readonly diskRng: Rng;
  /** Writes take 0..persistTicksMax ticks; 0 means every Ready is durable at once. */
  readonly persistTicksMax: number;
  readonly net: Network;
  readonly plan: FaultPlan;
  readonly enabledFaults: FaultKind[];
  readonly raftOpts: Omit<RaftConfig, 'id' | 'random' | 'initial'>;
  readonly nodes = new Map<string, SimNode>();
  private readonly factory: (c: RaftConfig) => RawNode;
  now = 0;
  private seq = 0;
  private nextPid = 1;
  private nextSpare: number;
  private readonly maxExtraNodes = 2;
  private readonly traceLog: string[] | undefined;

  readonly electionSafety = new ElectionSafetyChecker();
  readonly logMatching = new LogMatchingChecker();
  readonly committed = new CommittedChecker();
  readonly completeness = new LeaderCompletenessChecker(this.committed);
  readonly reads = new LinearizableReadChecker();

  readonly stats: SimStats = {
    ticks: 0,
    messagesDelivered: 0,
    messagesDropped: 0,
    terms: 0,
    proposalsAcked: 0,
    readsServed: 0,
    crashes: 0,
    confChanges: 0,
    confChangesPartitioned: 0,
    snapshotsInstalled: 0,
    transfers: 0,
    compactions: 0,
    recoveryTicks: 0,
  };

  constructor(readonly opts: SimOptions) {
    this.rng = new Rng(opts.seed);
    this.diskRng = new Rng((opts.seed ^ 0x5bd1e995) >>> 0);
    this.persistTicksMax = this.diskRng.chance(0.6) ? this.diskRng.int(1, 4) : 0;
    const { plan, enabled } = planFaults(this.rng.fork(), opts.faults ?? FAULT_KINDS);
    this.plan = plan;
    this.enabledFaults = enabled;
    this.net = new Network(this.rng.fork(), plan);
    const r = this.rng.fork();
    const electionTimeoutTicks = r.int(8, 14);
    this.raftOpts = {
      electionTimeoutTicks,
      heartbeatTicks: r.int(1, 3),
      preVote: r.chance(0.7),
      checkQuorum: r.chance(0.7),
      maxInflightMsgs: r.pick([1, 2, 4, 16]),
      maxSizePerMsgBytes: r.pick([64, 256, 4096]),
      checkQuorumTicks: electionTimeoutTicks * r.pick([1, 1, 2, 5]),
    };
    this.factory = opts.bug ? BUGS[opts.bug] : (c) => new RawNode(c);
    if (opts.trace) this.traceLog = [];
    const ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    this.nextSpare = opts.nodes + 1;
    for (const id of ids) this.addNode(id, true);
    for (const id of ids) this.start(this.nodes.get(id)!, { voters: ids, learners: [] });
  }

  get setup(): string {
    const o = this.raftOpts;
    return (
      `nodes=${this.opts.nodes} faults=[${this.enabledFaults.join(',')}] election=${o.electionTimeoutTicks} heartbeat=${o.heartbeatTicks} ` +
      `preVote=${o.preVote} checkQuorum=${o.checkQuorum}/${o.checkQuorumTicks} inflight=${o.maxInflightMsgs} msgBytes=${o.maxSizePerMsgBytes} persistTicks=${this.persistTicksMax}` +
      (this.opts.bug ? ` bug=${this.opts.bug}` : '')
    );
  }

  private trace(s: string): void {
    if (this.traceLog) {
      this.traceLog.push(`t${this.now} ${s}`);
      if (this.traceLog.length > 400) this.traceLog.splice(0, 100);
    }
  }

  private addNode(id: string, bootstrap: boolean): SimNode {
    const n: SimNode = {
      id,
      raft: undefined,
      disk: {
        hardState: { term: 0, vote: null, commit: 0 },
        snapshot: undefined,
        snapData: new Set(),
        entries: [],
        applied: 0,
        sm: new Set(),
      },
      rng: this.rng.fork(),
      bootstrap,
      retired: false,
      downUntil: 0,
      staged: new Map(),
      proposals: new Map(),
      reads: [],
      seenCommit: 0,
      writing: undefined,
    };
    this.nodes.set(id, n);
    return n;
  }

  /** Starts (or restarts) a node from its disk. */
  private start(n: SimNode, bootstrapConfig?: { voters: string[]; learners: string[] }): void {
    const d = n.disk;
    const cfg: RaftConfig = {
      ...this.raftOpts,
      id: n.id,
      random: () => n.rng.next(),
      initial: {
        hardState: d.hardState,
        config: bootstrapConfig ?? { voters: [], learners: [] },
        entries: [...d.entries],
        applied: d.applied,
        ...(d.snapshot ? { snapshot: d.snapshot } : {}),
      },
    };
    n.raft = this.factory(cfg);
    n.seenCommit = n.raft.log.committed;
    n.downUntil = 0;
    this.trace(`${n.id} start term=${d.hardState.term} commit=${d.hardState.commit} last=${n.raft.log.lastIndex()}`);
  }

  private crash(n: SimNode, downTicks: number): void {
    n.raft = undefined;
    // A write still on its way to disk is lost with the process.
    n.writing = undefined;
    n.staged.clear();
    n.proposals.clear();
    n.reads = [];
    n.downUntil = this.now + downTicks;
    this.stats.crashes++;
    this.trace(`${n.id} crash for ${downTicks}`);
  }

  private up(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.raft !== undefined) out.push(n);
    return out;
  }

  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      const st = n.raft?.softState();
      if (st?.role === 'leader' && (best === undefined || st.term > best.raft!.softState().term)) best = n;
    }
    return best;
  }

  // ------------------------------------------------------------ ready processing

  /**
   * Drives a node's Readies like an asynchronous driver: the early messages
   * leave at once, the write takes 0..persistTicksMax ticks (during which the
   * node keeps stepping messages and ticking), and only then do the
   * after-persist messages leave and the committed entries apply. A crash
   * inside that window loses the write: the after-persist rule must make that
   * harmless.
   */
  private processReady(n: SimNode): void {
    const r = n.raft;
    if (r === undefined) return;
    for (;;) {
      if (n.writing !== undefined) {
        if (n.writing.doneAt > this.now) break;
        this.finishWrite(n, r, n.writing.rd, n.writing.failedSnapshots);
        n.writing = undefined;
        continue;
      }
      if (!r.hasReady()) break;
      const rd = r.ready();
      if (rd.softState) {
        this.trace(`${n.id} ${rd.softState.role} term=${rd.softState.term} leader=${rd.softState.leaderId}`);
        if (rd.softState.role === 'leader') {
          this.electionSafety.onLeader(rd.softState.term, n.id);
          this.completeness.check(n.id, rd.softState.term, r.log);
        }
      }
      const failedSnapshots = this.sendAll(n, rd.messages);
      const writes = rd.entries.length > 0 || rd.hardState !== undefined || rd.snapshot !== undefined;
      // The founders' bootstrap entries are committed by fiat, identically everywhere: written at once.
      const latency = writes && this.now > 0 && this.persistTicksMax > 0 ? this.diskRng.int(0, this.persistTicksMax) : 0;
      n.writing = { rd, doneAt: this.now + latency, failedSnapshots };
    }
    this.serveReads(n);
  }

  private sendAll(n: SimNode, messages: Message[]): string[] {
    const d = n.disk;
    const failedSnapshots: string[] = [];
    for (const m of messages) {
      let data: ReadonlySet<number> | undefined;
      if (m.type === 'snapshot') {
        if (d.snapshot?.index !== m.snapshot.index) throw new Error(`harness: ${n.id} sends snapshot ${m.snapshot.index} but disk has ${d.snapshot?.index}`);
        data = d.snapData;
      }
      if (!this.net.send(m, this.now, data) && m.type === 'snapshot') failedSnapshots.push(m.to);
    }
    return failedSnapshots;
  }

  /** The Ready's write reached disk: persist, send what waited for it, apply, advance. */
  private finishWrite(n: SimNode, r: RawNode, rd: Ready, failedSnapshots: string[]): void {
    const d = n.disk;
    if (rd.snapshot) {
      const s = rd.snapshot;
      const staged = n.staged.get(s.index);
      if (staged === undefined) throw new Error(`harness: ${n.id} has no staged data for snapshot ${s.index}`);
      this.committed.onSnapshotInstalled(n.id, s.index, s.term);
      d.snapshot = s;
      d.snapData = staged;
      d.sm = new Set(staged);
      d.applied = s.index;
      d.entries = [];
      for (const k of [...n.staged.keys()]) if (k <= s.index) n.staged.delete(k);
      this.stats.snapshotsInstalled++;
      this.trace(`${n.id} installed snapshot ${s.index}/${s.term}`);
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      const base = d.snapshot?.index ?? 0;
      if (first <= base || first > base + d.entries.length + 1) throw new Error(`harness: ${n.id} bad append at ${first}`);
      const prevTerm = first - 1 === base ? (d.snapshot?.term ?? 0) : d.entries[first - base - 2]!.term;
      this.logMatching.onPersist(n.id, rd.entries, prevTerm);
      d.entries.length = first - base - 1;
      for (const e of rd.entries) d.entries.push(e);
    }
    if (rd.hardState) d.hardState = rd.hardState;
    this.recordCommits(n);
    failedSnapshots.push(...this.sendAll(n, rd.messagesAfterPersist));
    for (const e of rd.committedEntries) this.apply(n, e);
    for (const rs of rd.readStates) n.reads.push({ index: rs.index, ctx: textDecoder.decode(rs.ctx) });
    r.advance(rd);
    for (const to of failedSnapshots) r.reportSnapshot(to, false);
  }

  private recordCommits(n: SimNode): void {
    const log = n.raft!.log;
    const term = n.raft!.softState().term;
    const prevMax = this.committed.maxCommitted;
    for (let i = Math.max(n.seenCommit, log.snapshot.index) + 1; i <= log.committed; i++) {
      this.committed.onCommitted(n.id, log.entry(i)!, 'committed', term);
    }
    n.seenCommit = Math.max(n.seenCommit, log.committed);
    if (this.committed.maxCommitted > prevMax) {
      for (const m of this.nodes.values()) {
        const st = m.raft?.softState();
        if (st?.role === 'leader') this.completeness.check(m.id, st.term, m.raft!.log, prevMax + 1);
      }
    }
  }

  private apply(n: SimNode, e: Entry): void {
    this.committed.onCommitted(n.id, e, 'applied', n.raft!.softState().term);
    const d = n.disk;
    if (e.index !== d.applied + 1) throw new Error(`harness: ${n.id} applies ${e.index} after ${d.applied}`);
    d.applied = e.index;
    if (e.type === 'normal') {
      const pid = decodeProposal(e.data);
      d.sm.add(pid);
      const p = n.proposals.get(e.index);
      if (p !== undefined) {
        n.proposals.delete(e.index);
        if (p.pid === pid && p.term === e.term) {
          this.reads.onAck(pid, this.seq++);
          this.stats.proposalsAcked++;
        }
      }
    } else if (e.type === 'conf') {
      const cc = decodeConfChange(e.data);
      this.trace(`${n.id} applied conf ${e.index} ${cc.kind} ${cc.nodeId}`);
    }
  }

  private serveReads(n: SimNode): void {
    if (n.reads.length === 0) return;
    const keep: SimNode['reads'] = [];
    for (const rd of n.reads) {
      if (n.disk.applied >= rd.index) {
        const sm = n.disk.sm;
        this.reads.onServe(n.id, rd.ctx, rd.index, (pid) => sm.has(pid));
        this.stats.readsServed++;
      } else keep.push(rd);
    }
    n.reads = keep;
  }

  // ------------------------------------------------------------ the loop

  private deliver(): void {
    for (const f of this.net.due(this.now)) {
      const to = this.nodes.get(f.msg.to);
      const r = to?.raft;
      if (to === undefined || r === undefined) {
        // Lost: the destination is down. A sender streaming a snapshot learns it failed.
        if (f.msg.type === 'snapshot') this.nodes.get(f.msg.from)?.raft?.reportSnapshot(f.msg.to, false);
        continue;
      }
      if (f.msg.type === 'snapshot' && f.snapshotData) {
        // The node layer receives the data into staging, then steps the message.
        to.staged.set(f.msg.snapshot.index, f.snapshotData);
      }
      this.stats.messagesDelivered++;
      r.step(f.msg);
      if (f.msg.type === 'snapshot') this.nodes.get(f.msg.from)?.raft?.reportSnapshot(f.msg.to, true);
    }
  }

  private workload(): void {
    const up = this.up();
    if (up.length === 0) return;
    const rng = this.rng;
    if (rng.chance(0.35)) {
      // Mostly to the leader (as clients that track it would); sometimes anywhere.
      const n = rng.chance(0.8) ? (this.leader() ?? rng.pick(up)) : rng.pick(up);
      const count = rng.int(1, 3);
      const pids = Array.from({ length: count }, () => this.nextPid++);
      try {
        const res = n.raft!.propose(pids.map((p) => encodeProposal(p, rng.int(0, 40))));
        pids.forEach((pid, i) => {
          n.proposals.set(res.firstIndex + i, { pid, term: res.term });
        });
      } catch (e) {
        if (!(e instanceof NotLeaderError)) throw e;
      }
    }
    if (rng.chance(0.12)) {
      const n = rng.pick(up);
      const ctx = `r${this.seq}`;
      this.reads.onReadStart(ctx, this.seq++);
      n.raft!.readIndex(textEncoder.encode(ctx));
    }
    if (rng.chance(0.01)) {
      const n = rng.pick(up);
      const voters = n.raft!.status().config.voters;
      if (voters.length > 0) {
        try {
          n.raft!.transferLeadership(rng.pick(voters));
          this.stats.transfers++;
        } catch (e) {
          if (!(e instanceof NotLeaderError)) throw e;
        }
      }
    }
    if (rng.chance(0.015)) this.membershipChange();
    if (rng.chance(0.03)) {
      const n = rng.pick(up);
      const d = n.disk;
      // A snapshot received from the leader but not yet written is already Raft's compaction
      // point: compacting below it would return its meta, not a point of this disk's state.
      if (n.writing === undefined && d.applied > n.raft!.log.snapshot.index && d.applied - (d.snapshot?.index ?? 0) >= 4) {
        const base = d.snapshot?.index ?? 0;
        const meta = n.raft!.compact(d.applied);
        d.snapshot = meta;
        d.snapData = new Set(d.sm);
        d.entries = d.entries.slice(meta.index - base);
        if (d.entries.length > 0 && d.entries[0]!.index !== meta.index + 1) throw new Error('harness: compaction mismatch');
        this.stats.compactions++;
      }
    }
  }

  private membershipChange(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const r = leader.raft!;
    const cfg = r.status().config;
    const options: ConfChange[] = [];
    if (this.nextSpare <= this.opts.nodes + this.maxExtraNodes) options.push({ kind: 'addLearner', nodeId: `n${this.nextSpare}` });
    for (const l of cfg.learners) options.push({ kind: 'promoteLearner', nodeId: l }, { kind: 'removeNode', nodeId: l });
    if (cfg.voters.length > 3) for (const v of cfg.voters) if (v !== leader.id) options.push({ kind: 'removeNode', nodeId: v });
    if (options.length === 0) return;
    const cc = this.rng.pick(options);
    try {
      r.proposeConfChange({ ...cc, context: textEncoder.encode(`addr-of-${cc.nodeId}`) });
    } catch (e) {
      if (e instanceof ConfChangeError || e instanceof NotLeaderError) return;
      throw e;
    }
    this.stats.confChanges++;
    if (this.net.shape.kind !== 'none') this.stats.confChangesPartitioned++;
    this.trace(`${leader.id} proposes ${cc.kind} ${cc.nodeId}`);
    if (cc.kind === 'addLearner') {
      this.nextSpare++;
      const n = this.addNode(cc.nodeId, false);
      this.start(n);
    }
  }

  private faults(): void {
    const plan = this.plan;
    if (plan.partitionKinds.length > 0 && this.rng.chance(plan.partitionChangeProbability)) {
      const members = [...this.nodes.values()].filter((n) => !n.retired).map((n) => n.id);
      this.net.repartition(plan.partitionKinds, members, this.leader()?.id);
      this.trace(`partition ${JSON.stringify(this.net.shape, (_k, v) => (v instanceof Set ? [...v] : v))}`);
    }
    if (this.rng.chance(plan.crashProbability)) {
      const up = this.up();
      if (up.length > 0) this.crash(this.rng.pick(up), this.rng.int(1, plan.downTicksMax));
    }
  }

  private restarts(): void {
    for (const n of this.nodes.values()) {
      if (n.raft === undefined && !n.retired && n.downUntil <= this.now) this.start(n);
    }
  }

  /** Nodes whose removal is committed are shut down for good (their disks stay for the checkers). */
  private retire(): void {
    for (const n of this.nodes.values()) {
      if (!n.retired && this.committed.isRemoved(n.id)) {
        n.retired = true;
        if (n.raft) this.crash(n, Number.MAX_SAFE_INTEGER);
        this.trace(`${n.id} retired`);
      }
    }
  }

  private tickAll(): void {
    for (const n of this.nodes.values()) {
      // A little clock skew so nodes do not move in lockstep.
      if (n.raft !== undefined && !n.rng.chance(0.03)) n.raft.tick();
    }
  }

  private processAll(): void {
    for (const n of this.nodes.values()) this.processReady(n);
  }

  private diskViews(): Map<string, DiskView> {
    const out = new Map<string, DiskView>();
    for (const n of this.nodes.values()) {
      const d = n.disk;
      const base = d.snapshot?.index ?? 0;
      out.set(n.id, { snapshotIndex: base, termAt: (i) => d.entries[i - base - 1]?.term });
    }
    return out;
  }

  /** One tick of simulated time. */
  step(chaos: boolean): void {
    this.now++;
    this.stats.ticks++;
    this.restarts();
    this.deliver();
    // A crash here loses what the delivered messages changed but was not yet persisted.
    if (chaos) this.faults();
    if (chaos) this.workload();
    this.tickAll();
    this.processAll();
    this.retire();
    this.committed.checkRetained(this.diskViews());
  }

  /** Runs the chaos phase, heals, and checks that the cluster recovers. */
  run(): SimResult {
    const chaosTicks = this.opts.chaosTicks ?? 300;
    let livenessMax = this.opts.livenessTicksMax ?? 60 * this.raftOpts.electionTimeoutTicks;
    try {
      this.processAll();
      for (let t = 0; t < chaosTicks; t++) this.step(true);
      this.net.heal();
      if (this.opts.livenessTicksMax === undefined) {
        // Small message budgets with a window of 1 can leave a long backlog that
        // drains at about one entry per round trip: allow for it, still bounded.
        let backlog = 0;
        // Count crashed nodes too (from their disks): one of them may lead next.
        for (const n of this.nodes.values()) {
          const diskLast = (n.disk.snapshot?.index ?? 0) + n.disk.entries.length;
          const last = Math.max(diskLast, n.raft?.log.lastIndex() ?? 0);
          backlog = Math.max(backlog, last - this.committed.maxCommitted);
        }
        livenessMax += backlog * (2 * this.plan.delayTicksMax + this.raftOpts.heartbeatTicks + 2);
      }
      let probe: { node: string; index: number; term: number; pid: number } | undefined;
      const ackedBefore = this.stats.proposalsAcked;
      let recovered = false;
      for (let t = 0; t < livenessMax; t++) {
        this.step(false);
        const leader = this.leader();
        if (probe !== undefined && this.nodes.get(probe.node)!.disk.applied >= probe.index) {
          const rec = this.committed.record(probe.index);
          if (rec && rec.term === probe.term && this.stats.proposalsAcked > ackedBefore) {
            recovered = true;
            this.stats.recoveryTicks = t + 1;
            break;
          }
          probe = undefined;
        }
        if (leader && (probe === undefined || probe.node !== leader.id || probe.term !== leader.raft!.softState().term)) {
          const pid = this.nextPid++;
          try {
            const res = leader.raft!.propose([encodeProposal(pid, 0)]);
            leader.proposals.set(res.firstIndex, { pid, term: res.term });
            probe = { node: leader.id, index: res.firstIndex, term: res.term, pid };
            this.processReady(leader);
          } catch (e) {
            if (!(e instanceof NotLeaderError)) throw e;
          }
        }
      }
      this.committed.checkRetained(this.diskViews());
      if (!recovered)
        throw new Violation(
          'liveness',
          `no proposal committed within ${livenessMax} ticks after healing (leader: ${this.leader()?.id ?? 'none'}; ${JSON.stringify(this.leader()?.raft?.status())})`,
        );
      return this.result(true);
    } catch (e) {
      const res = this.result(false);
      if (e instanceof Violation) {
        res.violation = e.message;
        res.checker = e.checker;
      } else {
        res.violation = `[raft-assertion] ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
        res.checker = 'raft-assertion';
      }
      return res;
    }
  }

  private result(ok: boolean): SimResult {
    this.stats.messagesDropped = this.net.dropped;
    this.stats.terms = this.electionSafety.termsWithLeader;
    const r: SimResult = { seed: this.opts.seed, nodes: this.opts.nodes, ok, stats: this.stats, setup: this.setup };
    if (this.traceLog) r.trace = [...this.traceLog];
    return r;
  }
}

export function runSeed(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}
