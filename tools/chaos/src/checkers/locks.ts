// Checker: a lock never has two holders at once, judged by fencing tokens.
// Each hold runs from when its holder got the lock to when it stopped
// believing it held it (release, its lease's `lost`, or an error). The SDK
// calls a lease lost no later than the leader can expire it, so holds must
// not overlap in time; ordered by time, their tokens must increase; and a
// fenced write (accepted only above the fence) must never be refused for a
// holder whose token was the largest yet.
import { type CheckerReport, type Violation, verdictOf } from './report';

export interface LockHold {
  holder: string;
  /** The fencing token (the lock key's create revision). */
  token: number;
  acquiredMs: number;
  /** When the holder stopped believing it held the lock; undefined = still held at the end. */
  endMs: number | undefined;
  /** The fenced write made while holding. */
  fenced: 'accepted' | 'refused' | undefined;
}

export function checkLocks(holds: readonly LockHold[]): CheckerReport {
  const violations: Violation[] = [];
  const sorted = [...holds].sort((a, b) => a.acquiredMs - b.acquiredMs);
  let maxToken = 0;
  for (let i = 0; i < sorted.length; i++) {
    const h = sorted[i]!;
    const next = sorted[i + 1];
    if (next && (h.endMs === undefined || h.endMs > next.acquiredMs)) {
      violations.push({
        key: 'lock/chaos',
        what: `${next.holder} got the lock (token ${next.token}) at ${next.acquiredMs.toFixed(0)} ms while ${h.holder} (token ${h.token}) held it until ${h.endMs?.toFixed(0) ?? 'the end'}`,
        excerpt: [],
      });
    }
    if (h.token <= maxToken) violations.push({ key: 'lock/chaos', what: `token ${h.token} of ${h.holder} is not above an earlier holder's ${maxToken}`, excerpt: [] });
    if (h.fenced === 'refused' && h.token > maxToken) {
      violations.push({ key: 'lock/chaos', what: `the fenced write of ${h.holder} with the largest token yet (${h.token}) was refused`, excerpt: [] });
    }
    maxToken = Math.max(maxToken, h.token);
  }
  return {
    checker: 'locks',
    property: 'a lock never has two holders at once; fencing tokens grow with each holder',
    valid: verdictOf(violations),
    checked: `${holds.length} holds by ${new Set(holds.map((h) => h.holder)).size} holders; ${holds.filter((h) => h.fenced === 'accepted').length} fenced writes accepted`,
    violations: violations.slice(0, 50),
    notes: [],
  };
}
