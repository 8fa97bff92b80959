// Checker 6: a read's response header tells the truth about the state it was
// served from. kv.proto: "For a read: the revision of the state it was served
// from (equal to applied_index)". So what a read returns can never be newer
// than its header's revision: kv.mod_revision <= header.revision. The SDK
// builds its read-your-writes session index from header revisions, so a
// header that lags the state it served lets a later read of the same session
// go back in time (see checker read-your-writes).
import type { Op } from '../history';
import { type CheckerReport, type Violation, verdictOf } from './report';

/** Known server bug: KV.Get/Range compute the header before the asynchronous store read. */
export const HEADER_BEHIND_STATE = 'header-revision-behind-state';

export function checkHeaders(ops: readonly Op[]): CheckerReport {
  const violations: Violation[] = [];
  let checked = 0;
  for (const op of ops) {
    if (op.f !== 'get' || op.outcome !== 'ok' || op.headerRevision === undefined) continue;
    checked++;
    if (op.read && op.read.modRevision > op.headerRevision) {
      violations.push({
        key: op.key,
        what: `read returned mod revision ${op.read.modRevision} but its header says it was served from revision ${op.headerRevision}`,
        excerpt: [op],
        knownIssue: HEADER_BEHIND_STATE,
      });
    }
  }
  return {
    checker: 'headers',
    property: 'a read never returns data newer than its header revision (kv.proto: the revision of the state it was served from)',
    valid: verdictOf(violations),
    checked: `${checked} read headers`,
    violations,
    notes: [],
  };
}
