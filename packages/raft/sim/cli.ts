import { parseArgs } from 'node:util';
import { BUGS, type BugName } from './bugs.js';
import { parseFaults } from './faults.js';
import { runSeed } from './simulation.js';

/**
 * pnpm --filter @bellwether/raft sim --seeds N [--start S] [--nodes 3|5|both] [--faults drop,crash,...|all|none]
 *                                    [--ticks T] [--bug NAME] [--trace] [--stop-on-failure]
 *
 * Runs seeds start..start+N-1 and prints seeds/s, ticks simulated and every
 * violation with the command that replays it exactly.
 */

function main(): number {
  const { values } = parseArgs({
    // `pnpm sim -- --seeds 5` hands the script a `--`; it is not an option.
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      seeds: { type: 'string', default: '100' },
      start: { type: 'string' },
      seed: { type: 'string' },
      nodes: { type: 'string', default: 'both' },
      faults: { type: 'string' },
      ticks: { type: 'string' },
      bug: { type: 'string' },
      trace: { type: 'boolean', default: false },
      'stop-on-failure': { type: 'boolean', default: false },
    },
  });
  const seeds = Number(values.seeds);
  const start = Number(values.start ?? values.seed ?? '1');
  const nodesArg = values.nodes;
  const sizes = nodesArg === 'both' ? [3, 5] : [Number(nodesArg)];
  const faults = parseFaults(values.faults);
  const chaosTicks = values.ticks !== undefined ? Number(values.ticks) : undefined;
  const bug = values.bug as BugName | undefined;
  if (bug !== undefined && !(bug in BUGS)) throw new Error(`unknown bug ${bug}; known: ${Object.keys(BUGS).join(', ')}`);
  const trace = values.trace;
  const stopOnFailure = values['stop-on-failure'] || bug !== undefined;

  const t0 = performance.now();
  let ran = 0;
  let failed = 0;
  let ticks = 0;
  let acked = 0;
  let reads = 0;
  const totals: Record<string, number> = {};
  const perSize = new Map<number, number>();
  const byChecker = new Map<string, number>();
  let lastReport = t0;
  outer: for (let i = 0; i < seeds; i++) {
    const seed = start + i;
    for (const nodes of sizes) {
      const res = runSeed({ seed, nodes, faults, ...(chaosTicks !== undefined ? { chaosTicks } : {}), ...(bug ? { bug } : {}), trace });
      ran++;
      perSize.set(nodes, (perSize.get(nodes) ?? 0) + 1);
      ticks += res.stats.ticks;
      acked += res.stats.proposalsAcked;
      reads += res.stats.readsServed;
      for (const [k, v] of Object.entries(res.stats)) totals[k] = (totals[k] ?? 0) + v;
      if (!res.ok) {
        failed++;
        byChecker.set(res.checker ?? '?', (byChecker.get(res.checker ?? '?') ?? 0) + 1);
        console.log(`VIOLATION seed=${seed} nodes=${nodes}: ${res.violation}`);
        console.log(`  setup: ${res.setup}`);
        console.log(
          `  replay: pnpm --filter @bellwether/raft sim --seeds 1 --start ${seed} --nodes ${nodes} --faults ${faults.join(',') || 'none'}${chaosTicks !== undefined ? ` --ticks ${chaosTicks}` : ''}${bug ? ` --bug ${bug}` : ''} --trace`,
        );
        if (res.trace) for (const line of res.trace.slice(-60)) console.log(`    ${line}`);
        if (stopOnFailure) break outer;
      }
      const now = performance.now();
      if (now - lastReport > 10_000) {
        lastReport = now;
        console.log(`... ${ran} runs, ${failed} violations, ${(ran / ((now - t0) / 1000)).toFixed(1)} runs/s`);
      }
    }
  }
  const secs = (performance.now() - t0) / 1000;
  const sizesText = [...perSize].map(([n, c]) => `${c}x${n}-node`).join(', ');
  console.log(
    `runs: ${ran} (${sizesText}), seeds ${start}..${start + seeds - 1}, violations: ${failed}${byChecker.size ? ` ${JSON.stringify(Object.fromEntries(byChecker))}` : ''}`,
  );
  console.log(`ticks simulated: ${ticks}, proposals acknowledged: ${acked}, reads served: ${reads}`);
  console.log(`totals: ${JSON.stringify(totals)}`);
  console.log(`time: ${secs.toFixed(1)} s, ${(ran / secs).toFixed(1)} runs/s, ${(ticks / secs).toFixed(0)} ticks/s`);
  return failed > 0 && bug === undefined ? 1 : 0;
}

process.exitCode = main();
