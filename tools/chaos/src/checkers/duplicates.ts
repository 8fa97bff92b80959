// Checker 2: no write is applied twice.
//
// A write makes exactly one revision (its log index), and every value is
// unique per write. So:
// - every observation of a value (the write's acknowledgement, reads, a
//   refused compare-and-swap's current state) carries the same mod revision;
//   a value at two revisions was applied twice;
// - one revision of a key carries one value (else a revision was reused);
// - a set never holds the same element twice;
// - a counter's final count is at most acknowledged + unknown-outcome increments.
// The first two also make values and revisions correspond one to one, which the
// linearizability checker relies on to read a compare-and-swap's expected
// revision as a value.
import type { Op } from '../history';
import { counterCount, keyKind, setElements } from '../values';
import { type CheckerReport, groupByKey, isAckedWrite, observedState, type Violation, verdictOf } from './report';

export function checkDuplicates(ops: readonly Op[]): CheckerReport {
  const violations: Violation[] = [];
  let observations = 0;
  for (const [key, list] of groupByKey(ops)) {
    const revsOfValue = new Map<string, Map<number, Op>>();
    const valueOfRev = new Map<number, { value: string; op: Op }>();
    const note = (value: string, rev: number, op: Op) => {
      observations++;
      let revs = revsOfValue.get(value);
      if (!revs) revsOfValue.set(value, (revs = new Map()));
      if (!revs.has(rev)) revs.set(rev, op);
      const other = valueOfRev.get(rev);
      if (!other) valueOfRev.set(rev, { value, op });
      else if (other.value !== value) {
        violations.push({ key, what: `revision ${rev} carries two values, ${JSON.stringify(other.value)} and ${JSON.stringify(value)}`, excerpt: [other.op, op] });
      }
    };
    for (const op of list) {
      if (isAckedWrite(op) && op.value !== undefined && op.revision !== undefined) note(op.value, op.revision, op);
      const seen = observedState(op);
      if (seen) note(seen.value, seen.modRevision, op);
      if (seen && keyKind(key) === 'set') {
        const elements = setElements(seen.value);
        const dup = elements.find((e, i) => elements.indexOf(e) !== i);
        if (dup) violations.push({ key, what: `element ${dup} appears twice in one read of the set`, excerpt: [op] });
      }
    }
    for (const [value, revs] of revsOfValue) {
      if (revs.size > 1) {
        violations.push({
          key,
          what: `value ${JSON.stringify(value)} appears at ${revs.size} revisions (${[...revs.keys()].join(', ')}): applied more than once`,
          excerpt: [...revs.values()].sort((a, b) => a.invokeMs - b.invokeMs),
        });
      }
    }
    if (keyKind(key) === 'counter') {
      const ceiling = list.filter((op) => op.f === 'cas' && (isAckedWrite(op) || op.outcome === 'info')).length;
      for (const op of list) {
        const seen = observedState(op);
        if (seen && counterCount(seen.value) > ceiling) {
          violations.push({ key, what: `count ${counterCount(seen.value)} exceeds the ${ceiling} increments that were acknowledged or may have applied`, excerpt: [op] });
          break;
        }
      }
    }
  }
  return {
    checker: 'duplicates',
    property: 'no write applied twice (one revision per value, one value per revision, no repeated set element, counters within bounds)',
    valid: verdictOf(violations),
    checked: `${observations} value/revision observations`,
    violations,
    notes: [],
  };
}
