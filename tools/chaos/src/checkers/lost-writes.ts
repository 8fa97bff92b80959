// Checker 1: no acknowledged write is lost.
//
// After the faults heal, the run reads every key back linearizably (the
// `final` reads). Then:
// - register: the final state is at least as new as every acknowledged write
//   (its mod revision is >= the write's revision). Which value is the right
//   one is the linearizability checker's business.
// - set (unique-value appends): every element whose append was acknowledged,
//   and every element any read ever saw, is in the final set.
// - counter: the final count is at least the number of acknowledged increments.
import type { Op } from '../history';
import { counterCount, keyKind, setElements } from '../values';
import { type CheckerReport, groupByKey, isAckedWrite, observedState, type Violation, verdictOf } from './report';

function finalRead(ops: readonly Op[]): Op | undefined {
  let last: Op | undefined;
  for (const op of ops) {
    if (op.workload === 'final' && op.f === 'get' && op.outcome === 'ok' && (!last || op.invokeMs > last.invokeMs)) last = op;
  }
  return last;
}

export function checkLostWrites(ops: readonly Op[]): CheckerReport {
  const violations: Violation[] = [];
  const notes: string[] = [];
  let acked = 0;
  let keys = 0;
  let unread = 0;
  for (const [key, list] of groupByKey(ops)) {
    const writes = list.filter(isAckedWrite);
    const fin = finalRead(list);
    if (!fin) {
      if (writes.length > 0) {
        unread++;
        notes.push(`${key}: no final read succeeded; its ${writes.length} acknowledged writes were not checked`);
      }
      continue;
    }
    keys++;
    acked += writes.length;
    const finalState = fin.read ?? null;
    switch (keyKind(key)) {
      case 'register': {
        const newest = writes.reduce<Op | undefined>((m, w) => (!m || (w.revision ?? 0) > (m.revision ?? 0) ? w : m), undefined);
        if (newest && (finalState?.modRevision ?? 0) < (newest.revision ?? 0)) {
          violations.push({
            key,
            what: `acknowledged write at revision ${newest.revision} is missing: the final state is ${finalState ? `at revision ${finalState.modRevision}` : 'absent'}`,
            excerpt: [newest, fin],
          });
        }
        break;
      }
      case 'set': {
        const present = new Set(setElements(finalState?.value));
        const reported = new Set<string>();
        for (const w of writes) {
          const element = setElements(w.value).at(-1);
          if (element && !present.has(element) && !reported.has(element)) {
            reported.add(element);
            violations.push({ key, what: `acknowledged append of ${element} is missing from the final set`, excerpt: [w, fin] });
          }
        }
        for (const r of list) {
          const seen = observedState(r);
          if (!seen || r === fin) continue;
          for (const element of setElements(seen.value)) {
            if (!present.has(element) && !reported.has(element)) {
              reported.add(element);
              violations.push({ key, what: `element ${element} was read, then is missing from the final set`, excerpt: [r, fin] });
            }
          }
        }
        break;
      }
      case 'counter': {
        const count = counterCount(finalState?.value);
        if (count < writes.length) {
          violations.push({
            key,
            what: `final count ${count} is below the ${writes.length} acknowledged increments`,
            excerpt: [...writes.slice(-3), fin],
          });
        }
        break;
      }
    }
  }
  return {
    checker: 'lost-writes',
    property: 'no acknowledged write is lost (final linearizable read-back of every key)',
    valid: verdictOf(violations, unread > 0),
    checked: `${acked} acknowledged writes on ${keys} keys`,
    violations,
    notes,
  };
}
