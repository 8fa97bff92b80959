// Checker 5: any-follower reads (and read-your-writes reads, which are served
// from local state too) return only values that were written, by a write
// invoked before the read completed. Within one session, any-follower reads of
// a key must not go backwards when the SDK promises monotonic reads; it does
// not today (README: "the member's local copy, maybe stale"), so by default
// backward steps are counted and reported as a note, not a violation.
import type { Op } from '../history';
import { type CheckerReport, type Violation, verdictOf } from './report';

export function checkAnyFollower(ops: readonly Op[], opts: { monotonic?: boolean } = {}): CheckerReport {
  const monotonic = opts.monotonic ?? false;
  const violations: Violation[] = [];
  const notes: string[] = [];
  const writerOf = new Map<string, Op>();
  for (const op of ops) if ((op.f === 'put' || op.f === 'cas') && op.value !== undefined) writerOf.set(op.value, op);
  let checked = 0;
  let backwards = 0;
  let firstBackwards: Op[] | undefined;
  const lastBySessionKey = new Map<string, Op>();
  const reads = ops.filter((op) => op.f === 'get' && op.outcome === 'ok' && op.mode !== 'linearizable' && op.workload !== 'final');
  reads.sort((a, b) => a.invokeMs - b.invokeMs);
  for (const r of reads) {
    checked++;
    if (r.read) {
      const w = writerOf.get(r.read.value);
      if (!w || w.key !== r.key) {
        violations.push({ key: r.key, what: `${r.mode} read returned ${JSON.stringify(r.read.value)}, which no operation wrote to ${r.key}`, excerpt: [r] });
      } else if (w.invokeMs > r.completeMs) {
        violations.push({ key: r.key, what: `${r.mode} read returned a value whose write was invoked only after the read completed`, excerpt: [r, w] });
      }
    }
    if (r.mode !== 'any-follower') continue;
    const sk = `${r.session}\u0000${r.key}`;
    const prev = lastBySessionKey.get(sk);
    if (prev && prev.completeMs < r.invokeMs && (r.read?.modRevision ?? 0) < (prev.read?.modRevision ?? 0)) {
      backwards++;
      firstBackwards ??= [prev, r];
      if (monotonic) violations.push({ key: r.key, what: `session ${r.session}'s any-follower reads went backwards`, excerpt: [prev, r] });
    }
    if (!prev || (r.read?.modRevision ?? 0) >= (prev.read?.modRevision ?? 0)) lastBySessionKey.set(sk, r);
  }
  if (!monotonic) {
    notes.push(
      `${backwards} times a session's any-follower read was older than its previous one (allowed: the SDK does not promise monotonic any-follower reads)${
        firstBackwards ? `; first: ${firstBackwards[1]!.key} in session ${firstBackwards[1]!.session}, revision ${firstBackwards[0]!.read?.modRevision ?? 0} then ${firstBackwards[1]!.read?.modRevision ?? 0}` : ''
      }`,
    );
  }
  return {
    checker: 'any-follower',
    property: `follower-served reads return only written values${monotonic ? '; any-follower reads never go backwards within a session' : ''}`,
    valid: verdictOf(violations),
    checked: `${checked} any-follower and read-your-writes reads`,
    violations,
    notes,
  };
}
