import type { Op } from '../history';
import { checkAnyFollower } from './any-follower';
import { checkDuplicates } from './duplicates';
import { checkHeaders } from './headers';
import { checkLinearizable } from './linearizable';
import { checkLostWrites } from './lost-writes';
import { checkReadYourWrites } from './read-your-writes';
import type { CheckerReport } from './report';

export { HEADER_BEHIND_STATE } from './headers';
export type { CheckerReport, Violation } from './report';

export interface CheckOptions {
  /** Whether the SDK promises monotonic any-follower reads within a session. */
  anyFollowerMonotonic?: boolean;
  maxStatesPerKey?: number;
  shrinkBudgetMs?: number;
}

/** Runs every checker over a history. */
export function checkAll(ops: readonly Op[], opts: CheckOptions = {}): CheckerReport[] {
  return [
    checkLostWrites(ops),
    checkDuplicates(ops),
    checkLinearizable(ops, { maxStatesPerKey: opts.maxStatesPerKey, shrinkBudgetMs: opts.shrinkBudgetMs }),
    checkReadYourWrites(ops),
    checkAnyFollower(ops, { monotonic: opts.anyFollowerMonotonic }),
    checkHeaders(ops),
  ];
}
