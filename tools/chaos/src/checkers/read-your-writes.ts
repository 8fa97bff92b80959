// Checker 4: read-your-writes reads keep their session's promise.
//
// Each worker is one session; it sends its session index (the highest
// revision it has written or read) as min_index. For every ok
// `read-your-writes` read R of key k by session s:
// - own writes: R's state is at least as new as every write of s to k that was
//   acknowledged before R was invoked (mod revision >= that write's revision);
// - own reads (when `monotonic`, which the SDK promises: "sees at least this
//   client's own earlier writes and reads"): R is not older than an earlier
//   read of k by s that completed before R was invoked;
// - min_index: R reflects every acknowledged write to k (by anyone) whose
//   revision is <= the min_index R sent (the server promised a state that has
//   applied min_index).
// Revisions are the server's; checker `duplicates` verifies they are consistent
// with the values.
import type { Op } from '../history';
import { HEADER_BEHIND_STATE } from './headers';
import { type CheckerReport, isAckedWrite, observedState, type Violation, verdictOf } from './report';

export function checkReadYourWrites(ops: readonly Op[], opts: { monotonic?: boolean } = {}): CheckerReport {
  const monotonic = opts.monotonic ?? true;
  const violations: Violation[] = [];
  let checked = 0;
  const sessionKey = (op: Op) => `${op.session}\u0000${op.key}`;
  const bySessionKey = new Map<string, Op[]>();
  const ackedByKey = new Map<string, Op[]>();
  for (const op of ops) {
    const sk = sessionKey(op);
    const list = bySessionKey.get(sk);
    if (list) list.push(op);
    else bySessionKey.set(sk, [op]);
    if (isAckedWrite(op)) {
      const acked = ackedByKey.get(op.key);
      if (acked) acked.push(op);
      else ackedByKey.set(op.key, [op]);
    }
  }
  for (const list of bySessionKey.values()) {
    for (const r of list) {
      if (r.f !== 'get' || r.mode !== 'read-your-writes' || r.outcome !== 'ok') continue;
      checked++;
      const seenRev = r.read?.modRevision ?? 0;
      let ownWrite: Op | undefined;
      let ownRead: Op | undefined;
      for (const e of list) {
        if (e === r || e.completeMs >= r.invokeMs) continue;
        if (isAckedWrite(e) && (e.revision ?? 0) > (ownWrite?.revision ?? 0)) ownWrite = e;
        const seen = observedState(e);
        if (seen && seen.modRevision > (ownRead?.read?.modRevision ?? 0)) ownRead = e;
      }
      if (ownWrite && seenRev < (ownWrite.revision ?? 0)) {
        violations.push({ key: r.key, what: `session ${r.session} read revision ${seenRev}, missing its own acknowledged write at revision ${ownWrite.revision}`, excerpt: [ownWrite, r] });
        continue;
      }
      if (monotonic && ownRead && seenRev < (ownRead.read?.modRevision ?? 0)) {
        // Explained by the header bug when the earlier read's header understated
        // what it returned and this read's min_index was built from that header.
        const earlier = ownRead.read?.modRevision ?? 0;
        const explained =
          ownRead.f === 'get' && ownRead.headerRevision !== undefined && ownRead.headerRevision < earlier && (r.minIndex ?? 0) < earlier;
        violations.push({
          key: r.key,
          what: `session ${r.session} read revision ${seenRev}, older than its own earlier read at revision ${earlier}${
            explained ? ` (that read's header said revision ${ownRead.headerRevision}, so the session sent min_index ${r.minIndex})` : ''
          }`,
          excerpt: [ownRead, r],
          knownIssue: explained ? HEADER_BEHIND_STATE : undefined,
        });
        continue;
      }
      const floor = r.minIndex ?? 0;
      let due: Op | undefined;
      for (const w of ackedByKey.get(r.key) ?? []) {
        const rev = w.revision ?? 0;
        if (rev <= floor && rev > seenRev && (!due || rev > (due.revision ?? 0))) due = w;
      }
      if (due) {
        violations.push({
          key: r.key,
          what: `read sent min_index ${floor} but saw revision ${seenRev}, missing the write at revision ${due.revision} <= min_index`,
          excerpt: [due, r],
        });
      }
    }
  }
  return {
    checker: 'read-your-writes',
    property: `read-your-writes reads see their session's earlier writes${monotonic ? ' and reads' : ''}, and every write up to their min_index`,
    valid: verdictOf(violations),
    checked: `${checked} read-your-writes reads`,
    violations,
    notes: [],
  };
}
