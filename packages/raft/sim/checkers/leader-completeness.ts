import type { RaftLog } from '../../src/log.js';
import type { CommittedChecker } from './committed.js';
import { Violation, fingerprint } from './violation.js';

/**
 * Leader Completeness (Raft §5.4): if an entry is committed in a term, it is
 * present in the logs of the leaders of all higher terms. "Committed in" is
 * bounded from above by the terms of the nodes that reported it committed
 * (see CommittedRecord.commitTerm), so the check never fires falsely. Checked when a node
 * becomes leader (against everything committed so far) and whenever a new
 * commit is recorded (against the current leaders of higher terms).
 */
export class LeaderCompletenessChecker {
  constructor(private readonly committed: CommittedChecker) {}

  /** Checks committed indexes in [from, to] against a leader's log. */
  check(leader: string, leaderTerm: number, log: RaftLog, from = 1, to = this.committed.maxCommitted): void {
    for (let i = Math.max(from, log.snapshot.index); i <= to; i++) {
      const rec = this.committed.record(i);
      if (rec === undefined || rec.commitTerm >= leaderTerm) continue;
      if (i === log.snapshot.index) {
        if (log.snapshot.term !== rec.term)
          throw new Violation('leader-completeness', `leader ${leader} (term ${leaderTerm}) has snapshot term ${log.snapshot.term} at committed index ${i}, expected ${rec.term}`);
        continue;
      }
      const e = log.entry(i);
      if (e === undefined || e.term !== rec.term || fingerprint(e) !== rec.fp)
        throw new Violation(
          'leader-completeness',
          `leader ${leader} (term ${leaderTerm}) lacks committed entry ${i} (term ${rec.term}); has ${e ? `term ${e.term}` : 'nothing'}`,
        );
    }
  }
}
