import type { Entry } from '../../src/index.js';
import { Violation, fingerprint } from './violation.js';

/**
 * Log Matching (Raft §5.3): if two logs contain an entry with the same index
 * and term, the logs are identical in all entries up through that index.
 *
 * Checked incrementally: every (index, term) ever persisted by any node must
 * always come with the same content and the same previous term. By induction
 * from the compaction point, equal (index, term) then implies equal prefixes.
 */
export class LogMatchingChecker {
  private readonly seen = new Map<string, { fp: string; prevTerm: number }>();

  /** `prevTerm` is the node's term at entries[0].index - 1 when they were persisted. */
  onPersist(node: string, entries: readonly Entry[], prevTerm: number): void {
    let prev = prevTerm;
    for (const e of entries) {
      const key = `${e.index}:${e.term}`;
      const fp = fingerprint(e);
      const known = this.seen.get(key);
      if (known === undefined) this.seen.set(key, { fp, prevTerm: prev });
      else if (known.fp !== fp || known.prevTerm !== prev)
        throw new Violation(
          'log-matching',
          `${node} persisted (index ${e.index}, term ${e.term}) = ${fp} after term ${prev}; another log has ${known.fp} after term ${known.prevTerm}`,
        );
      prev = e.term;
    }
  }
}
