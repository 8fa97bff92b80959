// pnpm bench:fleet --clients N --processes P: N SDK clients spread over P
// load-generator processes (fleet-worker.ts; one event loop would be the
// bottleneck, and real fleets are many processes), against a local 3-node
// Bellwether cluster. Phases, each bounded:
//
// 1. baseline: the cluster's server CPU with no client at all;
// 2. idle: the N clients connected (each made one write) and doing nothing:
//    server CPU above the baseline per idle client per second, client memory
//    per client, connections (server side, from /proc/net/tcp) and open
//    HTTP/2 streams (client side, from grpc-js channelz) per member;
// 3. load (--load-ms > 0): every client puts and gets at a low rate: latency
//    percentiles and errors, measured after --load-warmup-ms, and the CPU of
//    the servers and of the load generators per operation;
// 4. kill (--kill): the same load, kill -9 of the leader; per client, the
//    longest write stall after the kill (median, p99, max over clients);
//    per 500 ms after the kill, the puts started and their latencies, and
//    the CPU of every load generator and surviving member;
//    then every acknowledged put is read back: lost (missing) and doubled
//    (version > 1: each key is written once) are counted.
//
// The load average is printed with every figure: the machine may be shared.
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { connect } from '@bellwether/client';
import { BellwetherLocal } from './clusters';
import type { FleetReply, FleetRequest, Memory, PutSample, StreamCount } from './fleet-protocol';
import { summarize } from './latency';
import { renderProfile, summarizeProfileDir } from './profile';
import { cpuDelta, cpuSnapshot, processCpuSeconds, round } from './procstat';
import { machine, writeResult } from './results';
import { type FlagSpec, flagHelp, fmtMs, fmtNum, parseFlags, sleep, table, UsageError, withTimeout } from './util';

const FLAGS: Record<string, FlagSpec> = {
  clients: { kind: 'int', default: 100, help: 'SDK clients in all' },
  processes: { kind: 'int', default: 4, help: 'load-generator processes the clients are spread over' },
  'window-ms': { kind: 'int', default: 10_000, help: 'CPU measurement window of the baseline and idle phases' },
  'connect-interval-ms': { kind: 'int', default: 20, help: 'pause between two client starts in one process (application processes do not all start in the same millisecond)' },
  'settle-ms': { kind: 'int', default: 3000, help: 'wait after the clients connected before measuring' },
  'load-ms': { kind: 'int', default: 0, help: 'length of the load phase (0: no load phase)' },
  'load-warmup-ms': { kind: 'int', default: 2000, help: 'load before the load phase measures (clients open connections to the members they had not used yet)' },
  puts: { kind: 'number', default: 1, help: 'puts per second per client in the load and kill phases' },
  gets: { kind: 'number', default: 10, help: 'gets per second per client in the load and kill phases' },
  kill: { kind: 'bool', default: false, help: 'kill -9 the leader under load and measure each client\'s write stall' },
  'before-kill-ms': { kind: 'int', default: 3000, help: 'load before the kill' },
  'after-kill-ms': { kind: 'int', default: 6000, help: 'load after the kill' },
  profile: { kind: 'string', help: 'write a V8 CPU profile of each member into this directory and print where its CPU went (whole run)' },
  'worker-node-flags': { kind: 'string', help: 'extra Node.js flags for the load generators, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (the kill\'s time is printed as a monotonic clock reading to line profiles up)' },
  sdk: { kind: 'string', help: 'load the SDK of the workers from this module path instead of @bellwether/client (to compare an older build)' },
  out: { kind: 'string', help: 'JSON result path (default bench-results/fleet-<time>.json at the repo root)' },
  help: { kind: 'bool', default: false, help: 'print this help' },
};

const WORKER = new URL('./fleet-worker.ts', import.meta.url).pathname;
const MiB = 1024 * 1024;

/** One load-generator process and its replies, awaited by type. */
class Worker {
  readonly child: ChildProcess;
  readonly #waiting: { type: FleetReply['type']; resolve: (r: FleetReply) => void; reject: (e: Error) => void }[] = [];

  constructor(
    readonly index: number,
    nodeFlags: string[],
  ) {
    // --expose-gc: the worker collects garbage before reading its memory.
    this.child = fork(WORKER, [], { execArgv: ['--import', 'tsx', '--expose-gc', ...nodeFlags], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (r: FleetReply) => {
      if (r.type === 'error') {
        for (const w of this.#waiting.splice(0)) w.reject(new Error(`worker ${index}: ${r.message}`));
        return;
      }
      const i = this.#waiting.findIndex((w) => w.type === r.type);
      if (i >= 0) this.#waiting.splice(i, 1)[0]!.resolve(r);
    });
    this.child.on('exit', (code) => {
      for (const w of this.#waiting.splice(0)) w.reject(new Error(`worker ${index} exited (${code})`));
    });
  }

  ask<T extends FleetReply['type']>(req: FleetRequest, reply: T, timeoutMs: number): Promise<Extract<FleetReply, { type: T }>> {
    const p = new Promise<FleetReply>((resolve, reject) => {
      this.#waiting.push({ type: reply, resolve, reject });
      this.child.send(req);
    });
    return withTimeout(p as Promise<Extract<FleetReply, { type: T }>>, timeoutMs, `worker ${this.index}: ${req.type}`);
  }

  /** Lets the process exit on its own for up to `graceMs` (it writes a CPU profile as it exits), then kills it. */
  async stop(graceMs: number): Promise<void> {
    const { child } = this;
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await Promise.race([exited, sleep(graceMs)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** Server-side TCP connections in ESTABLISHED state on each local port (IPv4 loopback). */
function serverConnections(ports: number[]): Map<number, number> {
  const counts = new Map(ports.map((p) => [p, 0]));
  let text = '';
  try {
    text = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return counts;
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== '01') continue;
    const port = Number.parseInt(f[1]!.split(':')[1] ?? '', 16);
    if (counts.has(port)) counts.set(port, counts.get(port)! + 1);
  }
  return counts;
}

async function cpuWindow(cluster: BellwetherLocal, ms: number): Promise<{ cpuPerSecond: number; perMember: Record<string, number | null>; loadavg: string }> {
  const before = cpuSnapshot(cluster.serverPids());
  await sleep(ms);
  const d = cpuDelta(before, cpuSnapshot(cluster.serverPids()));
  const seconds = ms / 1000;
  return {
    cpuPerSecond: d.serverTotalSeconds / seconds,
    perMember: Object.fromEntries(d.servers.map((s) => [s.id, s.cpuSeconds === null ? null : round(s.cpuSeconds / seconds, 4)])),
    loadavg: load(),
  };
}

/** The phase after a kill is cut into steps of this length for its timeline (at most 10, within --after-kill-ms). */
const KILL_TIMELINE_STEP_MS = 500;

interface CpuTimeline {
  names: string[];
  /** Per step, the cores each process used. */
  cores: number[][];
}

/** Samples the CPU of `procs` every step from now on (a process that is gone counts 0). */
async function cpuTimeline(procs: { name: string; pid: number }[], t: { stepMs: number; steps: number }): Promise<CpuTimeline> {
  const read = () => procs.map((p) => processCpuSeconds(p.pid) ?? Number.NaN);
  const cores: number[][] = [];
  let last = read();
  let at = performance.now();
  for (let i = 0; i < t.steps; i++) {
    await sleep(t.stepMs);
    const now = read();
    const t1 = performance.now();
    cores.push(now.map((v, j) => round((v - last[j]!) / ((t1 - at) / 1000), 2)));
    last = now;
    at = t1;
  }
  return { names: procs.map((p) => p.name), cores };
}

/** The puts started in each step after the kill (and the ones in flight at it, in the first), with their latencies from the later of start and kill. */
function putsAfterKill(puts: { startMs: number; endMs: number }[], t: { stepMs: number; steps: number }) {
  return Array.from({ length: t.steps }, (_, i) => {
    const from = i * t.stepMs;
    const ms = puts
      .filter((p) => p.endMs > 0 && (i === 0 ? p.startMs < t.stepMs : p.startMs >= from && p.startMs < from + t.stepMs))
      .map((p) => p.endMs - Math.max(p.startMs, 0))
      .sort((a, b) => a - b);
    return { fromMs: from, count: ms.length, p50Ms: ms[Math.floor(ms.length / 2)] ?? Number.NaN, maxMs: ms.at(-1) ?? Number.NaN };
  });
}

/** Per client, the longest a put waited after the kill: its end minus the later of its start and the kill. */
function stalls(puts: PutSample[], killAt: number, worker: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of puts) {
    if (p.endedAt <= killAt) continue;
    const key = `${worker}-${p.client}`;
    const stall = p.endedAt - Math.max(p.startedAt, killAt);
    out.set(key, Math.max(out.get(key) ?? 0, stall));
  }
  return out;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  if (flags['help']) {
    console.log(flagHelp('pnpm bench:fleet [flags]', FLAGS));
    return;
  }
  const clients = flags['clients'] as number;
  const processes = Math.max(1, Math.min(flags['processes'] as number, clients));
  const windowMs = flags['window-ms'] as number;
  if (clients < 1) throw new UsageError('--clients must be at least 1');
  const runId = randomUUID().slice(0, 8);
  const sdkModule = flags['sdk'] === undefined ? undefined : resolve(process.env['INIT_CWD'] ?? process.cwd(), flags['sdk'] as string);
  const result: Record<string, unknown> = { bench: 'fleet', machine: machine(), flags, runId };
  console.log(`fleet: ${clients} clients over ${processes} processes, 3-node cluster (load average ${load()})`);

  const profileDir = flags['profile'] as string | undefined;
  const cluster = await BellwetherLocal.start({ size: 3, profileDir });
  const pids = cluster.serverPids();
  const workers: Worker[] = [];
  try {
    const endpoints = cluster.addresses();
    const ports = endpoints.map((a) => Number(a.split(':').pop()));
    const baseline = await cpuWindow(cluster, windowMs);
    console.log(`baseline (no clients): ${fmtMs(baseline.cpuPerSecond * 1000)} ms server CPU/s in all (load average ${baseline.loadavg})`);
    result['baseline'] = baseline;

    // Connect the fleet.
    const t0 = performance.now();
    const workerFlags = ((flags['worker-node-flags'] as string | undefined) ?? '').split(' ').filter(Boolean);
    for (let w = 0; w < processes; w++) workers.push(new Worker(w, workerFlags));
    const shares = workers.map((w) => Math.floor(clients / processes) + (w.index < clients % processes ? 1 : 0));
    const ready = await Promise.all(
      workers.map((w, i) =>
        w.ask({ type: 'start', worker: w.index, runId, endpoints, clients: shares[i]!, settleMs: flags['settle-ms'] as number, connectIntervalMs: flags['connect-interval-ms'] as number, sdk: sdkModule }, 'ready', 300_000),
      ),
    );
    const memPerClient = (pick: (m: Memory) => number) => ready.reduce((s, r) => s + pick(r.memAfter) - pick(r.memBefore), 0) / clients;
    const memory = { rssPerClientBytes: memPerClient((m) => m.rssBytes), heapPerClientBytes: memPerClient((m) => m.heapUsedBytes) };
    const helloErrors = ready.reduce((s, r) => s + r.helloErrors, 0);
    for (const sample of new Set(ready.flatMap((r) => r.helloErrorSamples))) console.log(`  first-write failure: ${sample}`);
    console.log(
      `${helloErrors} of ${clients} first writes failed; connected in ${fmtNum((performance.now() - t0) / 1000, 1)} s; client memory per client: ${fmtNum(memory.rssPerClientBytes / MiB, 3)} MiB RSS, ${fmtNum(memory.heapPerClientBytes / MiB, 3)} MiB heap`,
    );
    result['clientMemory'] = memory;
    result['connect'] = { helloErrors, connectMs: Math.max(...ready.map((r) => r.connectMs)) };

    /** CPU-seconds the load generators have used so far, all together. */
    const clientCpu = async () => (await Promise.all(workers.map((w) => w.ask({ type: 'stats' }, 'stats', 60_000)))).reduce((n, x) => n + x.cpuSeconds, 0);

    // Idle.
    const idleClientCpu0 = await clientCpu();
    const idle = await cpuWindow(cluster, windowMs);
    const perClientMs = ((idle.cpuPerSecond - baseline.cpuPerSecond) * 1000) / clients;
    const conns = serverConnections(ports);
    const stats = await Promise.all(workers.map((w) => w.ask({ type: 'stats' }, 'stats', 60_000)));
    const byPort = new Map<number, StreamCount>();
    for (const s of stats.flatMap((x) => x.streams)) {
      const e = byPort.get(s.port) ?? { port: s.port, connections: 0, streams: 0 };
      e.connections += s.connections;
      e.streams += s.streams;
      byPort.set(s.port, e);
    }
    const members = cluster.cluster.nodes.map((n, i) => ({
      id: n.id,
      serverConnections: conns.get(ports[i]!) ?? 0,
      clientConnections: byPort.get(ports[i]!)?.connections ?? 0,
      openStreams: byPort.get(ports[i]!)?.streams ?? 0,
      idleCpuPerSecond: idle.perMember[n.id] ?? null,
    }));
    console.log(
      `idle: ${fmtMs(idle.cpuPerSecond * 1000)} ms server CPU/s in all, ${fmtNum(perClientMs, 4)} ms per idle client per second (load average ${idle.loadavg})`,
    );
    const streamSource = stats[0]?.streamSource ?? 'sdk';
    const clientCpuMsPerIdleClientPerSecond = ((stats.reduce((n, x) => n + x.cpuSeconds, 0) - idleClientCpu0) * 1000) / (windowMs / 1000) / clients;
    console.log(`client side: ${fmtNum(clientCpuMsPerIdleClientPerSecond, 4)} ms CPU per idle client per second (in the load generators)`);
    console.log(
      table(
        ['member', 'connections (server)', `connections (clients, ${streamSource})`, `open streams (${streamSource})`, 'idle CPU ms/s'],
        members.map((m) => [m.id, fmtNum(m.serverConnections), fmtNum(m.clientConnections), fmtNum(m.openStreams), fmtMs((m.idleCpuPerSecond ?? Number.NaN) * 1000)]),
      ),
    );
    result['idle'] = { ...idle, serverCpuMsPerIdleClientPerSecond: perClientMs, clientCpuMsPerIdleClientPerSecond, members, streamSource };

    const putsPerSecond = flags['puts'] as number;
    const getsPerSecond = flags['gets'] as number;
    const loadMs = flags['load-ms'] as number;
    const runLoad = async (warmupMs: number, during: () => Promise<void>) => {
      await Promise.all(workers.map((w) => w.ask({ type: 'load', putsPerSecond, getsPerSecond, warmupMs }, 'loading', 60_000)));
      await during();
      return Promise.all(workers.map((w) => w.ask({ type: 'stop-load' }, 'loaded', 120_000)));
    };
    const acked: PutSample[] = [];

    if (loadMs > 0) {
      let cpu: Awaited<ReturnType<typeof cpuWindow>> | undefined;
      let clientCpuSeconds = 0;
      const warmupMs = flags['load-warmup-ms'] as number;
      const replies = await runLoad(warmupMs, async () => {
        await sleep(warmupMs);
        const before = await clientCpu();
        cpu = await cpuWindow(cluster, loadMs);
        clientCpuSeconds = (await clientCpu()) - before;
      });
      const putMs = Float64Array.from(replies.flatMap((r) => r.puts.filter((p) => !p.warmup).map((p) => p.ms))).sort();
      const getMs = Float64Array.from(replies.flatMap((r) => r.getLatenciesMs)).sort();
      for (const r of replies) acked.push(...r.puts);
      const errors = replies.reduce((s, r) => s + r.errors, 0);
      const put = summarize(putMs);
      const get = summarize(getMs);
      const seconds = loadMs / 1000;
      console.log(
        `load: ${fmtNum((put.count + get.count) / seconds)} ops/s (${fmtNum(put.count / seconds)} puts/s, ${fmtNum(get.count / seconds)} gets/s), ${errors} errors, server CPU ${fmtMs((cpu?.cpuPerSecond ?? 0) * 1000)} ms/s (load average ${cpu?.loadavg})`,
      );
      console.log(
        table(
          ['op', 'count', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
          [
            ['put', fmtNum(put.count), fmtMs(put.p50Ms), fmtMs(put.p90Ms), fmtMs(put.p99Ms), fmtMs(put.maxMs)],
            ['get', fmtNum(get.count), fmtMs(get.p50Ms), fmtMs(get.p90Ms), fmtMs(get.p99Ms), fmtMs(get.maxMs)],
          ],
        ),
      );
      const ops = put.count + get.count;
      // The load generators share the machine with the cluster: what they took is what the servers could not have.
      const perOp = (seconds: number) => (ops > 0 ? (seconds * 1000) / ops : Number.NaN);
      const clientCpuMsPerOp = perOp(clientCpuSeconds);
      console.log(
        `client side: ${fmtNum(clientCpuMsPerOp, 3)} ms CPU per operation, ${fmtNum(clientCpuSeconds / seconds, 2)} cores (the load generators); servers ${fmtNum(perOp((cpu?.cpuPerSecond ?? 0) * seconds), 3)} ms per operation`,
      );
      result['load'] = { put, get, errors, errorKinds: replies.map((r) => r.errorKinds), cpu, clientCpuSeconds, clientCpuMsPerOp };
    }

    if (flags['kill']) {
      let killAt = 0;
      let leaderId = '';
      let newLeaderMs = 0;
      let timeline: CpuTimeline | undefined;
      const killTimeline = { stepMs: KILL_TIMELINE_STEP_MS, steps: Math.max(1, Math.min(10, Math.floor((flags['after-kill-ms'] as number) / KILL_TIMELINE_STEP_MS))) };
      // The load before the kill is its warm-up; every put counts towards the stalls.
      const replies = await runLoad(0, async () => {
        await sleep(flags['before-kill-ms'] as number);
        const leader = await cluster.cluster.waitForLeader(10_000);
        leaderId = leader.id;
        killAt = Date.now();
        const sampling = cpuTimeline(
          [...workers.map((w, i) => ({ name: `load generator ${i + 1}`, pid: w.child.pid ?? 0 })), ...cluster.serverPids().filter((p) => p.id !== leader.id).map((p) => ({ name: p.id, pid: p.pid }))],
          killTimeline,
        );
        if (workerFlags.length > 0) console.log(`kill at monotonic ${(Number(process.hrtime.bigint() / 1000n) / 1e6).toFixed(3)} s`);
        await leader.kill9();
        await cluster.cluster.waitForLeader(15_000);
        newLeaderMs = Date.now() - killAt;
        await sleep(Math.max(0, (flags['after-kill-ms'] as number) - newLeaderMs));
        timeline = await sampling;
      });
      const perClient = new Map<string, number>();
      for (const r of replies) for (const [k, v] of stalls(r.puts, killAt, r.worker)) perClient.set(k, v);
      for (const r of replies) acked.push(...r.puts);
      const stallSorted = Float64Array.from(perClient.values()).sort();
      const s = summarize(stallSorted);
      const errors = replies.reduce((sum, r) => sum + r.errors, 0);
      console.log(
        `leader ${leaderId} killed: the running members agreed on a new leader after ${fmtNum(newLeaderMs)} ms (polled); ${errors} errors (load average ${load()})`,
      );
      console.log(`longest write stall per client after the kill (${s.count} clients): median ${fmtMs(s.p50Ms)} ms, p99 ${fmtMs(s.p99Ms)} ms, max ${fmtMs(s.maxMs)} ms`);
      // Every put of the phase, from the kill (ms), for breakdowns of the stalls.
      const puts = replies.flatMap((r) => r.puts.map((p) => ({ client: `${r.worker}-${p.client}`, startMs: p.startedAt - killAt, endMs: p.endedAt - killAt })));
      const after = putsAfterKill(puts, killTimeline);
      console.log(`after the kill, per ${killTimeline.stepMs} ms (puts by start time; CPU in cores):`);
      console.log(table(['ms after kill', 'puts started', 'their p50 ms', 'max ms', ...(timeline?.names ?? [])], after.map((a, i) => [String(a.fromMs), fmtNum(a.count), fmtMs(a.p50Ms), fmtMs(a.maxMs), ...(timeline?.cores[i] ?? []).map((c) => fmtNum(c, 2))])));
      result['kill'] = { leaderId, newLeaderAgreedMs: newLeaderMs, stall: s, errors, errorKinds: replies.map((r) => r.errorKinds), afterKill: after, cpuTimeline: timeline, puts };
    }

    if (acked.length > 0) {
      // Every acknowledged put, read back linearizably from the cluster that is left.
      const reader = await connect({ endpoints: cluster.cluster.nodes.filter((n) => n.running).map((n) => n.address), readMode: 'linearizable', deadlineMs: 60_000 });
      try {
        const versions = new Map<string, number>();
        for await (const kv of reader.scan({ prefix: `fleet/${runId}/` }, { pageSize: 5000 })) versions.set(kv.keyString, kv.version);
        let lost = 0;
        let doubled = 0;
        for (const p of acked) {
          const v = versions.get(p.key);
          if (v === undefined) lost++;
          else if (v > 1) doubled++;
        }
        console.log(`${fmtNum(acked.length)} acknowledged puts read back: ${lost} lost, ${doubled} doubled`);
        result['check'] = { acknowledged: acked.length, lost, doubled };
      } finally {
        await reader.close();
      }
    }

    await Promise.all(workers.map((w) => w.ask({ type: 'close' }, 'closed', 60_000).catch(() => undefined)));
  } finally {
    await Promise.all(workers.map((w) => w.stop(5000)));
    await cluster.stop();
  }
  if (profileDir) {
    // The members write their profiles as they exit.
    const names = new Map(pids.map((p) => [`${p.pid}.cpuprofile`, p.id]));
    for (const s of summarizeProfileDir(profileDir)) console.log(renderProfile(s, names));
  }
  console.log(`result: ${writeResult('fleet', result, flags['out'] as string | undefined)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof UsageError ? `${err.message}\n\n${flagHelp('pnpm bench:fleet [flags]', FLAGS)}` : err);
  process.exit(err instanceof UsageError ? 2 : 1);
});
