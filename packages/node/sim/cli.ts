import { parseArgs } from 'node:util';
import { NODE_BUGS, type NodeBugName } from './bugs';
import { failureReport, replayCommand } from './failure-report';
import { parseFaultKinds } from './fault-plan';
import { type NodeSimOptions, runNodeSeed } from './simulation';

/**
 * pnpm --filter @bellwether/node sim --seeds N [--start S] [--nodes 3|5|both] [--bug NAME] [--trace]
 *   [--faults-off KIND,...] [--chaos-ms MS] [--keep-going]
 *
 * Runs seeds start..start+N-1 of the whole-node simulation and prints runs/s
 * and every violation with the command that replays it, shrunk, with the
 * part of the trace that concerns it (--trace: the whole trace instead).
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '20' },
      start: { type: 'string', default: '1' },
      nodes: { type: 'string', default: 'both' },
      bug: { type: 'string' },
      trace: { type: 'boolean', default: false },
      'faults-off': { type: 'string', default: '' },
      'chaos-ms': { type: 'string' },
      'keep-going': { type: 'boolean', default: false },
    },
  });
  const seeds = Number(values.seeds);
  const start = Number(values.start);
  const sizes = values.nodes === 'both' ? [3, 5] : [Number(values.nodes)];
  const bug = values.bug as NodeBugName | undefined;
  if (bug !== undefined && !NODE_BUGS.includes(bug)) throw new Error(`unknown bug ${bug}; known: ${NODE_BUGS.join(', ')}`);
  const faultsOff = parseFaultKinds(values['faults-off']);
  const chaosMs = values['chaos-ms'] === undefined ? undefined : Number(values['chaos-ms']);
  if (chaosMs !== undefined && !(Number.isInteger(chaosMs) && chaosMs > 0)) throw new Error(`--chaos-ms must be a positive integer, got ${values['chaos-ms']}`);
  const t0 = performance.now();
  let runs = 0;
  let failed = 0;
  let acked = 0;
  let virtualMs = 0;
  const totals: Record<string, number> = {};
  let lastReport = t0;
  outer: for (let seed = start; seed < start + seeds; seed++) {
    for (const nodes of sizes) {
      const opts: NodeSimOptions = { seed, nodes, ...(bug ? { bug } : {}), ...(faultsOff.length > 0 ? { faultsOff } : {}), ...(chaosMs !== undefined ? { chaosMs } : {}) };
      const r = await runNodeSeed({ ...opts, trace: values.trace });
      runs++;
      acked += r.stats.acked;
      virtualMs += r.stats.virtualMs;
      for (const [k, v] of Object.entries(r.stats)) totals[k] = (totals[k] ?? 0) + v;
      if (!r.ok) {
        failed++;
        if (values.trace) {
          console.log(`VIOLATION seed=${seed} nodes=${nodes}: ${r.violation}`);
          console.log(`  setup: ${r.setup}`);
          console.log(`  replay: ${replayCommand(opts)} --trace`);
          for (const line of r.trace ?? []) console.log(`    ${line}`);
        } else for (const line of (await failureReport(opts, r)).lines) console.log(line);
        if (!values['keep-going']) break outer;
      } else if (values.trace) for (const line of r.trace ?? []) console.log(`    ${line}`);
      const now = performance.now();
      if (now - lastReport > 10_000) {
        lastReport = now;
        console.log(`... ${runs} runs, ${failed} violations, ${(runs / ((now - t0) / 1000)).toFixed(1)} runs/s`);
      }
    }
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`runs: ${runs} (seeds ${start}..${start + seeds - 1} x ${sizes.join('/')} nodes), violations: ${failed}`);
  console.log(`writes acknowledged: ${acked}, virtual time: ${(virtualMs / 1000).toFixed(0)} s`);
  console.log(`totals: ${JSON.stringify(totals)}`);
  console.log(`time: ${secs.toFixed(1)} s, ${(runs / secs).toFixed(2)} runs/s`);
  return failed > 0 && bug === undefined ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 2;
  },
);
