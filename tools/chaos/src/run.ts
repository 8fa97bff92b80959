// One chaos run: a real cluster behind link proxies, concurrent workers, the
// nemesis, a heal and read-back, then every checker over the history.
import { TestCluster } from '@bellwether/integration/cluster';
import { type CheckerReport, checkAll } from './checkers/index';
import type { Member } from './conn';
import { type FaultEvent, type FaultKind, History, type Op } from './history';
import { DEFAULT_NEMESIS, type FaultName, Nemesis, type NemesisOptions } from './nemesis';
import { Network } from './net';
import { Rng } from '@bellwether/raft';
import { DEFAULT_WORKLOAD, KeyPool, Worker, type WorkerShared, type WorkloadOptions } from './workload';
import { checkWatches } from './checkers/watch';
import { ChaosWatchers } from './watchers';
import { checkTransfers } from './checkers/transfers';
import { ChaosTransfers } from './transfers';
import { checkLocks } from './checkers/locks';
import { ChaosLocks } from './locks';

export interface ChaosOptions {
  /** Seconds of workload under faults (the heal and read-back come after). */
  timeS: number;
  faults: FaultName[];
  seed: number;
  nodes?: number;
  /** Concurrent workers (logical clients, one session each). */
  clients?: number;
  /** Where to write the history (JSON lines); none if undefined. */
  historyPath?: string;
  /** Starts the nodes with --unsafe-follower-linearizable-reads (the injected bug). */
  unsafeFollowerReads?: boolean;
  workload?: Partial<WorkloadOptions>;
  nemesis?: Partial<Omit<NemesisOptions, 'faults'>>;
  /** Whether the SDK promises monotonic any-follower reads (it does not today). */
  anyFollowerMonotonic?: boolean;
  progressEveryMs?: number;
  /** Progress and phase lines; default: none. */
  log?: (line: string) => void;
  /** Ends the workload early (e.g. Ctrl-C); cleanup and checks still run. */
  signal?: AbortSignal;
}

export interface ChaosResult {
  seed: number;
  options: ChaosOptions;
  historyPath: string | undefined;
  ops: Op[];
  faults: FaultEvent[];
  faultCounts: Partial<Record<FaultKind, number>>;
  reports: CheckerReport[];
  valid: boolean | 'unknown';
  workloadS: number;
  checkMs: number;
  keys: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {});
  const size = options.nodes ?? 3;
  const clients = options.clients ?? 10;
  const rng = Rng.fromState(options.seed);
  const workload: WorkloadOptions = { ...DEFAULT_WORKLOAD, ...options.workload };
  const history = new History(options.historyPath);
  history.note({ run: { seed: options.seed, timeS: options.timeS, faults: options.faults, nodes: size, clients, unsafeFollowerReads: !!options.unsafeFollowerReads } });

  const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const net = await Network.create(ids);
  let cluster: TestCluster | undefined;
  const workers: Worker[] = [];
  let workloadS = 0;
  let nemesis: Nemesis | undefined;
  let watchers: ChaosWatchers | undefined;
  let transfers: ChaosTransfers | undefined;
  let locks: ChaosLocks | undefined;
  try {
    cluster = await TestCluster.start({
      size,
      args: ['--log-level', 'warn', ...(options.unsafeFollowerReads ? ['--unsafe-follower-linearizable-reads'] : [])],
      nodeArgs: (m, members) => {
        net.setTargets(new Map(members.map((x) => [x.id, x.address])));
        return net.dialArgs(m.id);
      },
    });
    const members: Member[] = cluster.nodes.map((n) => ({ id: n.id, address: n.address }));
    log(`cluster up: ${members.map((m) => `${m.id}=${m.address}`).join(' ')}; peer links through ${size * (size - 1)} proxies; waiting for a leader`);
    const first = await cluster.waitForLeader(30_000);
    log(`leader ${first.id}; ${clients} clients for ${options.timeS} s, faults: ${options.faults.join(',') || 'none'}, seed ${options.seed}`);

    watchers = await ChaosWatchers.start(members);
    transfers = await ChaosTransfers.start(members, 2, rng.derive('transfers'));
    locks = await ChaosLocks.start(members, 3, rng.derive('locks'), () => history.now());
    let nextProcess = 0;
    const shared: WorkerShared = {
      history,
      keys: new KeyPool(workload),
      opts: workload,
      members,
      clientTag: `chaos-${options.seed}-${process.pid}-${Date.now().toString(36)}`,
      newProcess: () => nextProcess++,
      leaderHint: first.id,
    };
    for (let i = 1; i <= clients; i++) workers.push(new Worker(i, shared, rng.derive(`worker-${i}`)));
    nemesis = new Nemesis(cluster, net, history, rng.derive('nemesis'), { faults: options.faults, ...DEFAULT_NEMESIS, ...options.nemesis }, () => shared.leaderHint);

    const stop = new AbortController();
    const started = Date.now();
    const onAbort = () => stop.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => stop.abort(), options.timeS * 1000);
    const nem = nemesis;
    const progress = setInterval(() => log(progressLine(history, nem, (Date.now() - started) / 1000, options.timeS)), options.progressEveryMs ?? 5000);
    try {
      await Promise.all([...workers.map((w) => w.run(stop.signal)), nemesis.run(stop.signal)]);
    } finally {
      clearTimeout(timer);
      clearInterval(progress);
      stop.abort();
      options.signal?.removeEventListener('abort', onAbort);
    }
    workloadS = (Date.now() - started) / 1000;
    log(progressLine(history, nemesis, workloadS, options.timeS));

    // Heal everything and read every key back linearizably.
    log('healing: network restored, paused nodes resumed, killed nodes restarted; reading every key back');
    await nemesis.healAll();
    await transfers.finish();
    await locks.finish();
    const leader = await cluster.waitForLeader(60_000);
    const reader = new Worker(0, { ...shared, leaderHint: leader.id }, rng.derive('final'));
    workers.push(reader);
    const missing: string[] = [];
    for (const key of shared.keys.all) {
      let ok = false;
      for (let attempt = 0; attempt < 20 && !ok; attempt++) {
        const target = members.find((m) => m.id === shared.leaderHint) ?? members.find((m) => m.id === leader.id)!;
        const op = await reader.get(key, 'final', 'linearizable', target);
        ok = op.outcome === 'ok';
        if (!ok) {
          shared.leaderHint = (await cluster.waitForLeader(30_000).catch(() => leader)).id;
          await sleep(100);
        }
      }
      if (!ok) missing.push(key);
    }
    if (missing.length > 0) log(`could not read back ${missing.length} keys: ${missing.slice(0, 5).join(', ')}`);
    const lastWrites = new Map<string, number>();
    for (const op of history.ops) if (op.outcome === 'ok' && op.revision !== undefined) lastWrites.set(op.key, Math.max(lastWrites.get(op.key) ?? 0, op.revision));
    log('waiting for the watchers to deliver the last writes');
    await watchers.finish(lastWrites, 30_000);
  } finally {
    await watchers?.finish(new Map(), 0);
    await transfers?.finish();
    await locks?.finish();
    await Promise.all(workers.map((w) => w.conn.close()));
    await cluster?.stop();
    await net.close();
    await history.close();
  }

  log(`checking ${history.ops.length} operations`);
  const t0 = Date.now();
  const reports = checkAll(history.ops, { anyFollowerMonotonic: options.anyFollowerMonotonic });
  if (watchers) reports.push(checkWatches(history.ops, watchers.logs));
  if (transfers) reports.push(checkTransfers(transfers.log));
  if (locks) reports.push(checkLocks(locks.holds));
  const checkMs = Date.now() - t0;
  const valid = reports.some((r) => r.valid === false) ? false : reports.some((r) => r.valid === 'unknown') ? 'unknown' : true;
  return {
    seed: options.seed,
    options,
    historyPath: options.historyPath,
    ops: history.ops,
    faults: history.faults,
    faultCounts: Object.fromEntries(nemesis?.counts ?? []),
    reports,
    valid,
    workloadS,
    checkMs,
    keys: new Set(history.ops.map((op) => op.key)).size,
  };
}

function progressLine(history: History, nemesis: Nemesis, elapsedS: number, totalS: number): string {
  let ok = 0;
  let fail = 0;
  let info = 0;
  for (const op of history.ops) {
    if (op.outcome === 'ok') ok++;
    else if (op.outcome === 'fail') fail++;
    else info++;
  }
  const faults = [...nemesis.counts.values()].reduce((a, b) => a + b, 0);
  const rate = elapsedS > 0 ? Math.round(history.ops.length / elapsedS) : 0;
  return `[${elapsedS.toFixed(0).padStart(4)} s / ${totalS} s] ops ${history.ops.length} (ok ${ok}, fail ${fail}, info ${info}; ${rate}/s) | faults ${faults}${nemesis.active ? ` | now: ${nemesis.active}` : ''}`;
}
