// pnpm bench [flags]: one workload against one target, on a local 3-member
// cluster the command starts (or on --endpoints), printing ops/s, latency
// percentiles, errors and CPU per process, and writing a JSON result.
import { type LocalCluster, startLocal } from './clusters';
import { READ_MODES, type ReadMode, TARGET_KINDS, type TargetKind } from './drivers';
import { describeResult, type RunResult, WORKLOADS, type Workload } from './engine';
import { ensureEtcd } from './etcd';
import { processMemory } from './procstat';
import { renderProfile, summarizeProfileDir } from './profile';
import { machine, writeResult } from './results';
import { startFanOut } from './watch-fanout';
import { COMMON_FLAGS, configFrom, type Endpoints, endpointsOf, keySpaceFor, measure, preloadKeys, systemOf } from './runner';
import { type FlagSpec, flagHelp, fmtNum, parseFlags, UsageError } from './util';
import { countCopies, printCopies } from './copy-count';
import { parseDownWindow } from './follower-down';
import { memoryOverTime } from './memory-curve';

const FLAGS: Record<string, FlagSpec> = {
  target: { kind: 'string', default: 'bellwether-sdk', help: `what to drive: ${TARGET_KINDS.join(' | ')}` },
  workload: {
    kind: 'string',
    default: 'put',
    help: `${WORKLOADS.join(' | ')} (mixed: reads and puts; cas: compare-and-swap on the last known revision; txn: two-key transactions; watch: puts while --watchers watch every key, reporting events/s delivered and server CPU per event)`,
  },
  watchers: { kind: 'int', default: 100, help: 'for --workload watch: how many watches of every key' },
  'read-mode': { kind: 'string', default: 'linearizable', help: `for get/mixed: ${READ_MODES.join(' | ')} (etcd: linearizable, or serializable for the others)` },
  endpoints: { kind: 'list', help: 'use a running cluster at these client addresses instead of starting one (no server CPU then)' },
  large: { kind: 'bool', default: false, help: 'the large-value row: 1 MiB values, 64 in flight, 1,280 keys (flags given after it still apply); prints MiB/s and each member\'s peak RSS' },
  memory: { kind: 'bool', default: false, help: 'memory mode: --memory-puts puts twice, reporting each server\'s RSS after each' },
  'memory-puts': { kind: 'int', default: 1_000_000, help: 'puts per memory phase' },
  'memory-minutes': { kind: 'number', help: 'memory mode over time instead: puts for this many minutes, RSS of each server after every --memory-sample-s (e.g. --value-bytes 1048576 --concurrency 64)' },
  'memory-sample-s': { kind: 'number', default: 60, help: 'with --memory-minutes: seconds between RSS samples' },
  'follower-down-minutes': { kind: 'string', help: 'with --memory-minutes: a follower is stopped (SIGSTOP) from minute A to minute B (A-B, e.g. 2-5), then resumed and catches up; the RSS table covers both' },
  copies: { kind: 'bool', default: false, help: 'count the copies of one value (--value-bytes, 1 MiB with --large) made in JavaScript by the client and each member, by call site (Bellwether targets; starts its own cluster)' },
  tls: { kind: 'bool', default: false, help: 'bellwether-sdk: client TLS and peer mutual TLS on separate ports (throwaway certificates)' },
  auth: { kind: 'bool', default: false, help: 'bellwether-sdk: auth enabled; the SDK logs in as root and every call carries its token' },
  ...COMMON_FLAGS,
};

async function main(argv: string[]): Promise<number> {
  const f = parseFlags(argv.includes('--large') ? ['--value-bytes', '1048576', '--concurrency', '64', '--keyspace', '1280', ...argv] : argv, FLAGS);
  if (f['help']) {
    console.log(flagHelp('Usage: pnpm bench [flags]   e.g. pnpm bench --target etcd --workload get --read-mode serializable', FLAGS));
    return 0;
  }
  const target = f['target'] as TargetKind;
  if (!TARGET_KINDS.includes(target)) throw new UsageError(`--target: expected ${TARGET_KINDS.join(', ')}, got "${target}"`);
  if (f['copies']) {
    if (target === 'etcd') throw new UsageError('--copies counts Bellwether\'s copies: --target bellwether-sdk or bellwether-raw');
    const valueBytes = f['value-bytes'] as number;
    printCopies(target, valueBytes, await countCopies(target, valueBytes));
    return 0;
  }
  const workload = f['workload'] as Workload;
  if (!WORKLOADS.includes(workload)) throw new UsageError(`--workload: expected ${WORKLOADS.join(', ')}, got "${workload}"`);
  const readMode = f['read-mode'] as ReadMode;
  if (!READ_MODES.includes(readMode)) throw new UsageError(`--read-mode: expected ${READ_MODES.join(', ')}, got "${readMode}"`);
  if (target === 'etcd' && readMode !== 'linearizable' && readMode !== 'serializable') {
    console.error(`note: etcd has no ${readMode} mode; using serializable (member-local) reads`);
  }
  const cfg = configFrom(f, target, workload, readMode);
  const memory = f['memory'] as boolean;
  const memoryPuts = f['memory-puts'] as number;
  if (memory) cfg.workload = 'put';
  const system = systemOf(target);
  const given = f['endpoints'] as string[] | undefined;
  if (f['profile'] && system !== 'bellwether') throw new UsageError('--profile works for Bellwether targets only');
  const secure = { tls: f['tls'] as boolean, auth: f['auth'] as boolean };
  if ((secure.tls || secure.auth) && (target !== 'bellwether-sdk' || given)) throw new UsageError('--tls and --auth work with --target bellwether-sdk on a cluster the bench starts');

  const keys = keySpaceFor(cfg);
  let cluster: LocalCluster | undefined;
  const stopCluster = async () => {
    const c = cluster;
    cluster = undefined;
    if (c) await c.stop();
  };
  const onSignal = () => {
    stopCluster().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let ep: Endpoints;
    let version = 'external';
    if (given && given.length > 0) {
      const leader = given[0]!;
      ep = { members: given, leader, serverPids: () => [] };
      console.error(`using the running cluster at ${given.join(', ')} (writes go to ${leader}; no server CPU figures)`);
    } else {
      if (system === 'etcd') ensureEtcd();
      console.error(`starting a local 3-member ${system} cluster...`);
      cluster = await startLocal(system, { profileDir: f['profile'] as string | undefined, ...secure });
      version = cluster.version;
      ep = await endpointsOf(cluster);
      console.error(`members ${ep.members.join(', ')}; leader ${ep.leader}`);
    }

    const results: RunResult[] = [];
    const memoryPhases: { afterPuts: number; acknowledgedPuts: number; result: RunResult; servers: { id: string; pid: number; rssBytes: number | null; peakRssBytes: number | null }[] }[] = [];
    const needsPreload = cfg.preload === 'yes' || (cfg.preload === 'auto' && (workload === 'get' || workload === 'mixed') && !memory);
    if (needsPreload) {
      const load = await preloadKeys(cfg, ep, keys);
      console.error(`loaded ${fmtNum(load.ops)} keys in ${load.durationS.toFixed(1)} s (${fmtNum(load.opsPerSec)} puts/s; failed attempts ${load.errors}${load.errors ? `: ${Object.keys(load.errorsByCode).join(', ')}` : ''})`);
    }
    const memoryMinutes = f['memory-minutes'] as number | undefined;
    if (memory && memoryMinutes !== undefined) {
      const sampleS = Math.max(1, f['memory-sample-s'] as number);
      const windows = Math.max(1, Math.round((memoryMinutes * 60) / sampleS));
      const downText = f['follower-down-minutes'] as string | undefined;
      if (downText !== undefined && (system !== 'bellwether' || given)) throw new UsageError('--follower-down-minutes needs a Bellwether cluster the bench starts');
      const table = await memoryOverTime(cfg, ep, keys, windows, sampleS, target, downText === undefined ? undefined : parseDownWindow(downText));
      memoryPhases.push(...table);
      results.push(...table.map((p) => p.result));
    } else if (memory) {
      let acknowledged = 0;
      for (let phase = 1; phase <= 2; phase++) {
        const r = await measure({ ...cfg, ops: memoryPuts, warmupS: 0 }, ep, keys, `memory phase ${phase}: ${fmtNum(memoryPuts)} puts ${target}`);
        console.log(describeResult(r));
        const servers = ep.serverPids().map((s) => {
          const m = processMemory(s.pid);
          return { id: s.id, pid: s.pid, rssBytes: m?.rssBytes ?? null, peakRssBytes: m?.peakRssBytes ?? null };
        });
        acknowledged += r.ops;
        memoryPhases.push({ afterPuts: memoryPuts * phase, acknowledgedPuts: acknowledged, result: r, servers });
        console.log(
          `  RSS after ${fmtNum(memoryPuts * phase)} puts sent (${fmtNum(acknowledged)} acknowledged): ${servers.map((s) => `${s.id} ${s.rssBytes === null ? '?' : (s.rssBytes / 2 ** 20).toFixed(0)} MiB (peak ${s.peakRssBytes === null ? '?' : (s.peakRssBytes / 2 ** 20).toFixed(0)} MiB)`).join(', ')}`,
        );
        results.push(r);
      }
    } else if (workload === 'watch') {
      if (system !== 'bellwether') throw new UsageError('--workload watch is for Bellwether targets');
      const watchers = f['watchers'] as number;
      const fan = await startFanOut(ep.members, watchers);
      try {
        // Each watcher sees one put before measuring, so all of them are live.
        await measure({ ...cfg, workload: 'put', ops: Math.max(watchers, 100), warmupS: 0, quiet: true }, ep, keys, 'watch warm-up');
        if (!(await fan.ready(30_000))) console.error('note: not every watcher delivered an event during the warm-up');
        let events0 = fan.events;
        const r = await measure({ ...cfg, workload: 'put' }, ep, keys, `watch fan-out: puts ${target} c=${cfg.concurrency}, ${watchers} watchers`, () => {
          events0 = fan.events;
        });
        const delivered = fan.events - events0;
        console.log(describeResult(r));
        const perEvent = delivered > 0 && r.cpu.servers.length > 0 ? (r.cpu.serverTotalSeconds * 1e6) / delivered : null;
        console.log(
          `  watch: ${fmtNum(delivered / r.durationS)} events/s delivered to ${watchers} watchers (${fmtNum(delivered)} events; ${(delivered / Math.max(1, r.ops)).toFixed(1)} per put); server CPU ${perEvent === null ? 'n/a' : `${perEvent.toFixed(1)} us`} per event delivered`,
        );
        results.push({ ...r, workload: 'watch', watch: { watchers, events: delivered, eventsPerSec: delivered / r.durationS, serverCpuUsPerEvent: perEvent } } as RunResult);
      } finally {
        await fan.stop();
      }
    } else {
      const label = `${workload}${workload === 'get' || workload === 'mixed' ? ` ${readMode}` : ''} ${target}${secure.tls ? ' +tls' : ''}${secure.auth ? ' +auth' : ''} c=${cfg.concurrency}`;
      // Profiled nodes drop what they sampled before the measured window.
      const restartProfilers =
        f['profile'] && !given
          ? () => {
              for (const p of ep.serverPids()) process.kill(p.pid, 'SIGUSR2');
            }
          : undefined;
      const r = await measure(cfg, ep, keys, label, restartProfilers);
      console.log(describeResult(r));
      if (cfg.valueBytes >= 64 * 1024) {
        const peaks = ep.serverPids().map((s) => `${s.id} ${((processMemory(s.pid)?.peakRssBytes ?? Number.NaN) / 2 ** 20).toFixed(0)} MiB`);
        console.log(`  ${((r.opsPerSec * cfg.valueBytes) / 2 ** 20).toFixed(1)} MiB/s of values; peak RSS per member: ${peaks.join(', ') || 'n/a'}`);
      }
      results.push(r);
    }

    const path = writeResult(
      memory ? `memory-${target}` : `bench-${target}-${workload}`,
      {
        kind: memory ? 'bellwether-bench/memory' : 'bellwether-bench/run',
        version: 1,
        createdAt: new Date().toISOString(),
        machine: machine(),
        system,
        systemVersion: version,
        members: ep.members,
        leader: ep.leader,
        config: { ...cfg, memory, memoryPuts: memory && memoryMinutes === undefined ? memoryPuts : undefined, memoryMinutes, ...secure },
        results,
        memory: memory ? memoryPhases : undefined,
      },
      f['out'] as string | undefined,
    );
    console.log(`result: ${path}`);
    const pids = ep.serverPids();
    await stopCluster();
    if (f['profile'] && !given) {
      // The nodes write their profiles as they exit.
      const names = new Map(pids.map((p) => [`${p.pid}.cpuprofile`, p.id]));
      for (const s of summarizeProfileDir(f['profile'] as string)) console.log(renderProfile(s, names));
    }
    return results.every((r) => r.ops > 0) ? 0 : 1;
  } finally {
    await stopCluster();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`bench: ${err.message} (see --help)`);
      process.exit(2);
    }
    console.error('bench: failed:', err);
    process.exit(1);
  },
);
