import { type Message, type RaftConfig, RawNode } from '../src/index.js';

/**
 * Deliberately broken variants of RawNode, used to prove the checkers can fail.
 * Each overrides one protected rule hook; production code never uses them.
 */

/** Grants votes without the §5.4.1 election restriction (candidate's log need not be up to date). */
class SkipLogUpToDateCheck extends RawNode {
  protected override logIsUpToDate(): boolean {
    return true;
  }
}

/** Commits entries of earlier terms by counting replicas — the Figure 8 bug (§5.4.2). */
class CommitPriorTermByCounting extends RawNode {
  protected override mayCommitByCounting(index: number): boolean {
    return this.log.term(index) !== undefined;
  }
}

/** Answers ReadIndex from the local commit index without confirming leadership with a quorum. */
class ReadWithoutQuorum extends RawNode {
  protected override readNeedsQuorum(): boolean {
    return false;
  }
}

/** Lets append responses leave before the entries they acknowledge are durable. */
class AckBeforePersist extends RawNode {
  protected override waitsForPersist(m: Message): boolean {
    return m.type !== 'appendResp' && super.waitsForPersist(m);
  }
}

/** Lets vote grants leave before the vote is durable. */
class GrantVoteBeforePersist extends RawNode {
  protected override waitsForPersist(m: Message): boolean {
    return m.type !== 'voteResp' && super.waitsForPersist(m);
  }
}

export const BUGS = {
  skipLogUpToDate: (c: RaftConfig) => new SkipLogUpToDateCheck(c),
  commitPriorTerm: (c: RaftConfig) => new CommitPriorTermByCounting(c),
  readWithoutQuorum: (c: RaftConfig) => new ReadWithoutQuorum(c),
  ackBeforePersist: (c: RaftConfig) => new AckBeforePersist(c),
  grantVoteBeforePersist: (c: RaftConfig) => new GrantVoteBeforePersist(c),
} as const;

export type BugName = keyof typeof BUGS;
