// Checker: every watcher sees every write to its keys exactly once, in
// revision order, across the faults (the SDK resumes its watch on another
// member from the last revision it received).
//
// For each watcher (a prefix and the events it delivered, up to the revision
// it was known to have caught up to):
// - events come in non-decreasing revision order, and no (revision, key)
//   repeats (no duplicate);
// - every acknowledged write to a key under its prefix, at a revision it has
//   caught up to, is among its events with the same value (no gap);
// - every event is a write the history holds (acknowledged or of unknown
//   outcome) with that value (no phantom), and if the write was acknowledged,
//   at its revision.
import type { Op } from '../history';
import { type CheckerReport, isAckedWrite, type Violation, verdictOf } from './report';

/** What one watcher delivered. */
export interface WatchLog {
  name: string;
  prefix: string;
  events: { revision: number; key: string; type: 'put' | 'delete'; value: string }[];
  /** Every change up to this revision was delivered (the last header revision it received). */
  caughtUpTo: number;
  /** Errors that ended the watch (a Compacted, ...); none expected. */
  errors: string[];
}

export function checkWatches(ops: readonly Op[], logs: readonly WatchLog[]): CheckerReport {
  const violations: Violation[] = [];
  const writes = ops.filter((op) => (op.f === 'put' || op.f === 'cas') && op.outcome !== 'fail' && op.value !== undefined);
  const byValue = new Map<string, Op>(writes.map((op) => [`${op.key}\0${op.value}`, op]));
  let events = 0;
  for (const log of logs) {
    for (const e of log.errors) violations.push({ key: log.prefix, what: `watcher ${log.name} ended with an error: ${e}`, excerpt: [] });
    const seen = new Set<string>();
    let last = 0;
    for (const ev of log.events) {
      events++;
      if (ev.revision < last) violations.push({ key: ev.key, what: `watcher ${log.name}: revision ${ev.revision} after ${last} (out of order)`, excerpt: [] });
      last = Math.max(last, ev.revision);
      const id = `${ev.revision}\0${ev.key}`;
      if (seen.has(id)) violations.push({ key: ev.key, what: `watcher ${log.name}: the change at revision ${ev.revision} was delivered twice`, excerpt: [] });
      seen.add(id);
      if (ev.type !== 'put') continue;
      const op = byValue.get(`${ev.key}\0${ev.value}`);
      if (!op) violations.push({ key: ev.key, what: `watcher ${log.name}: value ${JSON.stringify(ev.value)} at revision ${ev.revision} was never written (or its write failed)`, excerpt: [] });
      else if (isAckedWrite(op) && op.revision !== ev.revision) {
        violations.push({ key: ev.key, what: `watcher ${log.name}: write acknowledged at revision ${op.revision} delivered at ${ev.revision}`, excerpt: [op] });
      }
    }
    for (const op of ops) {
      if (!isAckedWrite(op) || !op.key.startsWith(log.prefix) || op.revision === undefined || op.revision > log.caughtUpTo) continue;
      if (!seen.has(`${op.revision}\0${op.key}`)) {
        violations.push({ key: op.key, what: `watcher ${log.name} (caught up to ${log.caughtUpTo}) never delivered the write acknowledged at revision ${op.revision}`, excerpt: [op] });
      }
    }
  }
  return {
    checker: 'watch',
    property: 'every watcher sees every acknowledged write to its keys exactly once, in revision order, across faults',
    valid: verdictOf(violations),
    checked: `${events} events from ${logs.length} watchers against ${writes.length} writes`,
    violations: violations.slice(0, 50),
    notes: logs.map((l) => `${l.name} (${l.prefix}): ${l.events.length} events, caught up to revision ${l.caughtUpTo}`),
  };
}
