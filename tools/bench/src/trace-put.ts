// One put at a time, traced: a local 3-node cluster, N sequential puts
// through the SDK, and what each put cost every member in messages, LevelDB
// batches, event-loop callbacks and context switches, from counters the
// servers keep (/metrics) and the kernel's (/proc), divided by N.
//
//   pnpm --filter @bellwether/bench trace-put [--puts 500] [--warmup 200] [--no-callbacks]
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from '@bellwether/client';
import { httpGet, startMetricsCluster } from '@bellwether/integration/metrics-cluster';
import { processCpuSeconds } from './procstat';
import { type FlagSpec, type FlagValues, fmtNum, leaderOrStop, runCommand, table, UsageError } from './util';

const FLAGS: Record<string, FlagSpec> = {
  puts: { kind: 'int', default: 500, help: 'puts traced, one after another' },
  warmup: { kind: 'int', default: 200, help: 'puts made first, not traced' },
  'value-bytes': { kind: 'int', default: 256, help: 'bytes per value' },
  keys: { kind: 'int', default: 100, help: 'keys written in turn (the warm-up writes each once when it is at least this long: a hot keyspace)' },
  'no-callbacks': { kind: 'bool', default: false, help: 'do not count event-loop callbacks (BELLWETHER_COUNT_CALLBACKS): CPU then is not inflated by async hooks' },
  help: { kind: 'bool', default: false, help: 'print this help' },
};

/** Prometheus text: `name{a="b",...} value` lines, summed by name plus each label set. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** Voluntary context switches of the main thread (its wake-ups from epoll) and of all threads (the thread pool's included). */
function contextSwitches(pid: number): { main: number; all: number } {
  const read = (tid: string) => Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? 0);
  let all = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      all += read(tid);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return { main: read(String(pid)), all };
}

interface Sample {
  metrics: Map<string, number>;
  ctx: { main: number; all: number };
  cpuS: number;
}

async function sample(node: { pid: number; url: string }): Promise<Sample> {
  const metrics = parseMetrics((await httpGet(node.url)).body);
  return { metrics, ctx: contextSwitches(node.pid), cpuS: processCpuSeconds(node.pid) ?? Number.NaN };
}

/** Rows of the trace: what grew between two samples, per put. */
function rowsOf(before: Sample, after: Sample, puts: number, scrapeCost: Map<string, number>): Map<string, number> {
  const rows = new Map<string, number>();
  for (const [name, value] of after.metrics) {
    const m = /^bellwether_(peer_messages_(sent|received)_total\{type="([^"]+)"\}|peer_batches_(sent|received)_total|store_batches_total\{sync="(true|false)"\}|store_log_appends_total|store_apply_reads_total|event_loop_callbacks_total\{type="([^"]+)"\}|kv_operations_total\{op="put",result="ok"\})$/.exec(name);
    if (!m) continue;
    const grown = value - (before.metrics.get(name) ?? 0) - (scrapeCost.get(name) ?? 0);
    let label: string;
    if (m[2]) label = `peer ${m[2]}: ${m[3]}`;
    else if (m[4]) label = `peer gRPC messages ${m[4]} (MessageBatch)`;
    else if (m[5]) label = `LevelDB batches, ${m[5] === 'true' ? 'synced' : 'unsynced'}`;
    else if (name.includes('apply_reads')) label = 'LevelDB reads by applies';
    else if (name.includes('log_appends')) label = 'log appends (synced, segment files)';
    else if (m[6]) label = `event-loop callbacks: ${m[6]}`;
    else label = 'client puts answered';
    rows.set(label, grown / puts);
  }
  rows.set('voluntary context switches, main thread', (after.ctx.main - before.ctx.main) / puts);
  rows.set('voluntary context switches, all threads', (after.ctx.all - before.ctx.all) / puts);
  rows.set('CPU ms', ((after.cpuS - before.cpuS) * 1000) / puts);
  return rows;
}

async function main(f: FlagValues): Promise<void> {
  const puts = f['puts'] as number;
  if (puts < 1) throw new UsageError('--puts: at least 1');
  const callbacks = !f['no-callbacks'];
  if (callbacks) process.env['BELLWETHER_COUNT_CALLBACKS'] = '1';
  const { cluster, http } = await startMetricsCluster(3);
  try {
    await leaderOrStop(cluster);
    const leader = await cluster.waitForLeader(10_000);
    const ordered = [leader, ...cluster.nodes.filter((n) => n !== leader)];
    const nodes = ordered.map((n) => ({ id: n.id, pid: n.pid!, url: `http://${http(n)}/metrics` }));
    const client = await connect({ endpoints: ordered.map((n) => n.address) });
    const value = Buffer.alloc(f['value-bytes'] as number, 7);
    const keys = f['keys'] as number;
    if (keys < 1) throw new UsageError('--keys: at least 1');
    const key = (i: number) => Buffer.from(`k${String(i % keys).padStart(15, '0')}`);
    for (let i = 0; i < (f['warmup'] as number); i++) await client.put(key(i), value);
    // What one scrape itself adds to the counters (the scrape's own socket callbacks), to subtract.
    const s0 = await Promise.all(nodes.map(sample));
    const s1 = await Promise.all(nodes.map(sample));
    const scrapeCost = s1.map((s, i) => new Map([...s.metrics].map(([k, v]) => [k, v - (s0[i]!.metrics.get(k) ?? 0)])));
    const before = await Promise.all(nodes.map(sample));
    const t0 = performance.now();
    for (let i = 0; i < puts; i++) await client.put(key(i), value);
    const elapsedMs = performance.now() - t0;
    const after = await Promise.all(nodes.map(sample));
    await client.close();

    const perNode = nodes.map((_, i) => rowsOf(before[i]!, after[i]!, puts, scrapeCost[i]!));
    const labels = [...new Set(perNode.flatMap((r) => [...r.keys()]))].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
    const rows = labels.flatMap((label) => {
      const values = perNode.map((r) => r.get(label) ?? 0);
      // Kinds that did not occur during the trace (e.g. votes) are left out.
      if (values.every((v) => Math.abs(v) < 0.005)) return [];
      return [[label, ...values.map((v) => fmtNum(v, 2)), fmtNum(values.reduce((a, b) => a + b, 0), 2)]];
    });
    console.log(`one put at a time through the SDK: ${puts} puts in ${fmtNum(elapsedMs, 0)} ms (${fmtNum(elapsedMs / puts, 3)} ms each); per put:`);
    // The member that answered the puts led while they ran (an election under load may have moved it).
    const role = (i: number) => ((perNode[i]!.get('client puts answered') ?? 0) > 0.5 ? 'leader' : 'follower');
    console.log(table(['', ...nodes.map((n, i) => `${n.id} (${role(i)})`), 'all'], rows));
    if (callbacks) console.log('(event-loop callbacks counted with async hooks on: CPU ms is inflated; run with --no-callbacks for CPU)');
    console.log('load average:', readFileSync('/proc/loadavg', 'utf8').trim());
  } finally {
    await cluster.stop();
  }
}

/** Messages first, then batches, callbacks, switches, CPU. */
function order(label: string): number {
  if (label.startsWith('client')) return 0;
  if (label.startsWith('peer')) return 1;
  if (label.startsWith('LevelDB')) return 2;
  if (label.startsWith('event')) return 3;
  if (label.startsWith('voluntary')) return 4;
  return 5;
}

runCommand('trace-put', 'Usage: pnpm --filter @bellwether/bench trace-put [flags]', FLAGS, main);
