// The bench commands run end to end on real local clusters and write
// well-formed results. Tiny runs; speed is never asserted here.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PKG = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bellwether-bench-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function run(script: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join('src', script), ...args], { cwd: PKG, timeout: timeoutMs, killSignal: 'SIGTERM' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const isNum = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

function checkRun(r: Record<string, unknown>): void {
  for (const k of ['ops', 'errors', 'durationS', 'opsPerSec', 'concurrency']) assert.ok(isNum(r[k]), `${k} is a number`);
  const lat = r['latency'] as Record<string, unknown>;
  for (const k of ['p50Ms', 'p99Ms', 'p999Ms', 'maxMs', 'count']) assert.ok(k in lat, `latency.${k}`);
  const cpu = r['cpu'] as { servers: { id: string; pid: number; cpuSeconds: number | null }[]; clientSeconds: number; serverTotalSeconds: number };
  assert.equal(cpu.servers.length, 3, 'CPU of three server processes');
  assert.ok(isNum(cpu.clientSeconds) && isNum(cpu.serverTotalSeconds));
}

test('pnpm bench: a tiny put and get run against Bellwether writes a well-formed result', { timeout: 60_000 }, async () => {
  for (const [target, workload, mode] of [
    ['bellwether-sdk', 'put', 'linearizable'],
    ['bellwether-raw', 'get', 'any-follower'],
  ] as const) {
    const out = join(dir, `bench-${target}.json`);
    const args = ['--target', target, '--workload', workload, '--read-mode', mode, '--duration', '1', '--warmup', '0.2', '--concurrency', '4', '--keyspace', '200', '--quiet', '--out', out];
    const res = await run('bench.ts', args, 50_000);
    assert.equal(res.code, 0, `bench ${args.join(' ')} exited ${res.code}\n${res.stderr}\n${res.stdout}`);
    assert.match(res.stdout, /ops\/s/);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(json.kind, 'bellwether-bench/run');
    assert.equal(json.members.length, 3);
    assert.equal(json.results.length, 1);
    assert.equal(json.results[0].target, target);
    assert.equal(json.results[0].workload, workload);
    checkRun(json.results[0]);
  }
});

test('pnpm bench --memory-minutes --follower-down-minutes: a follower is stopped for the window, resumed, and every sample has each member\'s RSS', { timeout: 90_000 }, async () => {
  const out = join(dir, 'memory-down.json');
  const args = ['--memory', '--memory-minutes', '0.2', '--memory-sample-s', '3', '--follower-down-minutes', '0.04-0.11', '--value-bytes', '65536', '--concurrency', '8', '--keyspace', '64', '--quiet', '--out', out];
  const res = await run('bench.ts', args, 85_000);
  assert.equal(res.code, 0, `bench ${args.join(' ')} exited ${res.code}\n${res.stderr}\n${res.stdout}`);
  const stopped = /follower (n\d) \(pid \d+\) stopped \(SIGSTOP\)/.exec(res.stdout);
  assert.ok(stopped, res.stdout);
  assert.match(res.stdout, new RegExp(`follower ${stopped[1]} resumed \\(SIGCONT\\)`));
  assert.match(res.stdout, new RegExp(`\\(${stopped[1]} down\\)`), 'a sample taken while it was down says so');
  const json = JSON.parse(readFileSync(out, 'utf8'));
  const phases = json.memory as { servers: { rssBytes: number | null }[]; followerDown?: string }[];
  assert.equal(phases.length, 4);
  assert.ok(phases.some((p) => p.followerDown === stopped[1]));
  assert.ok(!phases.at(-1)!.followerDown, 'back before the last sample');
  for (const p of phases) assert.ok(p.servers.length === 3 && p.servers.every((s) => isNum(s.rssBytes)));
});

test('pnpm bench:failover: one kill -9 of the leader writes a well-formed result', { timeout: 60_000 }, async () => {
  const out = join(dir, 'failover.json');
  const res = await run('failover.ts', ['--reps', '1', '--writers', '4', '--settle-ms', '300', '--after-ms', '200', '--quiet', '--out', out], 55_000);
  // 0 = every repetition recovered and nothing was lost; 1 = a figure to look at. Both are results.
  assert.ok(res.code === 0 || res.code === 1, `failover exited ${res.code}\n${res.stderr}\n${res.stdout}`);
  const json = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(json.kind, 'bellwether-bench/failover');
  const s = json.results[0];
  assert.equal(s.system, 'bellwether');
  assert.equal(s.reps.length, 1);
  assert.ok(isNum(s.acknowledged) && isNum(s.lost));
  assert.ok('median' in s.windowMs && 'max' in s.windowMs);
  assert.match(res.stdout, /acknowledged writes .* lost \d+/);
});

test('pnpm bench:failover --mode rolling: one rolling restart through the SDK writes a well-formed result', { timeout: 150_000 }, async () => {
  const out = join(dir, 'failover-rolling.json');
  const args = ['--mode', 'rolling', '--client', 'sdk', '--reps', '1', '--writers', '4', '--settle-ms', '300', '--after-ms', '200', '--quiet', '--out', out];
  const res = await run('failover.ts', args, 140_000);
  assert.ok(res.code === 0 || res.code === 1, `failover exited ${res.code}\n${res.stderr}\n${res.stdout}`);
  const s = JSON.parse(readFileSync(out, 'utf8')).results[0];
  assert.equal(s.mode, 'rolling');
  assert.equal(s.restarts.length, 3, 'every member restarted once');
  assert.equal(s.restarts.filter((r: { wasLeader: boolean }) => r.wasLeader).length, 1, 'the leader among them');
  assert.ok(s.restarts[2].wasLeader, 'the leader last');
  for (const r of s.restarts) assert.ok(isNum(r.stallMs) && isNum(r.stopStallMs), 'a stall per restart');
  assert.equal(s.lost, 0);
  assert.match(res.stdout, /longest write stall per restart: median/);
});

test('pnpm bench:fleet: a tiny fleet idles, loads and sees a leader kill, and writes a well-formed result', { timeout: 120_000 }, async () => {
  const out = join(dir, 'fleet.json');
  const args = ['--clients', '6', '--processes', '2', '--window-ms', '500', '--settle-ms', '200', '--load-ms', '1000', '--kill', '--before-kill-ms', '500', '--after-kill-ms', '1500', '--out', out];
  const res = await run('fleet.ts', args, 110_000);
  assert.equal(res.code, 0, `fleet ${args.join(' ')} exited ${res.code}\n${res.stderr}\n${res.stdout}`);
  const json = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(json.bench, 'fleet');
  assert.ok(isNum(json.idle.serverCpuMsPerIdleClientPerSecond));
  assert.ok(isNum(json.clientMemory.rssPerClientBytes));
  assert.equal(json.idle.members.length, 3);
  assert.equal(json.idle.streamSource, 'sdk');
  // Each client holds one WatchLeader stream in all and at most one connection per member.
  const streams = json.idle.members.reduce((n: number, m: { openStreams: number }) => n + m.openStreams, 0);
  assert.ok(streams >= 6, `at least one stream per client, got ${streams}`);
  for (const m of json.idle.members) assert.ok(m.clientConnections <= 6, `at most one connection per client to ${m.id}`);
  assert.ok('p99Ms' in json.load.put && 'p99Ms' in json.load.get);
  assert.ok('p50Ms' in json.kill.stall && 'maxMs' in json.kill.stall);
  // The timeline after the kill: three 500 ms steps within --after-kill-ms, CPU of 2 load generators and 2 survivors each.
  assert.equal(json.kill.afterKill.length, 3);
  assert.deepEqual(json.kill.cpuTimeline.names.slice(0, 2), ['load generator 1', 'load generator 2']);
  assert.equal(json.kill.cpuTimeline.cores.length, 3);
  for (const step of json.kill.cpuTimeline.cores) assert.equal(step.length, 4);
  assert.ok(json.kill.puts.length > 0 && json.kill.puts.every((p: { startMs: number; endMs: number }) => p.endMs >= p.startMs));
  assert.match(res.stdout, /after the kill, per 500 ms/);
  assert.equal(json.check.lost, 0, 'no acknowledged put lost');
  assert.equal(json.check.doubled, 0, 'no put applied twice');
  assert.match(res.stdout, /per idle client per second/);
});

test('pnpm bench:compare --tiny: Bellwether and etcd side by side', { timeout: 90_000 }, async () => {
  try {
    execFileSync('bash', [join(PKG, 'scripts', 'ensure-etcd.sh')], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120_000 });
  } catch {
    assert.fail('bench:compare needs etcd: apt-get install -y etcd-server etcd-client (or set ETCD_BIN)');
  }
  const out = join(dir, 'compare.json');
  const res = await run('compare.ts', ['--tiny', '--quiet', '--out', out], 85_000);
  assert.equal(res.code, 0, `compare exited ${res.code}\n${res.stderr}\n${res.stdout}`);
  assert.match(res.stdout, /Throughput, ops\/s/);
  assert.match(res.stdout, /bw-sdk\/etcd/);
  const json = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(json.kind, 'bellwether-bench/compare');
  assert.deepEqual(json.config.rows, ['put-N', 'put-1', 'get-any-follower']);
  assert.equal(json.summary.length, 3 * 3);
  for (const s of json.summary) assert.ok(isNum(s.opsPerSec) && 'p99Ms' in s && 'serverMsPerOp' in s, JSON.stringify(s));
  for (const cell of json.runs) for (const r of cell.runs) checkRun(r);
  // Plain gRPC beside the SDK, each with its ratio to etcd run by run.
  assert.match(res.stdout, /bw-raw\/etcd/);
  assert.match(res.stdout, /Per-run ratios to etcd/);
  assert.match(res.stdout, /Goals of issue 16/);
  assert.deepEqual(json.runOrders, [['bw-sdk', 'bw-raw', 'etcd']]);
  assert.equal(json.perRunRatios.length, 3 * 2);
  for (const r of json.perRunRatios) assert.ok(r.opsRatio.length === 1 && isNum(r.opsRatio[0]) && r.cpuRatio.length === 1, JSON.stringify(r));
});

test('pnpm --filter @bellwether/bench scrape: CPU per /metrics scrape on each of 3 nodes', { timeout: 90_000 }, async () => {
  const res = await run('scrape.ts', ['--scrapes', '5', '--idle-s', '0.2'], 85_000);
  assert.equal(res.code, 0, `scrape exited ${res.code}\n${res.stderr}\n${res.stdout}`);
  assert.match(res.stdout, /CPU per \/metrics scrape, 3 nodes/);
  assert.equal(res.stdout.split('\n').filter((l) => /^n\d +5 /.test(l)).length, 3, res.stdout);
  assert.match(res.stdout, /^mean: -?[\d.]+ ms of CPU per scrape per node/m);
});

test('pnpm --filter @bellwether/bench connect-storm: first puts of clients connecting at once, and the leader before and after', { timeout: 90_000 }, async () => {
  const res = await run('connect-storm.ts', ['--clients', '5', '--rounds', '1', '--settle-ms', '200'], 85_000);
  assert.equal(res.code, 0, `connect-storm exited ${res.code}\n${res.stderr}\n${res.stdout}`);
  assert.match(res.stdout, /^5 clients, each on its own connection, make their first put to the leader at once/m);
  assert.match(res.stdout, /^1 +[\d.]+ +[\d.]+ +[\d.]+ +n\d \(term \d+\) +n\d \(term \d+\)$/m);
});

test('pnpm --filter @bellwether/bench trace-put: messages, batches and callbacks per put on each of 3 nodes', { timeout: 90_000 }, async () => {
  const res = await run('trace-put.ts', ['--puts', '20', '--warmup', '5'], 85_000);
  assert.equal(res.code, 0, `trace-put exited ${res.code}\n${res.stderr}\n${res.stdout}`);
  assert.match(res.stdout, /one put at a time through the SDK: 20 puts/);
  // Counted by the servers: every put is answered once, sent to both followers and stored synced on every member.
  assert.match(res.stdout, /^client puts answered( +[\d.]+){3} +1\.00$/m);
  assert.match(res.stdout, /^peer sent: append( +[\d.]+){3} +[1-9][\d.]*$/m);
  assert.match(res.stdout, /^log appends \(synced, segment files\)( +[\d.]+){3} +[23]\.\d\d$/m);
  assert.match(res.stdout, /^event-loop callbacks: classic_level\.batch\.write /m);
});
