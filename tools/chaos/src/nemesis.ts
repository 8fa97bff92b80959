// The fault injector: one fault at a time, chosen by the seeded RNG, held for
// a while, then healed, and every start and end written to the history.
//
// - kill: SIGKILL (kill -9) to one node's PID (the leader half the time), then
//   a restart on the same data dir.
// - restart: a graceful restart: SIGTERM (a leader hands over first), wait for
//   the process to exit, then start it again on the same data dir.
// - pause: SIGSTOP, later SIGCONT (the leader half the time: the stale-leader
//   case: it wakes up believing it still leads).
// - partition: through the link proxies (see net.ts): isolate the leader, or
//   a random minority/majority split, or cut a single pair (a non-transitive
//   partition: the third node still sees both), as reject or blackhole.
// - one-way: discard every byte one node sends to another (leader -> follower
//   or follower -> leader); see net.ts for what HTTP/2 makes of that.
// - latency: delay both directions between two nodes, or all of one node's links.
// - member: replace one member (the leader half the time) with an empty data
//   dir through RemoveMember / AddMember, promoted when healed (member-fault.ts).
//
// Nothing here reads or changes a node's clock. Bellwether's safety does not
// depend on clocks: ReadIndex confirms leadership with a quorum round for
// every linearizable read (no leader leases), and the checkers order
// operations by one monotonic clock in this process.
import type { NodeProcess, TestCluster } from '@bellwether/integration/cluster';
import type { FaultKind, History } from './history';
import { replaceMember } from './member-fault';
import type { Network } from './net';
import type { Rng } from '@bellwether/raft';

/** Fault kinds as the command line names them; `partition` includes leader isolation. */
export const FAULT_NAMES = ['kill', 'restart', 'pause', 'partition', 'one-way', 'latency', 'member'] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export interface NemesisOptions {
  faults: FaultName[];
  /** Quiet time between faults, ms. */
  gapMs: [number, number];
  /** How long a fault is held, ms. */
  holdMs: [number, number];
}

export const DEFAULT_NEMESIS: Omit<NemesisOptions, 'faults'> = { gapMs: [1000, 3000], holdMs: [1500, 5000] };

/** A member exits within its --shutdown-timeout-ms (5 s by default); this only bounds a run whose node hangs. */
const GRACEFUL_EXIT_BOUND_MS = 15_000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export class Nemesis {
  private readonly paused = new Set<NodeProcess>();
  private readonly killed = new Set<NodeProcess>();
  readonly counts = new Map<FaultKind, number>();
  /** The fault in force right now, for the progress line. */
  active = '';

  constructor(
    private readonly cluster: TestCluster,
    private readonly net: Network,
    private readonly history: History,
    private readonly rng: Rng,
    private readonly opts: NemesisOptions,
    private readonly leaderHint: () => string | undefined,
  ) {}

  /** Injects faults until `stop` fires, healing each before the next. */
  async run(stop: AbortSignal): Promise<void> {
    if (this.opts.faults.length === 0) return;
    while (!stop.aborted) {
      await sleep(this.rng.int(...this.opts.gapMs), stop);
      if (stop.aborted) break;
      const name = this.rng.pick(this.opts.faults);
      const hold = this.rng.int(...this.opts.holdMs);
      const heal = await this.inject(name);
      await sleep(hold, stop);
      await heal();
      this.active = '';
    }
  }

  /** The leader among nodes that are up, asking them directly; falls back to the workers' hint. */
  async leader(): Promise<NodeProcess | undefined> {
    const up = this.cluster.nodes.filter((n) => n.running && !this.paused.has(n));
    const statuses = await Promise.all(up.map((n) => this.cluster.status(n, 300).catch(() => undefined)));
    const i = statuses.findIndex((s) => s?.role === 'ROLE_LEADER');
    if (i >= 0) return up[i];
    const hint = this.leaderHint();
    return up.find((n) => n.id === hint);
  }

  /** The leader half the time (when there is one), else any node. */
  private async target(): Promise<NodeProcess> {
    const leader = await this.leader();
    if (leader && this.rng.chance(0.5)) return leader;
    return this.rng.pick(this.cluster.nodes);
  }

  private start(kind: FaultKind, detail: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.history.fault(kind, 'start', detail);
    this.active = `${kind} ${detail}`;
  }

  private async inject(name: FaultName): Promise<() => Promise<void>> {
    const ids = this.cluster.nodes.map((n) => n.id);
    switch (name) {
      case 'kill': {
        const node = await this.target();
        this.start('kill', `${node.id} (pid ${node.pid})`);
        this.killed.add(node);
        await node.kill9();
        return async () => {
          node.start();
          this.killed.delete(node);
          this.history.fault('kill', 'end', `${node.id} restarted (pid ${node.pid})`);
        };
      }
      case 'restart': {
        const node = await this.target();
        this.start('restart', `${node.id} (pid ${node.pid}) SIGTERM`);
        this.killed.add(node);
        node.signal('SIGTERM');
        const code = await Promise.race([node.waitExit(), sleep(GRACEFUL_EXIT_BOUND_MS).then(() => 'still running' as const)]);
        if (code === 'still running') await node.kill9();
        const exit = code === 'still running' ? `still running ${GRACEFUL_EXIT_BOUND_MS} ms after SIGTERM: killed` : `exited with code ${code} after SIGTERM`;
        return async () => {
          node.start();
          this.killed.delete(node);
          this.history.fault('restart', 'end', `${node.id} ${exit}; started again (pid ${node.pid})`);
        };
      }
      case 'pause': {
        const node = await this.target();
        this.start('pause', `${node.id} (pid ${node.pid})`);
        this.paused.add(node);
        node.signal('SIGSTOP');
        return async () => {
          node.signal('SIGCONT');
          this.paused.delete(node);
          this.history.fault('pause', 'end', `${node.id} resumed`);
        };
      }
      case 'partition': {
        const style = this.rng.chance(0.5) ? 'reject' : 'blackhole';
        const leader = await this.leader();
        const shape = this.rng.weighted({ isolateLeader: leader ? 2 : 0, split: 1, pair: 1 });
        let kind: FaultKind = 'partition';
        let detail: string;
        if (shape === 'isolateLeader' && leader) {
          kind = 'isolate-leader';
          const groups = [[leader.id], ids.filter((id) => id !== leader.id)];
          detail = `${groups.map((g) => g.join(',')).join(' | ')} (${style})`;
          this.net.partition(groups, style);
        } else if (shape === 'split') {
          const shuffled = this.rng.shuffle([...ids]);
          const cut = this.rng.int(1, Math.floor(ids.length / 2));
          const groups = [shuffled.slice(0, cut), shuffled.slice(cut)];
          detail = `${groups.map((g) => g.join(',')).join(' | ')} (${style})`;
          this.net.partition(groups, style);
        } else {
          const [a, b] = this.rng.shuffle([...ids]);
          this.net.cutPair(a!, b!, style);
          detail = `${a} -/- ${b} only (${style})`;
        }
        this.start(kind, detail);
        return async () => {
          this.net.heal();
          this.history.fault(kind, 'end', detail);
        };
      }
      case 'one-way': {
        const leader = await this.leader();
        const [x, y] = this.rng.shuffle([...ids]);
        let from = x!;
        let to = y!;
        if (leader && this.rng.chance(0.6)) {
          const other = this.rng.pick(ids.filter((id) => id !== leader.id));
          [from, to] = this.rng.chance(0.5) ? [leader.id, other] : [other, leader.id];
        }
        const detail = `${from} -> ${to} dropped`;
        this.start('one-way', detail);
        this.net.oneWay(from, to);
        return async () => {
          this.net.heal();
          this.history.fault('one-way', 'end', detail);
        };
      }
      case 'member': {
        const node = await this.target();
        const detail = `${node.id} removed, wiped, added back empty`;
        this.start('member-replace', detail);
        const promote = await replaceMember(this, node);
        if (!promote) {
          this.history.fault('member-replace', 'end', `${node.id}: removal refused (no quorum of members up without it); nothing changed`);
          return async () => {};
        }
        return async () => {
          await promote();
          this.history.fault('member-replace', 'end', `${node.id} promoted again`);
        };
      }
      case 'latency': {
        const delayMs = this.rng.int(20, 150);
        const node = this.rng.pick(ids);
        const pairs = this.rng.chance(0.5) ? ids.filter((id) => id !== node).map((o) => [node, o] as const) : [[node, this.rng.pick(ids.filter((id) => id !== node))] as const];
        for (const [a, b] of pairs) this.net.latency(a, b, delayMs);
        const detail = `+${delayMs} ms on ${pairs.map(([a, b]) => `${a}<->${b}`).join(', ')}`;
        this.start('latency', detail);
        return async () => {
          this.net.heal();
          this.history.fault('latency', 'end', detail);
        };
      }
    }
  }

  /** Ends every fault: network healed, paused nodes resumed, killed nodes restarted. */
  async healAll(): Promise<void> {
    this.net.heal();
    for (const n of this.paused) n.signal('SIGCONT');
    this.paused.clear();
    for (const n of this.killed) if (!n.running) n.start();
    this.killed.clear();
    for (const n of this.cluster.nodes) if (!n.running) n.start();
  }
}
