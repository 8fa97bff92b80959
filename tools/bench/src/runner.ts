// What bench, compare and memory share: configuration, preloading, one measured run.
import type { ClientSecurity, LocalCluster } from './clusters';
import { startCpuHogs } from './cpu-hogs';
import { createDriver, type Driver, type ReadMode, type TargetKind } from './drivers';
import { type RunResult, runWorkload, type Workload } from './engine';
import { KeySpace } from './keys';
import type { ServerPid } from './procstat';
import { type FlagSpec, UsageError } from './util';

export const COMMON_FLAGS: Record<string, FlagSpec> = {
  concurrency: { kind: 'int', default: 256, help: 'requests in flight' },
  connections: { kind: 'int', default: 1, help: 'client instances (raw: one channel per member each; SDK: one connect() each)' },
  duration: { kind: 'number', default: 10, help: 'measured seconds' },
  ops: { kind: 'int', help: 'measure this many operations instead of a duration' },
  warmup: { kind: 'number', default: 2, help: 'seconds of load before measuring' },
  keyspace: { kind: 'int', default: 100_000, help: 'distinct keys' },
  'key-bytes': { kind: 'int', default: 16, help: 'key size' },
  'value-bytes': { kind: 'int', default: 256, help: 'value size' },
  'read-share': { kind: 'number', default: 0.9, help: 'share of reads in the mixed workload' },
  'read-targets': { kind: 'string', default: 'all', help: 'raw reads go to: all | leader | followers (in turn)' },
  preload: { kind: 'string', default: 'auto', help: 'write every key before measuring: auto (for get/mixed) | yes | no' },
  'deadline-ms': { kind: 'int', default: 10_000, help: 'deadline per call' },
  transport: { kind: 'string', default: 'stream', help: "bellwether-sdk only: how the SDK sends KV calls: stream (one KV.Stream per member) | unary" },
  seed: { kind: 'int', default: 1, help: 'random seed' },
  'cpu-hogs': { kind: 'int', default: 0, help: 'busy-looping processes running beside the cluster through warm-up and the measured window (a loaded machine)' },
  profile: { kind: 'string', help: 'Bellwether only: write a V8 CPU profile per node into this directory' },
  out: { kind: 'string', help: 'JSON result path (default bench-results/<name>-<time>.json at the repo root)' },
  quiet: { kind: 'bool', default: false, help: 'no live progress line' },
  help: { kind: 'bool', default: false, help: 'print this help' },
};

export interface BenchConfig {
  target: TargetKind;
  workload: Workload;
  readMode: ReadMode;
  concurrency: number;
  connections: number;
  durationS: number;
  ops?: number;
  warmupS: number;
  keyspace: number;
  keyBytes: number;
  valueBytes: number;
  readShare: number;
  readTargets: 'all' | 'leader' | 'followers';
  preload: 'auto' | 'yes' | 'no';
  deadlineMs: number;
  seed: number;
  quiet: boolean;
  /** bellwether-sdk only: the SDK's transport (default: the SDK's own default). */
  transport?: 'stream' | 'unary';
  /** Busy-looping processes beside the cluster while measuring. */
  cpuHogs: number;
}

export function configFrom(f: Record<string, unknown>, target: TargetKind, workload: Workload, readMode: ReadMode): BenchConfig {
  const readTargets = f['read-targets'] as string;
  if (!['all', 'leader', 'followers'].includes(readTargets)) throw new UsageError(`--read-targets: expected all, leader or followers, got "${readTargets}"`);
  const preload = f['preload'] as string;
  if (!['auto', 'yes', 'no'].includes(preload)) throw new UsageError(`--preload: expected auto, yes or no, got "${preload}"`);
  const transport = f['transport'] as string | undefined;
  if (transport !== undefined && transport !== 'stream' && transport !== 'unary') throw new UsageError(`--transport: expected stream or unary, got "${transport}"`);
  const concurrency = f['concurrency'] as number;
  if (concurrency < 1) throw new UsageError('--concurrency must be at least 1');
  return {
    target,
    workload,
    readMode,
    concurrency,
    connections: Math.max(1, f['connections'] as number),
    durationS: f['duration'] as number,
    ops: f['ops'] as number | undefined,
    warmupS: f['warmup'] as number,
    keyspace: Math.max(1, f['keyspace'] as number),
    keyBytes: f['key-bytes'] as number,
    valueBytes: f['value-bytes'] as number,
    readShare: Math.min(1, f['read-share'] as number),
    readTargets: readTargets as BenchConfig['readTargets'],
    preload: preload as BenchConfig['preload'],
    deadlineMs: f['deadline-ms'] as number,
    seed: f['seed'] as number,
    quiet: f['quiet'] as boolean,
    transport,
    cpuHogs: Math.max(0, f['cpu-hogs'] as number),
  };
}

export function systemOf(target: TargetKind): 'bellwether' | 'etcd' {
  return target === 'etcd' ? 'etcd' : 'bellwether';
}

export interface Endpoints {
  members: string[];
  leader: string;
  serverPids: () => ServerPid[];
  /** TLS CA and credentials for a secured cluster (SDK target). */
  security?: ClientSecurity;
}

export async function endpointsOf(cluster: LocalCluster): Promise<Endpoints> {
  return { members: cluster.addresses(), leader: await cluster.leaderAddress(), serverPids: () => cluster.serverPids(), security: cluster.security };
}

export async function openDriver(cfg: BenchConfig, ep: Endpoints, writes: boolean): Promise<Driver> {
  return createDriver({
    kind: cfg.target,
    members: ep.members,
    leader: ep.leader,
    connections: cfg.connections,
    readMode: cfg.readMode,
    readTargets: cfg.readTargets,
    deadlineMs: cfg.deadlineMs,
    transport: cfg.transport,
    writes,
    security: ep.security,
  });
}

/** Writes every key once (not measured), so reads find values of the configured size. */
export async function preloadKeys(cfg: BenchConfig, ep: Endpoints, keys: KeySpace, concurrency = 256): Promise<RunResult> {
  const driver = await openDriver({ ...cfg, target: cfg.target === 'etcd' ? 'etcd' : 'bellwether-sdk', connections: Math.max(cfg.connections, 2) }, ep, true);
  try {
    return await runWorkload(driver, keys, {
      label: `load ${keys.size} keys`,
      workload: 'put',
      readMode: cfg.readMode,
      concurrency,
      durationS: 0,
      ops: keys.size,
      warmupS: 0,
      readShare: 0,
      sequential: true,
      seed: cfg.seed,
      progress: !cfg.quiet,
      maxSeconds: 600,
      serverPids: ep.serverPids,
    });
  } finally {
    await driver.close();
  }
}

export async function measure(cfg: BenchConfig, ep: Endpoints, keys: KeySpace, label: string, onMeasureStart?: () => void): Promise<RunResult> {
  const driver = await openDriver(cfg, ep, cfg.workload !== 'get');
  const hogs = cfg.cpuHogs > 0 ? startCpuHogs(cfg.cpuHogs) : undefined;
  try {
    return await runWorkload(driver, keys, {
      label: hogs ? `${label} +${cfg.cpuHogs} cpu hogs` : label,
      workload: cfg.workload,
      readMode: cfg.readMode,
      concurrency: cfg.concurrency,
      durationS: cfg.durationS,
      ops: cfg.ops,
      warmupS: cfg.warmupS,
      readShare: cfg.readShare,
      seed: cfg.seed,
      progress: !cfg.quiet,
      maxSeconds: cfg.ops !== undefined ? 3600 : undefined,
      serverPids: ep.serverPids,
      onMeasureStart,
    });
  } finally {
    hogs?.stop();
    await driver.close();
  }
}

export function keySpaceFor(cfg: BenchConfig): KeySpace {
  return new KeySpace({ keyspace: cfg.keyspace, keyBytes: cfg.keyBytes, valueBytes: cfg.valueBytes, seed: cfg.seed });
}

