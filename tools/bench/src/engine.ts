// The concurrency engine every target shares: `concurrency` workers, each
// with one request in flight, pick keys from the same generator and call
// the same Driver interface. Warm-up first (not recorded), then the
// measured window; CPU of every server process and of this process is read
// at the window's edges.
import { loadavg } from 'node:os';
import type { Driver, ReadMode, TargetKind } from './drivers';
import { errorName } from './drivers';
import type { KeySpace } from './keys';
import { LatencyRecorder, type LatencySummary } from './latency';
import { type CpuReport, cpuDelta, cpuSnapshot, round, type ServerPid } from './procstat';
import { fmtMs, fmtNum, Rng, sleep } from './util';

export type Workload = 'put' | 'get' | 'mixed' | 'cas' | 'txn' | 'watch';
export const WORKLOADS: readonly Workload[] = ['put', 'get', 'mixed', 'cas', 'txn', 'watch'];

export interface RunOptions {
  label: string;
  workload: Workload;
  readMode: ReadMode;
  concurrency: number;
  /** Measured seconds; ignored when `ops` is set. */
  durationS: number;
  /** Measure exactly this many operations instead of a duration. */
  ops?: number;
  warmupS: number;
  /** Share of reads in the mixed workload (0..1). */
  readShare: number;
  /** Keys in order 0,1,2,... instead of at random (for loading). */
  sequential?: boolean;
  seed: number;
  /** Print a live progress line to stderr. */
  progress: boolean;
  /** Stop anyway after this many seconds (a guard for op-count runs). */
  maxSeconds?: number;
  serverPids: () => ServerPid[];
  /** Called as the measured window begins (e.g. to restart server profilers). */
  onMeasureStart?: () => void;
}

export interface RunResult {
  label: string;
  target: TargetKind;
  workload: Workload;
  readMode: ReadMode | null;
  concurrency: number;
  ops: number;
  reads: number;
  writes: number;
  /** Compare-and-swap calls whose comparison failed (a normal result, counted in ops). */
  casFailed: number;
  errors: number;
  errorsByCode: Record<string, number>;
  durationS: number;
  opsPerSec: number;
  latency: LatencySummary;
  cpu: CpuReport & { serverMsPerOp: number | null; clientMsPerOp: number | null; serverFaultsPerOp: number | null };
  startedAt: string;
  /** 1-minute load average of the machine as the measured window began (and ended). */
  loadavg: [number, number];
}

/** Runs one workload against a driver and returns its measured figures. */
export async function runWorkload(driver: Driver, keys: KeySpace, opts: RunOptions): Promise<RunResult> {
  const lat = new LatencyRecorder();
  const errorsByCode: Record<string, number> = {};
  /** Known mod revision per key for compare-and-swap; -1 = unknown (then try "absent": 0). */
  const known = opts.workload === 'cas' ? new Float64Array(keys.size).fill(-1) : undefined;
  let measuring = opts.warmupS <= 0;
  let stopped = false;
  let ops = 0;
  let reads = 0;
  let writes = 0;
  let casFailed = 0;
  let errors = 0;
  let issued = 0;
  let nextSeq = 0;
  const opLimit = opts.ops;

  const worker = async (w: number) => {
    const rng = new Rng(opts.seed * 7919 + w);
    let retryKey = -1;
    let retries = 0;
    while (!stopped) {
      if (measuring && opLimit !== undefined) {
        if (issued >= opLimit) return;
        issued++;
      }
      // Loading (sequential) retries a failed key instead of moving on, so every key gets written.
      const k = opts.sequential && retryKey >= 0 ? retryKey : opts.sequential ? nextSeq++ % keys.size : rng.below(keys.size);
      retryKey = -1;
      const key = keys.key(k);
      const isRead = opts.workload === 'get' || (opts.workload === 'mixed' && rng.next() / 4294967296 < opts.readShare);
      const counted = measuring;
      const t0 = performance.now();
      try {
        if (opts.workload === 'cas') {
          const expected = Math.max(known![k]!, 0);
          const res = await driver.cas(w, key, expected, keys.value(rng));
          known![k] = res.modRevision;
          if (!res.succeeded && counted && measuring && !stopped) casFailed++;
        } else if (opts.workload === 'txn') {
          if (!driver.txn) throw new Error(`the txn workload needs the bellwether-sdk target, not ${driver.kind}`);
          await driver.txn(w, key, keys.key(rng.below(keys.size)), keys.value(rng));
        } else if (isRead) {
          await driver.get(w, key);
        } else {
          await driver.put(w, key, keys.value(rng));
        }
        if (counted && measuring && !stopped) {
          lat.record(performance.now() - t0);
          ops++;
          if (isRead) reads++;
          else writes++;
        }
      } catch (err) {
        if (counted && measuring && !stopped) {
          errors++;
          const name = errorName(err);
          errorsByCode[name] = (errorsByCode[name] ?? 0) + 1;
        }
        if (opts.sequential && retries++ < 20) {
          retryKey = k;
          if (opLimit !== undefined) issued--;
        } else {
          retries = 0;
        }
        // Do not spin on a failing cluster.
        await sleep(5);
      }
    }
  };

  const workers = Array.from({ length: opts.concurrency }, (_, w) => worker(w));
  const allDone = Promise.all(workers);
  const startedAt = new Date().toISOString();

  if (opts.warmupS > 0) {
    await Promise.race([sleep(opts.warmupS * 1000), allDone]);
    measuring = true;
  }
  opts.onMeasureStart?.();
  const load0 = loadavg()[0]!;
  const cpu0 = cpuSnapshot(opts.serverPids());
  const t0 = performance.now();

  // Progress: one line a second (rewritten in place on a terminal).
  const tty = process.stderr.isTTY === true;
  let lastOps = 0;
  let lastLat = 0;
  let lastT = t0;
  let ticks = 0;
  const progress = opts.progress
    ? setInterval(() => {
        const now = performance.now();
        const s = lat.summary(lastLat);
        const rate = ((ops - lastOps) * 1000) / (now - lastT);
        const line =
          `[${opts.label}] ${((now - t0) / 1000).toFixed(0)}s  ${fmtNum(ops)} ops  ${fmtNum(rate)} ops/s  ` +
          `p50 ${fmtMs(s.p50Ms)} ms  p99 ${fmtMs(s.p99Ms)} ms  errors ${errors}`;
        if (tty) process.stderr.write(`\r\x1b[K${line}`);
        else if (++ticks % 5 === 0) process.stderr.write(`${line}\n`);
        lastOps = ops;
        lastLat = lat.count;
        lastT = now;
      }, 1000)
    : undefined;

  let cpu1: ReturnType<typeof cpuSnapshot>;
  let t1: number;
  const guardMs = (opts.maxSeconds ?? Number.POSITIVE_INFINITY) * 1000;
  if (opLimit !== undefined) {
    await Promise.race([allDone, sleep(Math.min(guardMs, 2 ** 31 - 1))]);
    cpu1 = cpuSnapshot(opts.serverPids());
    t1 = performance.now();
    stopped = true;
  } else {
    await Promise.race([sleep(Math.min(opts.durationS * 1000, guardMs)), allDone]);
    cpu1 = cpuSnapshot(opts.serverPids());
    t1 = performance.now();
    stopped = true;
  }
  if (progress) clearInterval(progress);
  if (tty && opts.progress) process.stderr.write('\r\x1b[K');
  await allDone;

  const durationS = (t1 - t0) / 1000;
  const cpu = cpuDelta(cpu0, cpu1);
  return {
    label: opts.label,
    target: driver.kind,
    workload: opts.workload,
    readMode: opts.workload === 'get' || opts.workload === 'mixed' ? opts.readMode : null,
    concurrency: opts.concurrency,
    ops,
    reads,
    writes,
    casFailed,
    errors,
    errorsByCode,
    durationS: round(durationS, 3),
    opsPerSec: round(ops / durationS, 1),
    latency: lat.summary(),
    cpu: {
      ...cpu,
      serverMsPerOp: ops > 0 && cpu.servers.length > 0 ? round((cpu.serverTotalSeconds * 1000) / ops, 4) : null,
      clientMsPerOp: ops > 0 ? round((cpu.clientSeconds * 1000) / ops, 4) : null,
      serverFaultsPerOp: ops > 0 && cpu.servers.length > 0 ? round(cpu.serverMinorFaults / ops, 1) : null,
    },
    startedAt,
    loadavg: [round(load0, 2), round(loadavg()[0]!, 2)],
  };
}

/** One line per result for the console. */
export function describeResult(r: RunResult): string {
  const l = r.latency;
  const servers = r.cpu.servers.map((s) => `${s.id} ${s.cpuSeconds === null ? '?' : s.cpuSeconds.toFixed(2)}s`).join(', ');
  const errs = r.errors ? `  errors ${r.errors} (${Object.entries(r.errorsByCode).map(([k, v]) => `${k} ${v}`).join(', ')})` : '  errors 0';
  return [
    `${r.label}: ${fmtNum(r.opsPerSec)} ops/s  (${fmtNum(r.ops)} ops in ${r.durationS.toFixed(1)} s, ${r.concurrency} in flight)${errs}${r.workload === 'cas' ? `  cas-failed ${r.casFailed}` : ''}`,
    `  latency ms: p50 ${fmtMs(l.p50Ms)}  p99 ${fmtMs(l.p99Ms)}  p99.9 ${fmtMs(l.p999Ms)}  max ${fmtMs(l.maxMs)}  mean ${fmtMs(l.meanMs)}`,
    `  cpu: servers ${servers || 'n/a'} = ${r.cpu.serverTotalSeconds.toFixed(2)} s (${r.cpu.serverMsPerOp === null ? 'n/a' : r.cpu.serverMsPerOp.toFixed(3)} ms/op); client ${r.cpu.clientSeconds.toFixed(2)} s (${r.cpu.clientMsPerOp === null ? 'n/a' : r.cpu.clientMsPerOp.toFixed(3)} ms/op)`,
    `  servers' minor page faults: ${r.cpu.serverFaultsPerOp === null ? 'n/a' : `${fmtNum(r.cpu.serverMinorFaults)} (${r.cpu.serverFaultsPerOp.toFixed(1)} per op)`}`,
  ].join('\n');
}
