import type { FaultKind } from './fault-plan';
import { type NodeSimOptions, type NodeSimResult, runNodeSeed } from './simulation';

/**
 * Delta debugging of a failing seed: the same seed re-run with a shorter
 * chaos window and with fault kinds switched off, one at a time, keeping
 * every reduction that still fails by the same checker with a trace no
 * longer than the best so far. Time before the
 * window's end runs exactly as in the original (the window only decides when
 * the network heals); a fault switched off changes the run from then on, so
 * the result is a smaller run of its own, replayed with its own options.
 */

export interface ShrunkFailure {
  /** The smallest failing run found (the original when nothing could be taken away). */
  result: NodeSimResult;
  faultsOff: FaultKind[];
  chaosMs: number;
  /** The original run's chaos window. */
  originalChaosMs: number;
  /** Simulations run while shrinking. */
  runs: number;
}

const DEFAULT_CHAOS_MS = 3000;
const WINDOW_STEP_MS = 250;

export async function shrinkFailure(opts: NodeSimOptions, failed: NodeSimResult, maxRuns = 30): Promise<ShrunkFailure> {
  const originalChaosMs = opts.chaosMs ?? DEFAULT_CHAOS_MS;
  const best: ShrunkFailure = { result: failed, faultsOff: [...(opts.faultsOff ?? [])], chaosMs: originalChaosMs, originalChaosMs, runs: 0 };
  const stillFails = async (faultsOff: FaultKind[], chaosMs: number): Promise<boolean> => {
    if (best.runs >= maxRuns) return false;
    best.runs++;
    const r = await runNodeSeed({ ...opts, faultsOff, chaosMs, trace: false });
    // A reduction counts only if it fails the same way in no more events than the best so far.
    if (r.ok || r.checker !== failed.checker || (r.trace?.length ?? 0) > (best.result.trace?.length ?? 0)) return false;
    Object.assign(best, { result: r, faultsOff, chaosMs });
    return true;
  };
  // Binary search for the shortest window (in steps) that still fails.
  const shortenWindow = async () => {
    let lo = 1;
    let hi = Math.floor(best.chaosMs / WINDOW_STEP_MS);
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (await stillFails(best.faultsOff, mid * WINDOW_STEP_MS)) hi = mid;
      else lo = mid + 1;
    }
  };
  await shortenWindow();
  for (const kind of failed.faults) {
    if (!best.faultsOff.includes(kind)) await stillFails([...best.faultsOff, kind], best.chaosMs);
  }
  await shortenWindow();
  return best;
}
