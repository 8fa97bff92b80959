// What a Prometheus scrape costs a node: CPU per /metrics request on each
// member of a local 3-node cluster, net of what the idle node spends anyway.
//
//   pnpm --filter @bellwether/bench scrape [--scrapes 300] [--idle-s 5]
import { httpGet, startMetricsCluster } from '@bellwether/integration/metrics-cluster';
import { processCpuSeconds } from './procstat';
import { type FlagSpec, type FlagValues, fmtNum, leaderOrStop, runCommand, sleep, table, UsageError } from './util';

const FLAGS: Record<string, FlagSpec> = {
  scrapes: { kind: 'int', default: 300, help: 'scrapes of each member, one after another' },
  'idle-s': { kind: 'number', default: 5, help: 'seconds of idle CPU measured first, as the baseline subtracted' },
  nodes: { kind: 'int', default: 3, help: 'cluster size' },
  help: { kind: 'bool', default: false, help: 'print this help' },
};

async function main(f: FlagValues): Promise<void> {
  const scrapes = f['scrapes'] as number;
  if (scrapes < 1) throw new UsageError('--scrapes: at least 1');
  const { cluster, http } = await startMetricsCluster(f['nodes'] as number);
  try {
    await leaderOrStop(cluster);
    const nodes = cluster.nodes.map((n) => ({ id: n.id, pid: n.pid!, url: `http://${http(n)}/metrics` }));
    // Warm up: the first scrapes compile the code paths.
    for (const n of nodes) for (let i = 0; i < 20; i++) await httpGet(n.url);

    const cpu = () => nodes.map((n) => processCpuSeconds(n.pid) ?? Number.NaN);
    const idleS = f['idle-s'] as number;
    const idleStart = cpu();
    const idleT0 = performance.now();
    await sleep(idleS * 1000);
    const idleRate = cpu().map((c, i) => (c - idleStart[i]!) / ((performance.now() - idleT0) / 1000));

    const rows: string[][] = [];
    let totalNetMs = 0;
    for (const [i, n] of nodes.entries()) {
      const before = processCpuSeconds(n.pid)!;
      const t0 = performance.now();
      let bytes = 0;
      for (let s = 0; s < scrapes; s++) bytes += (await httpGet(n.url)).body.length;
      const elapsedS = (performance.now() - t0) / 1000;
      const usedS = processCpuSeconds(n.pid)! - before;
      const netMs = ((usedS - idleRate[i]! * elapsedS) * 1000) / scrapes;
      totalNetMs += netMs;
      rows.push([n.id, String(scrapes), fmtNum(usedS * 1000, 0), fmtNum(idleRate[i]! * elapsedS * 1000, 0), fmtNum(netMs, 2), fmtNum(bytes / scrapes / 1024, 1)]);
    }
    console.log(`CPU per /metrics scrape, ${nodes.length} nodes (CPU from /proc, idle CPU subtracted; clock tick 10 ms, so use hundreds of scrapes)`);
    console.log(table(['member', 'scrapes', 'cpu ms', 'idle ms', 'cpu ms/scrape', 'KiB/scrape'], rows));
    console.log(`mean: ${fmtNum(totalNetMs / nodes.length, 2)} ms of CPU per scrape per node; at a 15 s scrape interval that is ${fmtNum((totalNetMs / nodes.length / 15_000) * 100, 3)} % of one core`);
  } finally {
    await cluster.stop();
  }
}

runCommand('scrape', 'Usage: pnpm --filter @bellwether/bench scrape [flags]', FLAGS, main);
