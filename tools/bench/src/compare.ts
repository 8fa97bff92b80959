// pnpm bench:compare: a local 3-node Bellwether cluster and a local
// 3-member etcd cluster, one after the other, the same workloads on both
// through the same engine, then side-by-side tables with ratios.
import { type LocalCluster, type System, startLocal } from './clusters';
import type { ReadMode, TargetKind } from './drivers';
import type { RunResult, Workload } from './engine';
import { ensureEtcd } from './etcd';
import type { KeySpace } from './keys';
import { processMemory, type ServerPid } from './procstat';
import { machine, writeResult } from './results';
import { type BenchConfig, COMMON_FLAGS, configFrom, endpointsOf, keySpaceFor, measure, preloadKeys } from './runner';
import { type FlagSpec, flagHelp, fmtMs, fmtNum, median, parseFlags, table, UsageError } from './util';

const { concurrency: _c, ...common } = COMMON_FLAGS;
const FLAGS: Record<string, FlagSpec> = {
  runs: { kind: 'int', default: 1, help: 'repeat everything this many times (fresh clusters each time); tables show medians' },
  concurrency: { kind: 'int', default: 256, help: 'requests in flight for the loaded rows (the latency row always uses 1)' },
  targets: { kind: 'list', default: ['bellwether-sdk', 'bellwether-raw', 'etcd'], help: 'targets to run' },
  rows: { kind: 'list', help: 'only these rows (by name, e.g. put-1,put-N,get-any-follower)' },
  tiny: { kind: 'bool', default: false, help: 'a few seconds in all, for tests: 1 s runs, small keyspace, 16 in flight, three rows' },
  ...common,
};

export interface Row {
  name: string;
  title: string;
  workload: Workload;
  /** 'N' = the --concurrency flag. */
  concurrency: number | 'N';
  /** Values of this size and a keyspace of `keyspace` keys instead of the flags' (the large-value row). */
  large?: { valueBytes: number; keyspace: number };
  /** Bellwether's read mode, and etcd's counterpart. */
  readMode: ReadMode;
  etcdReadMode: ReadMode;
}

/** 1 MiB values, 64 in flight, over 1,280 keys (issue 19). */
const LARGE_ROW: Row = {
  name: 'put-1mib',
  title: 'put 1 MiB values',
  workload: 'put',
  concurrency: 64,
  readMode: 'linearizable',
  etcdReadMode: 'linearizable',
  large: { valueBytes: 1024 * 1024, keyspace: 1280 },
};

export const ROWS: Row[] = [
  // put-N runs first so that put-1 meets warmed-up servers (V8 compiles hot
  // code only after a few thousand calls); both systems run in this order.
  { name: 'put-N', title: 'put', workload: 'put', concurrency: 'N', readMode: 'linearizable', etcdReadMode: 'linearizable' },
  { name: 'put-1', title: 'put, 1 in flight', workload: 'put', concurrency: 1, readMode: 'linearizable', etcdReadMode: 'linearizable' },
  { name: 'get-any-follower', title: 'get any-follower | etcd serializable', workload: 'get', concurrency: 'N', readMode: 'any-follower', etcdReadMode: 'serializable' },
  { name: 'get-read-your-writes', title: 'get read-your-writes | etcd serializable', workload: 'get', concurrency: 'N', readMode: 'read-your-writes', etcdReadMode: 'serializable' },
  { name: 'get-linearizable', title: 'get linearizable', workload: 'get', concurrency: 'N', readMode: 'linearizable', etcdReadMode: 'linearizable' },
  { name: 'mixed', title: 'mixed 90% get (linearizable) / 10% put', workload: 'mixed', concurrency: 'N', readMode: 'linearizable', etcdReadMode: 'linearizable' },
  { name: 'cas', title: 'compare-and-swap', workload: 'cas', concurrency: 'N', readMode: 'linearizable', etcdReadMode: 'linearizable' },
  // Last: its memory should not be what the small rows meet.
  LARGE_ROW,
];
const TINY_ROWS = ['put-N', 'put-1', 'get-any-follower'];

const SHORT: Record<TargetKind, string> = { 'bellwether-sdk': 'bw-sdk', 'bellwether-raw': 'bw-raw', etcd: 'etcd' };

interface Cell {
  row: string;
  target: TargetKind;
  runs: RunResult[];
  /** Large-value row: each member's peak RSS (since it started) after each run. */
  peakRss: MemberPeak[][];
}

async function main(argv: string[]): Promise<number> {
  const f = parseFlags(argv, FLAGS);
  if (f['help']) {
    console.log(flagHelp('Usage: pnpm bench:compare [flags]   e.g. pnpm bench:compare --runs 3 --duration 10', FLAGS));
    return 0;
  }
  const tiny = f['tiny'] as boolean;
  if (tiny) {
    const given = new Set(argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]));
    const set = (k: string, v: number) => {
      if (!given.has(k)) f[k] = v;
    };
    set('duration', 1);
    set('warmup', 0.3);
    set('keyspace', 500);
    set('concurrency', 16);
  }
  const targets = f['targets'] as TargetKind[];
  for (const t of targets) if (!['bellwether-sdk', 'bellwether-raw', 'etcd'].includes(t)) throw new UsageError(`--targets: unknown target "${t}"`);
  const rowNames = (f['rows'] as string[] | undefined) ?? (tiny ? TINY_ROWS : ROWS.map((r) => r.name));
  const rows = rowNames.map((n) => {
    const r = ROWS.find((x) => x.name === n);
    if (!r) throw new UsageError(`--rows: unknown row "${n}" (rows: ${ROWS.map((x) => x.name).join(', ')})`);
    return r;
  });
  if (targets.includes('etcd')) ensureEtcd();
  const runsWanted = Math.max(1, f['runs'] as number);
  const nConc = f['concurrency'] as number;
  const base = configFrom(f, 'bellwether-raw', 'put', 'linearizable');
  const keys = keySpaceFor(base);
  // Large rows' keys and values, made once per size: 1,024 values of 1 MiB take seconds to generate.
  const largeKeys = new Map<string, KeySpace>();
  const largeKeySpace = (cfg: BenchConfig): KeySpace => {
    const size = `${cfg.keyspace}x${cfg.valueBytes}`;
    let k = largeKeys.get(size);
    if (!k) largeKeys.set(size, (k = keySpaceFor(cfg)));
    return k;
  };
  const cells = new Map<string, Cell>();
  const versions: Record<string, string> = {};

  let cluster: LocalCluster | undefined;
  const onSignal = () => {
    const c = cluster;
    cluster = undefined;
    (c ? c.stop() : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const systems: System[] = [];
  if (targets.some((t) => t !== 'etcd')) systems.push('bellwether');
  if (targets.includes('etcd')) systems.push('etcd');

  const runOrders: string[][] = [];
  for (let run = 1; run <= runsWanted; run++) {
    // Alternate which system goes first, so slow drift of the machine does not
    // favour one; on one cluster the SDK and plain gRPC alternate the same way.
    const odd = run % 2 === 1;
    const order = odd ? systems : [...systems].reverse();
    const targetOrder = odd ? targets : [...targets].reverse();
    runOrders.push(order.flatMap((system) => targetOrder.filter((t) => (t === 'etcd') === (system === 'etcd')).map((t) => SHORT[t])));
    console.error(`run ${run}/${runsWanted}: order ${runOrders[run - 1]!.join(' then ')}`);
    for (const system of order) {
      console.error(`run ${run}/${runsWanted}: starting a local 3-member ${system} cluster...`);
      cluster = await startLocal(system, { profileDir: system === 'bellwether' ? (f['profile'] as string | undefined) : undefined });
      try {
        versions[system] = cluster.version;
        const ep = await endpointsOf(cluster);
        let loaded = false;
        let largeLoaded = false;
        for (const row of rows) {
          if (!loaded && (row.workload === 'get' || row.workload === 'mixed') && base.preload !== 'no') {
            const load = await preloadKeys({ ...base, target: system === 'etcd' ? 'etcd' : 'bellwether-raw' }, ep, keys);
            console.error(`  loaded ${fmtNum(load.ops)} keys in ${load.durationS.toFixed(1)} s (failed attempts ${load.errors}${load.errors ? `: ${Object.keys(load.errorsByCode).join(', ')}` : ''})`);
            loaded = true;
          }
          if (row.large && !largeLoaded) {
            // Every key written once first: each measured put replaces a value, as under steady load, whichever target goes first.
            const largeCfg = { ...base, ...row.large, target: system === 'etcd' ? ('etcd' as const) : ('bellwether-raw' as const) };
            const load = await preloadKeys(largeCfg, ep, largeKeySpace(largeCfg), 64);
            console.error(`  loaded ${fmtNum(load.ops)} large values in ${load.durationS.toFixed(1)} s (failed attempts ${load.errors})`);
            largeLoaded = true;
          }
          for (const target of targetOrder.filter((t) => (t === 'etcd') === (system === 'etcd'))) {
            const conc = row.concurrency === 'N' ? nConc : row.concurrency;
            const readMode = target === 'etcd' ? row.etcdReadMode : row.readMode;
            const cfg = { ...base, target, workload: row.workload, readMode, concurrency: conc, ...(row.large ?? {}) };
            // Leadership may move between rows; follow it.
            ep.leader = await cluster.leaderAddress();
            const r = await measure(cfg, ep, row.large ? largeKeySpace(cfg) : keys, `${row.name} ${SHORT[target]} c=${conc}`);
            console.error(
              `  ${r.label}: ${fmtNum(r.opsPerSec)} ops/s  p50 ${fmtMs(r.latency.p50Ms)}  p99 ${fmtMs(r.latency.p99Ms)} ms  server ${r.cpu.serverMsPerOp?.toFixed(3) ?? '?'} ms/op  errors ${r.errors}`,
            );
            const key = `${row.name}|${target}`;
            const cell = cells.get(key) ?? { row: row.name, target, runs: [], peakRss: [] };
            cell.runs.push(r);
            if (row.large) cell.peakRss.push(memberPeaks(ep.serverPids()));
            cells.set(key, cell);
          }
        }
      } finally {
        const c = cluster;
        cluster = undefined;
        await c?.stop();
      }
    }
  }

  const summary = summarize(rows, targets, cells);
  const loads = [...cells.values()].flatMap((c) => c.runs.flatMap((r) => r.loadavg));
  const report =
    render(rows, targets, summary, runsWanted, nConc) +
    renderPerRun(rows, targets, cells, runOrders, nConc) +
    `\n\nmachine: ${machine().cpus} CPUs; 1-minute load average during the measured windows ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; etcd ${versions['etcd'] ?? '-'}`;
  console.log(report);
  const path = writeResult(
    'compare',
    {
      kind: 'bellwether-bench/compare',
      version: 1,
      createdAt: new Date().toISOString(),
      machine: machine(),
      versions,
      config: { ...base, runs: runsWanted, targets, rows: rows.map((r) => r.name), tiny },
      summary,
      runOrders,
      perRunRatios: perRunRatios(rows, targets, cells),
      runs: [...cells.values()],
      report,
    },
    f['out'] as string | undefined,
  );
  console.log(`result: ${path}`);
  const failed = [...cells.values()].filter((c) => c.runs.some((r) => r.ops === 0));
  if (failed.length) console.error(`no operation succeeded in: ${failed.map((c) => `${c.row} ${c.target}`).join(', ')}`);
  return failed.length ? 1 : 0;
}

export interface Summary {
  row: string;
  target: TargetKind;
  runs: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  serverMsPerOp: number | null;
  clientMsPerOp: number | null;
  /** Minor page faults of all servers per op (median over runs). */
  serverFaultsPerOp: number | null;
  errors: number;
  casFailed: number;
  /** Large-value row: MiB/s of values written, and each member's highest peak RSS over the runs. */
  mibPerSec?: number;
  peakRss?: MemberPeak[];
}

function summarize(rows: Row[], targets: TargetKind[], cells: Map<string, Cell>): Summary[] {
  const out: Summary[] = [];
  for (const row of rows) {
    for (const target of targets) {
      const c = cells.get(`${row.name}|${target}`);
      if (!c) continue;
      const m = (get: (r: RunResult) => number | null) => {
        const xs = c.runs.map(get).filter((x): x is number => x !== null && Number.isFinite(x));
        return xs.length ? median(xs) : null;
      };
      out.push({
        row: row.name,
        target,
        runs: c.runs.length,
        opsPerSec: m((r) => r.opsPerSec) ?? 0,
        p50Ms: m((r) => r.latency.p50Ms) ?? Number.NaN,
        p99Ms: m((r) => r.latency.p99Ms) ?? Number.NaN,
        p999Ms: m((r) => r.latency.p999Ms) ?? Number.NaN,
        serverMsPerOp: m((r) => r.cpu.serverMsPerOp),
        clientMsPerOp: m((r) => r.cpu.clientMsPerOp),
        serverFaultsPerOp: m((r) => r.cpu.serverFaultsPerOp),
        errors: c.runs.reduce((a, r) => a + r.errors, 0),
        casFailed: c.runs.reduce((a, r) => a + r.casFailed, 0),
        ...(row.large ? { mibPerSec: ((m((r) => r.opsPerSec) ?? 0) * row.large.valueBytes) / 2 ** 20, peakRss: highestPeaks(c.peakRss) } : {}),
      });
    }
  }
  return out;
}

const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '-' : `${(a / b).toFixed(2)}x`;

function render(rows: Row[], targets: TargetKind[], summary: Summary[], runs: number, nConc: number): string {
  const get = (row: string, t: TargetKind) => summary.find((s) => s.row === row && s.target === t);
  const bw = targets.filter((t) => t !== 'etcd');
  const hasEtcd = targets.includes('etcd');
  const title = (r: Row) => `${r.title} (c=${r.concurrency === 'N' ? nConc : r.concurrency})`;
  const out: string[] = [];
  out.push(`\nThroughput, ops/s (median of ${runs} run${runs > 1 ? 's' : ''}); ratio = Bellwether / etcd`);
  out.push(
    table(
      ['workload', ...targets.map((t) => SHORT[t]), ...(hasEtcd ? bw.map((t) => `${SHORT[t]}/etcd`) : []), 'errors'],
      rows.map((r) => [
        title(r),
        ...targets.map((t) => fmtNum(get(r.name, t)?.opsPerSec ?? Number.NaN)),
        ...(hasEtcd ? bw.map((t) => ratio(get(r.name, t)?.opsPerSec, get(r.name, 'etcd')?.opsPerSec)) : []),
        targets.map((t) => String(get(r.name, t)?.errors ?? '-')).join('/'),
      ]),
    ),
  );
  out.push('\nLatency, ms: p50 / p99 / p99.9');
  out.push(
    table(
      ['workload', ...targets.map((t) => SHORT[t]), ...(hasEtcd ? bw.map((t) => `${SHORT[t]}/etcd p50`) : [])],
      rows.map((r) => [
        title(r),
        ...targets.map((t) => {
          const s = get(r.name, t);
          return s ? `${fmtMs(s.p50Ms)} / ${fmtMs(s.p99Ms)} / ${fmtMs(s.p999Ms)}` : '-';
        }),
        ...(hasEtcd ? bw.map((t) => ratio(get(r.name, t)?.p50Ms, get(r.name, 'etcd')?.p50Ms)) : []),
      ]),
    ),
  );
  out.push('\nCPU per operation, ms: all server processes together (client process in brackets)');
  out.push(
    table(
      ['workload', ...targets.map((t) => SHORT[t]), ...(hasEtcd ? bw.map((t) => `${SHORT[t]}/etcd`) : [])],
      rows.map((r) => [
        title(r),
        ...targets.map((t) => {
          const s = get(r.name, t);
          return s ? `${s.serverMsPerOp?.toFixed(3) ?? '-'} (${s.clientMsPerOp?.toFixed(3) ?? '-'})` : '-';
        }),
        ...(hasEtcd ? bw.map((t) => ratio(get(r.name, t)?.serverMsPerOp, get(r.name, 'etcd')?.serverMsPerOp)) : []),
      ]),
    ),
  );
  const largeRows = rows.filter((r) => r.large);
  if (largeRows.length > 0) out.push(renderLarge(largeRows, targets, get, title));
  if (hasEtcd && targets.includes('bellwether-sdk')) {
    const g = (row: string) => get(row, 'bellwether-sdk');
    const e = (row: string) => get(row, 'etcd');
    const checks: [string, boolean | undefined][] = [];
    const check = (what: string, ok: () => boolean | undefined) => {
      try {
        checks.push([what, ok()]);
      } catch {
        checks.push([what, undefined]);
      }
    };
    check(`put at ${nConc} in flight through the SDK >= 3x etcd`, () => g('put-N') && e('put-N') && g('put-N')!.opsPerSec >= 3 * e('put-N')!.opsPerSec);
    check('put at 1 in flight: SDK p50 <= etcd p50', () => g('put-1') && e('put-1') && g('put-1')!.p50Ms <= e('put-1')!.p50Ms);
    check('any-follower gets >= 3x etcd serializable', () => g('get-any-follower') && e('get-any-follower') && g('get-any-follower')!.opsPerSec >= 3 * e('get-any-follower')!.opsPerSec);
    check('read-your-writes gets >= 3x etcd serializable', () => g('get-read-your-writes') && e('get-read-your-writes') && g('get-read-your-writes')!.opsPerSec >= 3 * e('get-read-your-writes')!.opsPerSec);
    check('linearizable gets >= etcd linearizable', () => g('get-linearizable') && e('get-linearizable') && g('get-linearizable')!.opsPerSec >= e('get-linearizable')!.opsPerSec);
    for (const row of ['put-N', 'get-any-follower', 'get-linearizable']) {
      check(`server CPU per op <= etcd (${row})`, () => {
        const a = g(row)?.serverMsPerOp;
        const b = e(row)?.serverMsPerOp;
        return a !== undefined && a !== null && b !== undefined && b !== null ? a <= b : undefined;
      });
    }
    const large = rows.find((r) => r.large);
    if (large) {
      const raw = get(large.name, 'bellwether-raw');
      check(`${large.name}: SDK MiB/s >= 2x etcd`, () => g(large.name) && e(large.name) && g(large.name)!.opsPerSec >= 2 * e(large.name)!.opsPerSec);
      check(`${large.name}: plain gRPC MiB/s >= etcd`, () => raw && e(large.name) && raw.opsPerSec >= e(large.name)!.opsPerSec);
      check(`${large.name}: server CPU per put <= etcd`, () => {
        const a = g(large.name)?.serverMsPerOp;
        const b = e(large.name)?.serverMsPerOp;
        return a !== undefined && a !== null && b !== undefined && b !== null ? a <= b : undefined;
      });
      check(`${large.name}: SDK p99 <= etcd p99`, () => g(large.name) && e(large.name) && g(large.name)!.p99Ms <= e(large.name)!.p99Ms);
      check(`${large.name}: 0 errors through the SDK`, () => g(large.name) && g(large.name)!.errors === 0);
      check(`${large.name}: peak RSS of every member <= 1 GiB`, () => g(large.name)?.peakRss?.every((p) => p.peakRssBytes !== null && p.peakRssBytes <= 2 ** 30));
    }
    out.push('\nGoals of issues 6 and 19 (SDK vs etcd, on these figures)');
    for (const [what, ok] of checks) out.push(`  ${ok === undefined ? 'n/a ' : ok ? 'met ' : 'NOT '} ${what}`);
    checks.length = 0;
    const raw = (row: string) => get(row, 'bellwether-raw');
    const opsRatio = (s: Summary | undefined, row: string) => (s && e(row) ? s.opsPerSec / e(row)!.opsPerSec : undefined);
    const cpuAtMost = (s: Summary | undefined, row: string) => {
      const a = s?.serverMsPerOp;
      const b = e(row)?.serverMsPerOp;
      return a !== undefined && a !== null && b !== undefined && b !== null ? a <= b : undefined;
    };
    if (targets.includes('bellwether-raw')) {
      check(`plain gRPC put at ${nConc} in flight >= 1.2x etcd`, () => at(opsRatio(raw('put-N'), 'put-N'), 1.2));
      check('plain gRPC any-follower gets >= 1.2x etcd serializable', () => at(opsRatio(raw('get-any-follower'), 'get-any-follower'), 1.2));
      check('plain gRPC linearizable gets >= 1.0x etcd', () => at(opsRatio(raw('get-linearizable'), 'get-linearizable'), 1.0));
      for (const r of rows) if (!r.large) check(`plain gRPC server CPU per op <= etcd (${r.name})`, () => cpuAtMost(raw(r.name), r.name));
    }
    check('SDK put at 1 in flight: p50 <= 0.9x etcd', () => g('put-1') && e('put-1') && g('put-1')!.p50Ms <= 0.9 * e('put-1')!.p50Ms);
    check('SDK put at 1 in flight: server CPU per op <= etcd', () => cpuAtMost(g('put-1'), 'put-1'));
    check(`SDK put at ${nConc} in flight >= 5x etcd`, () => at(opsRatio(g('put-N'), 'put-N'), 5));
    check('SDK any-follower gets >= 6x etcd serializable', () => at(opsRatio(g('get-any-follower'), 'get-any-follower'), 6));
    check('SDK linearizable gets >= 5x etcd', () => at(opsRatio(g('get-linearizable'), 'get-linearizable'), 5));
    out.push('\nGoals of issue 16 (plain gRPC and SDK vs etcd, on these figures)');
    for (const [what, ok] of checks) out.push(`  ${ok === undefined ? 'n/a ' : ok ? 'met ' : 'NOT '} ${what}`);
  }
  return out.join('\n');
}

/** `undefined` (n/a) when there is no ratio, else whether it reaches `goal`. */
const at = (ratio: number | undefined, goal: number) => (ratio === undefined || !Number.isFinite(ratio) ? undefined : ratio >= goal);

export interface RunRatio {
  row: string;
  target: TargetKind;
  /** Per run, in run order: Bellwether's ops/s over etcd's, and its server CPU per op over etcd's. */
  opsRatio: (number | null)[];
  cpuRatio: (number | null)[];
}

/** Each Bellwether target's ratios to etcd run by run (run i of one against run i of the other, on the same machine state). */
function perRunRatios(rows: Row[], targets: TargetKind[], cells: Map<string, Cell>): RunRatio[] {
  const out: RunRatio[] = [];
  for (const row of rows) {
    const etcd = cells.get(`${row.name}|etcd`);
    if (!etcd) continue;
    for (const target of targets.filter((t) => t !== 'etcd')) {
      const bw = cells.get(`${row.name}|${target}`);
      if (!bw) continue;
      const n = Math.min(bw.runs.length, etcd.runs.length);
      const div = (a: number | null, b: number | null) => (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : a / b);
      out.push({
        row: row.name,
        target,
        opsRatio: Array.from({ length: n }, (_, i) => div(bw.runs[i]!.opsPerSec, etcd.runs[i]!.opsPerSec)),
        cpuRatio: Array.from({ length: n }, (_, i) => div(bw.runs[i]!.cpu.serverMsPerOp, etcd.runs[i]!.cpu.serverMsPerOp)),
      });
    }
  }
  return out;
}

function renderPerRun(rows: Row[], targets: TargetKind[], cells: Map<string, Cell>, orders: string[][], nConc: number): string {
  const ratios = perRunRatios(rows, targets, cells);
  if (ratios.length === 0) return '';
  const title = (name: string) => {
    const r = rows.find((x) => x.name === name)!;
    return `${r.title} (c=${r.concurrency === 'N' ? nConc : r.concurrency})`;
  };
  const fmt = (xs: (number | null)[]) => xs.map((x) => (x === null ? '-' : `${x.toFixed(2)}x`)).join(' ');
  return (
    `\n\nPer-run ratios to etcd, run 1..${orders.length} (ops/s | server CPU per op); run order: ${orders.map((o, i) => `${i + 1}: ${o.join(' > ')}`).join('; ')}\n` +
    table(
      ['workload', 'target', 'ops/s ratio', 'CPU/op ratio'],
      ratios.map((r) => [title(r.row), SHORT[r.target], fmt(r.opsRatio), fmt(r.cpuRatio)]),
    )
  );
}

interface MemberPeak {
  id: string;
  peakRssBytes: number | null;
}

function memberPeaks(pids: ServerPid[]): MemberPeak[] {
  return pids.map((p) => ({ id: p.id, peakRssBytes: processMemory(p.pid)?.peakRssBytes ?? null }));
}

/** Per member (by position), the highest peak over the runs. */
function highestPeaks(runs: MemberPeak[][]): MemberPeak[] {
  const out: MemberPeak[] = [];
  for (const run of runs) {
    run.forEach((p, i) => {
      const prev = out[i]?.peakRssBytes ?? null;
      out[i] = { id: p.id, peakRssBytes: prev === null ? p.peakRssBytes : p.peakRssBytes === null ? prev : Math.max(prev, p.peakRssBytes) };
    });
  }
  return out;
}

function renderLarge(rows: Row[], targets: TargetKind[], get: (row: string, t: TargetKind) => Summary | undefined, title: (r: Row) => string): string {
  const mib = (b: number | null) => (b === null ? '?' : (b / 2 ** 20).toFixed(0));
  return (
    '\nLarge values: MiB/s, p99 ms, errors, server CPU ms per put, servers\' minor page faults per put, peak RSS of each member (MiB, since it started)\n' +
    table(
      ['workload', 'target', 'MiB/s', 'p99', 'errors', 'CPU/put', 'faults/put', 'peak RSS'],
      rows.flatMap((r) =>
        targets.map((t) => {
          const s = get(r.name, t);
          return [
            title(r),
            SHORT[t],
            s?.mibPerSec?.toFixed(1) ?? '-',
            s ? fmtMs(s.p99Ms) : '-',
            String(s?.errors ?? '-'),
            s?.serverMsPerOp?.toFixed(1) ?? '-',
            s?.serverFaultsPerOp?.toFixed(0) ?? '-',
            s?.peakRss?.map((p) => `${p.id} ${mib(p.peakRssBytes)}`).join(', ') ?? '-',
          ];
        }),
      ),
    )
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`compare: ${err.message} (see --help)`);
      process.exit(2);
    }
    console.error('compare: failed:', err);
    process.exit(1);
  },
);
