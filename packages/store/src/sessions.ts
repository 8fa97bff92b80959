import type { KeyValueRecord, SessionRecord, WriteResult } from './records';
import { sessionResultBytes } from './session-bytes';

/**
 * Client sessions for exactly-once writes: each (client_id, sequence) is
 * answered from the result remembered when it was first applied.
 */

/** The most results one client session keeps, however far behind its min_unacked_sequence. */
export const SESSION_RESULTS_KEPT = 4096;
/**
 * The most bytes of results (sessionResultBytes) one client session keeps:
 * the oldest are forgotten past it, the newest is always kept. Without it,
 * 4,096 results holding a 4 KiB previous value or a transaction's ranges
 * would make one session record tens of MiB, rewritten on every write.
 */
export const SESSION_RESULTS_KEPT_BYTES = 4 * 1024 * 1024;

/** The largest previous value a remembered result keeps whole (see rememberResult). */
export const SESSION_PREV_VALUE_KEPT_BYTES = 4096;

/** A session not written for this many log entries is forgotten (a deterministic rule, applied at every replica alike). */
export const SESSION_EXPIRY_ENTRIES = 1_000_000;
/** Expired sessions are swept when the applied index crosses a multiple of this. */
export const SESSION_SWEEP_EVERY_ENTRIES = 10_000;

const EMPTY = Buffer.alloc(0);

/** The remembered result of `sequence`, by binary search (results are kept in ascending sequence). */
export function findResult(session: SessionRecord, sequence: number): WriteResult | undefined {
  const list = session.results;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = list[mid]!.sequence;
    if (at === sequence) return list[mid]!.result;
    if (at < sequence) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/**
 * Records a result and forgets those the client has acknowledged (or that
 * overflow the cap). A previous value is kept only up to
 * SESSION_PREV_VALUE_KEPT_BYTES: up to 4,096 results of values up to 1 MiB
 * would make one session record gigabytes, rewritten on every write. A larger
 * one keeps its key and revisions, and {@link replayResult} restores the value
 * when the key has not changed since (a refused compare-and-swap retried after
 * a failover: its answer must still name the current value).
 */
export function rememberResult(session: SessionRecord, sequence: number, minUnacked: number, full: WriteResult): void {
  const prev = full.prevKv;
  const result: WriteResult =
    prev && prev.value.length > SESSION_PREV_VALUE_KEPT_BYTES ? { ...full, prevKv: { ...prev, value: EMPTY }, prevValueDropped: true } : full;
  const list = session.results;
  let i = list.length;
  while (i > 0 && list[i - 1]!.sequence > sequence) i--;
  list.splice(i, 0, { sequence, result });
  session.floor = Math.max(session.floor, minUnacked);
  let drop = 0;
  while (drop < list.length && list[drop]!.sequence < session.floor) drop++;
  if (list.length - drop > SESSION_RESULTS_KEPT) drop = list.length - SESSION_RESULTS_KEPT;
  let bytes = 0;
  for (let j = drop; j < list.length; j++) bytes += sessionResultBytes(list[j]!.result);
  // Oldest first, but never the result just remembered: its client is waiting for it.
  while (bytes > SESSION_RESULTS_KEPT_BYTES && drop < list.length - 1 && list[drop]!.result !== result) bytes -= sessionResultBytes(list[drop++]!.result);
  if (drop > 0) {
    session.floor = Math.max(session.floor, list[drop - 1]!.sequence + 1);
    list.splice(0, drop);
  }
}

/**
 * The answer to a retried duplicate: the remembered result, with a dropped
 * previous value restored from the key's current record when that record is
 * still the same one (same mod revision), or marked lost otherwise.
 */
export function replayResult(seen: WriteResult, current: KeyValueRecord | undefined): WriteResult {
  if (!seen.prevValueDropped) return seen;
  const { prevValueDropped: _dropped, ...rest } = seen;
  if (current && current.modRevision === seen.prevKv?.modRevision) return { ...rest, prevKv: current };
  return { ...rest, prevKv: undefined, prevKvLost: true };
}
