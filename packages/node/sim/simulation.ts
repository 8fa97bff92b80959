import { type ConfChange, Rng } from '@bellwether/raft';
import type { NodeBugName } from './bugs';
import { checkClientWrites, checkStatesAgree, Violation } from './checkers';
import { SimClient } from './clients';
import { type SimMember, SimCluster } from './cluster';
import type { CrashKind } from './disk';
import { type FaultKind, type FaultPlan, planFaults, plannedFaults, withFaultsOff } from './fault-plan';
import { SimNetwork } from './network';
import { VirtualClock } from './virtual-clock';

/**
 * The whole node under deterministic simulation: real Replicas over real
 * Stores on memory-level, a virtual clock, a faulty simulated network, crashes
 * and restarts, and clients retrying (client_id, sequence) writes. One seed
 * drives every choice, so a seed replays exactly.
 */

export interface NodeSimOptions {
  seed: number;
  nodes: number;
  bug?: NodeBugName;
  /** Virtual milliseconds of faults and load before the network heals (default 3000). */
  chaosMs?: number;
  /** After healing, every client must finish its write and every member catch up within this (default 20000). */
  settleMs?: number;
  /** Keep the trace for a passing run too. */
  trace?: boolean;
  /** Fault kinds that never happen in this run (to shrink a failing seed; the run then differs from the seed's own). */
  faultsOff?: FaultKind[];
}

export interface NodeSimStats {
  virtualMs: number;
  events: number;
  acked: number;
  attempts: number;
  readsServed: number;
  crashes: number;
  powerFailures: number;
  partitions: number;
  transfers: number;
  /** Membership changes proposed (add learner, promote, remove) and how many were applied. */
  membershipChanges: number;
  membershipChangesApplied: number;
  /** Crashes in the middle of a snapshot install. */
  installCrashes: number;
  /** Members stopped by a failed write (simulated ENOSPC) and restarted. */
  storageFailures: number;
  messagesDelivered: number;
  messagesDropped: number;
  /** Writes a power loss took back (unsynced when the machine went down). */
  writesLost: number;
  snapshotsInstalled: number;
  stateComparisons: number;
}

export interface NodeSimResult {
  seed: number;
  nodes: number;
  ok: boolean;
  violation?: string;
  checker?: string;
  setup: string;
  /** The fault kinds this run could produce. */
  faults: FaultKind[];
  stats: NodeSimStats;
  /** Every event, ending with the violation (always on failure). */
  trace?: string[];
}

const CHAOS_STEP_MS = 50;
const CLIENTS = 3;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class NodeSimulation {
  private readonly rng: Rng;
  private readonly clock = new VirtualClock();
  private readonly plan: FaultPlan;
  private readonly net: SimNetwork;
  private readonly cluster: SimCluster;
  private readonly clients: SimClient[] = [];
  private readonly traceLog: string[] = [];
  private failure: unknown;
  private chaos = true;
  /** Compare the members' states before the next timer fires (no crash can interleave). */
  private checkDue = false;
  readonly stats: NodeSimStats = {
    virtualMs: 0,
    events: 0,
    acked: 0,
    attempts: 0,
    readsServed: 0,
    crashes: 0,
    powerFailures: 0,
    partitions: 0,
    transfers: 0,
    membershipChanges: 0,
    membershipChangesApplied: 0,
    installCrashes: 0,
    storageFailures: 0,
    messagesDelivered: 0,
    messagesDropped: 0,
    writesLost: 0,
    snapshotsInstalled: 0,
    stateComparisons: 0,
  };

  constructor(private readonly opts: NodeSimOptions) {
    this.rng = new Rng(opts.seed);
    this.plan = withFaultsOff(planFaults(this.rng.fork()), opts.faultsOff ?? []);
    const ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    this.net = new SimNetwork(this.clock, this.rng.fork(), this.plan, (id) => this.cluster.replica(id));
    this.cluster = new SimCluster(
      ids,
      this.clock,
      this.rng.fork(),
      this.net,
      opts.bug,
      (line) => this.trace(line),
      (id, err) => this.fail(new Violation('raft-assertion', `${id}: ${err.message}`)),
      (m) => {
        this.trace(`${m.id} stopped: disk full`);
        this.crashFor(m, 'process', this.rng.int(50, 500));
      },
      (m) => this.crashFor(m, this.rng.chance(0.5) ? 'power' : 'process', this.rng.int(50, 500)),
    );
    if (opts.faultsOff?.includes('disk')) this.cluster.diskFaults = false;
    const clientRng = this.rng.fork();
    const records = () => this.clients.map((c) => c.record);
    for (let i = 1; i <= CLIENTS; i++) this.clients.push(new SimClient(`c${i}`, this.cluster, this.clock, clientRng.fork(), (line) => this.trace(line), records));
  }

  get setup(): string {
    const p = this.plan;
    return `nodes=${this.opts.nodes} drop=${p.dropProbability} dup=${p.duplicateProbability} delay=${p.delayMsMin}..${p.delayMsMax}ms partitions=${p.partitionProbability} crashes=${p.crashProbability} power=${p.powerFailureProbability} transfers=${p.transferProbability} membership=${p.membershipProbability}${this.opts.bug ? ` bug=${this.opts.bug}` : ''}${this.opts.faultsOff?.length ? ` off=${this.opts.faultsOff}` : ''}${this.opts.chaosMs !== undefined ? ` chaos=${this.opts.chaosMs}ms` : ''}`;
  }

  get faults(): FaultKind[] {
    const disk = !this.opts.faultsOff?.includes('disk') && (this.cluster.fullDiskProbability > 0 || this.cluster.installCrashProbability > 0);
    return [...plannedFaults(this.plan), ...(disk ? (['disk'] as const) : [])];
  }

  private trace(line: string): void {
    this.traceLog.push(`${String(this.clock.elapsed).padStart(6)}ms ${line}`);
  }

  private fail(err: unknown): void {
    if (this.failure === undefined) this.failure = err;
  }

  /** Runs `fn` in the background; an error in it ends the run as a failure. */
  private spawn(p: Promise<unknown>): void {
    p.catch((err: unknown) => this.fail(err));
  }

  /** Fires timers in virtual-time order up to `until`, letting the promises each one starts settle before the next. */
  private async runUntil(until: number, done?: () => boolean): Promise<boolean> {
    while (this.failure === undefined) {
      // Let the promises the last timer started settle (they may set new timers) before time moves on.
      await tick();
      await tick();
      if (this.checkDue) {
        this.checkDue = false;
        await this.compareStates().catch((err: unknown) => this.fail(err));
      }
      if (done?.()) return true;
      if (!this.clock.fireNext(until)) return done?.() ?? false;
      this.stats.events++;
    }
    return false;
  }

  private chaosStep(): void {
    if (!this.chaos) return;
    const rng = this.rng;
    const ids = [...this.cluster.members.keys()];
    if (rng.chance(this.plan.partitionProbability)) {
      const kind = rng.int(0, 3);
      if (kind === 0) {
        this.net.heal();
        this.trace('network healed');
      } else if (kind === 1) {
        const leader = this.cluster.up().find((m) => m.replica?.isLeader)?.id ?? rng.pick(ids);
        this.net.partition([[leader], ids.filter((id) => id !== leader)]);
        this.trace(`leader ${leader} isolated`);
      } else if (kind === 2) {
        const shuffled = rng.shuffle([...ids]);
        const cut = rng.int(1, ids.length - 1);
        this.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
        this.trace(`partition [${shuffled.slice(0, cut)}] | [${shuffled.slice(cut)}]`);
      } else {
        const from = rng.pick(ids);
        const to = rng.pick(ids.filter((id) => id !== from));
        this.net.cutOneWay(from, to);
        this.trace(`link ${from} -> ${to} cut`);
      }
      this.stats.partitions++;
    }
    if (rng.chance(this.plan.transferProbability)) {
      const leader = this.cluster.up().find((m) => m.replica?.isLeader);
      const to = rng.pick(ids);
      if (leader !== undefined && to !== leader.id) {
        this.stats.transfers++;
        this.trace(`transfer leadership ${leader.id} -> ${to}`);
        leader.replica!.transferLeadership(to);
      }
    }
    if (rng.chance(this.plan.membershipProbability)) this.changeMembership();
    if (rng.chance(this.plan.powerFailureProbability)) {
      this.stats.powerFailures++;
      this.trace('power failure: every member crashes');
      for (const m of this.cluster.members.values()) this.crashFor(m, 'power', rng.int(50, 500));
    } else if (rng.chance(this.plan.crashProbability)) {
      const up = this.cluster.up();
      if (up.length > 0) this.crashFor(rng.pick(up), rng.chance(0.5) ? 'power' : 'process', rng.int(50, 1500));
    }
  }

  private crashFor(m: SimMember, kind: CrashKind, downMs: number): void {
    if (m.down) return;
    this.stats.crashes++;
    this.cluster.crash(m, kind);
    this.clock.setTimeout(() => {
      if (m.down && m.phase !== 'removed') this.spawn(this.cluster.start(m));
    }, downMs);
  }

  private nextId = 0;

  /**
   * One single-server change through the leader's Replica: add a new member
   * as a learner (it starts with an empty disk), promote a learner, or remove
   * a voter other than the leader (keeping at least three voters).
   */
  private changeMembership(): void {
    const leader = this.cluster.up().find((m) => m.replica?.isLeader);
    if (leader === undefined) return;
    const replica = leader.replica!;
    const { voters, learners } = replica.raftStatus().config;
    let cc: ConfChange | undefined;
    if (learners.length > 0) cc = { kind: 'promoteLearner', nodeId: learners[0]! };
    else if (voters.length > 3 && (voters.length > this.opts.nodes || this.rng.chance(0.5))) {
      cc = { kind: 'removeNode', nodeId: this.rng.pick(voters.filter((v) => v !== leader.id)) };
    } else if (this.nextId < 4) {
      const id = `n${this.opts.nodes + ++this.nextId}`;
      const joiner = this.cluster.addJoiner(id, replica.memberList(), replica.membersIndex);
      this.spawn(this.cluster.start(joiner));
      cc = { kind: 'addLearner', nodeId: id, context: Buffer.from(`sim://${id}`) };
    }
    if (cc === undefined) return;
    const change = cc;
    this.stats.membershipChanges++;
    this.trace(`${leader.id} proposes ${change.kind} ${change.nodeId}`);
    replica.proposeConfChange(change).then(
      (index) => {
        this.stats.membershipChangesApplied++;
        this.trace(`${change.kind} ${change.nodeId} applied at ${index}`);
        const m = this.cluster.members.get(change.nodeId);
        if (change.kind === 'removeNode' && m !== undefined) this.cluster.retire(m);
      },
      (err: Error) => this.trace(`${change.kind} ${change.nodeId} not made: ${err.message}`),
    );
  }

  private async simulate(): Promise<NodeSimResult> {
    const chaosMs = this.opts.chaosMs ?? 3000;
    const settleMs = this.opts.settleMs ?? 20000;
    try {
      // Starting writes (synced) to disk, and fsyncs take virtual time: run the clock meanwhile.
      let started = 0;
      for (const m of this.cluster.members.values()) this.spawn(this.cluster.start(m).then(() => started++));
      if (!(await this.runUntil(1000, () => started === this.cluster.members.size))) throw this.failure ?? new Violation('liveness', 'members did not start within 1 s');
      for (const c of this.clients) {
        c.start();
        this.spawn(c.done);
      }
      const chaosTimer = this.clock.setInterval(() => this.chaosStep(), CHAOS_STEP_MS);
      const checkTimer = this.clock.setInterval(() => {
        this.checkDue = true;
      }, 250);
      const chaosEnd = this.clock.elapsed + chaosMs;
      await this.runUntil(chaosEnd);
      this.chaos = false;
      this.cluster.diskFaults = false;
      this.clock.clearInterval(chaosTimer);
      this.net.heal();
      this.trace('chaos over: network healed, crashed members restart, clients finish their writes');
      for (const m of this.cluster.active()) if (m.down) this.spawn(this.cluster.start(m));
      for (const c of this.clients) c.stopIssuing();
      let clientsDone = false;
      // A client that failed has reported it through spawn(); here it only counts as done.
      void Promise.allSettled(this.clients.map((c) => c.done)).then(() => {
        clientsDone = true;
      });
      const settled = await this.runUntil(chaosEnd + settleMs, () => clientsDone && this.caughtUp());
      this.clock.clearInterval(checkTimer);
      if (this.failure !== undefined) throw this.failure;
      if (!settled) {
        const pending = this.clients.filter((c) => c.record.inFlight !== 0).map((c) => `${c.record.id}#${c.record.inFlight}`);
        const applied = [...this.cluster.members.values()].map((m) => `${m.id}:${m.down ? 'down' : m.replica?.appliedIndex}`);
        throw new Violation('liveness', `not settled ${settleMs} ms after healing: writes pending [${pending}], applied [${applied}]`);
      }
      await this.compareStates();
      for (const m of this.configured() ?? []) await checkClientWrites(m, this.clients.map((c) => c.record));
      return this.result(true);
    } catch (err) {
      const res = this.result(false);
      if (err instanceof Violation) {
        res.violation = err.message;
        res.checker = err.checker;
      } else {
        res.violation = `[node-error] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
        res.checker = 'node-error';
      }
      this.trace(`VIOLATION ${res.violation}`);
      res.trace = [...this.traceLog];
      return res;
    }
  }

  async run(): Promise<NodeSimResult> {
    const result = await this.simulate();
    await this.shutdown();
    return result;
  }

  /** Stops every member; stopping waits for fsyncs in flight, which take virtual time. */
  private async shutdown(): Promise<void> {
    let stopped = false;
    void this.cluster.stopAll().then(() => {
      stopped = true;
    });
    for (let i = 0; !stopped; i++) {
      if (i > 100_000) throw new Error(`seed ${this.opts.seed}: members did not stop`);
      this.clock.fireNext(this.clock.elapsed + 60_000);
      await tick();
    }
  }

  /** The configuration's members as the leader knows it (undefined with no leader). */
  private configured(): SimMember[] | undefined {
    const leader = this.cluster.up().find((m) => m.replica?.isLeader);
    if (leader === undefined) return undefined;
    const { voters, learners } = leader.replica!.raftStatus().config;
    return [...voters, ...learners].map((id) => this.cluster.members.get(id)).filter((m): m is SimMember => m !== undefined);
  }

  private caughtUp(): boolean {
    const members = this.configured();
    if (members === undefined || members.some((m) => m.down || m.replica === undefined)) return false;
    const commit = Math.max(...members.map((m) => m.replica!.raftStatus().commit));
    return members.every((m) => m.replica!.appliedIndex >= commit && m.replica!.raftStatus().lastIndex === m.replica!.raftStatus().commit);
  }

  private async compareStates(): Promise<void> {
    this.stats.stateComparisons += await checkStatesAgree([...this.cluster.members.values()]);
  }

  private result(ok: boolean): NodeSimResult {
    this.stats.virtualMs = this.clock.elapsed;
    this.stats.acked = this.clients.reduce((s, c) => s + c.record.acked, 0);
    this.stats.attempts = this.clients.reduce((s, c) => s + c.record.attempts, 0);
    this.stats.readsServed = this.clients.reduce((s, c) => s + c.record.reads, 0);
    this.stats.messagesDelivered = this.net.delivered;
    this.stats.messagesDropped = this.net.dropped;
    this.stats.snapshotsInstalled = this.cluster.snapshotsInstalled;
    this.stats.storageFailures = this.cluster.storageFailures;
    this.stats.installCrashes = this.cluster.installCrashes;
    this.stats.writesLost = [...this.cluster.members.values()].reduce((s, m) => s + m.disk.lostWrites, 0);
    const r: NodeSimResult = { seed: this.opts.seed, nodes: this.opts.nodes, ok, setup: this.setup, faults: this.faults, stats: { ...this.stats } };
    if (this.opts.trace) r.trace = [...this.traceLog];
    return r;
  }
}

export function runNodeSeed(opts: NodeSimOptions): Promise<NodeSimResult> {
  return new NodeSimulation(opts).run();
}
