import { shrinkFailure } from './shrink';
import type { NodeSimOptions, NodeSimResult } from './simulation';
import { traceExcerpt } from './trace-excerpt';

/**
 * What a failing seed prints: the violation, its setup and replay command,
 * then the run shrunk (shorter chaos window, fault kinds off) and the part of
 * its trace that concerns the violation, with how both were reduced.
 */
export interface FailureReport {
  /** Everything to print. */
  lines: string[];
  /** The violation of the shrunk run, and the trace lines printed for it. */
  violation: string;
  trace: string[];
}

export async function failureReport(opts: NodeSimOptions, failed: NodeSimResult, maxTraceLines = 60): Promise<FailureReport> {
  const out = [
    `VIOLATION seed=${failed.seed} nodes=${failed.nodes}: ${failed.violation}`,
    `  setup: ${failed.setup}`,
    `  replay: ${replayCommand(opts)} --trace`,
  ];
  const shrunk = await shrinkFailure(opts, failed);
  const r = shrunk.result;
  const cut = [
    shrunk.faultsOff.length > 0 ? `faults ${shrunk.faultsOff.join(',')} off` : 'no fault kind can be switched off',
    shrunk.chaosMs < shrunk.originalChaosMs ? `chaos ${shrunk.originalChaosMs} -> ${shrunk.chaosMs} ms` : `chaos ${shrunk.chaosMs} ms`,
  ];
  const trace = r.trace ?? [];
  const excerpt = traceExcerpt(trace, r.violation ?? '', maxTraceLines);
  const originalEvents = failed.trace?.length ?? trace.length;
  out.push(`  shrunk in ${shrunk.runs} runs: ${cut.join(', ')}; still fails: ${r.violation}`);
  if (r !== failed) out.push(`  replay shrunk: ${replayCommand({ ...opts, faultsOff: shrunk.faultsOff, chaosMs: shrunk.chaosMs })} --trace`);
  out.push(
    `  trace: ${excerpt.lines.length} of ${excerpt.of.toLocaleString("en-US")} lines${r !== failed ? ` (the original run had ${originalEvents.toLocaleString("en-US")})` : ""}: the violation's operations (${excerpt.operations.length}), cluster events and lines naming its clients and members nearest to them`,
  );
  for (const line of excerpt.lines) out.push(`    ${line}`);
  return { lines: out, violation: r.violation ?? '', trace: excerpt.lines };
}

export function replayCommand(opts: NodeSimOptions): string {
  const parts = [`pnpm --filter @bellwether/node sim --seeds 1 --start ${opts.seed} --nodes ${opts.nodes}`];
  if (opts.bug) parts.push(`--bug ${opts.bug}`);
  if (opts.faultsOff?.length) parts.push(`--faults-off ${opts.faultsOff.join(',')}`);
  if (opts.chaosMs !== undefined) parts.push(`--chaos-ms ${opts.chaosMs}`);
  return parts.join(' ');
}
