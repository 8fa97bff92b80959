import type { Op } from '../history';

/** One broken promise and the smallest set of operations that shows it. */
export interface Violation {
  key: string;
  what: string;
  excerpt: Op[];
  /**
   * Set when the violation is explained by a server bug already diagnosed and
   * reported (see README "Found"); it is still a violation.
   */
  knownIssue?: string;
}

/** What one checker concluded. `valid: 'unknown'` when it could not decide (e.g. a search budget ran out). */
export interface CheckerReport {
  checker: string;
  /** The property, in one line. */
  property: string;
  valid: boolean | 'unknown';
  /** What it looked at, e.g. "5120 ops on 84 keys". */
  checked: string;
  violations: Violation[];
  /** Anything worth knowing that is not a violation. */
  notes: string[];
}

export function verdictOf(violations: readonly Violation[], unknown = false): boolean | 'unknown' {
  if (violations.length > 0) return false;
  return unknown ? 'unknown' : true;
}

export function groupByKey(ops: readonly Op[]): Map<string, Op[]> {
  const byKey = new Map<string, Op[]>();
  for (const op of ops) {
    const list = byKey.get(op.key);
    if (list) list.push(op);
    else byKey.set(op.key, [op]);
  }
  return byKey;
}

/** An op that certainly wrote its value: a put or a compare-and-swap acknowledged as applied. */
export function isAckedWrite(op: Op): boolean {
  return op.outcome === 'ok' && (op.f === 'put' || (op.f === 'cas' && op.succeeded === true));
}

/** The state an ok op observed (a read, or a refused compare-and-swap's current state). */
export function observedState(op: Op): Op['read'] {
  if (op.outcome !== 'ok') return undefined;
  if (op.f === 'get' || (op.f === 'cas' && op.succeeded === false)) return op.read;
  return undefined;
}
