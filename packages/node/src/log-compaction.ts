import type { RawNode } from '@bellwether/raft';
import type { LogStore } from '@bellwether/store';
import { compactionDue, compactionPoint, type RetentionPolicy } from './log-retention';
import { encodeSnapshotMeta } from './membership';

/**
 * Keeps the in-memory and stored log bounded: once enough has been applied
 * past the retention (log-retention.ts), applied entries beyond it are dropped
 * from Raft and from the stored log. Runs only from the replica's loop,
 * between Readies, where Raft's log may be touched.
 */
export class LogCompaction {
  private compactedTo = 0;

  constructor(
    private readonly raft: RawNode,
    private readonly log: LogStore,
    private readonly policy: RetentionPolicy,
  ) {}

  /** Where the log starts when the replica starts. */
  start(firstIndex: number): void {
    this.compactedTo = firstIndex;
  }

  due(appliedIndex: number): boolean {
    return compactionDue(this.policy, appliedIndex, this.compactedTo, this.raft.logSizeBytes());
  }

  async compact(appliedIndex: number): Promise<void> {
    const { firstIndex, applied } = this.raft.status();
    // An installed snapshot's state can be ahead of what Raft has applied: never compact past Raft's own applied index.
    const upTo = Math.min(compactionPoint(this.policy, appliedIndex, (keep) => this.raft.compactionPointForBytes(keep)), applied);
    this.compactedTo = Math.max(this.compactedTo, firstIndex);
    if (upTo <= firstIndex || !this.due(appliedIndex)) return;
    const meta = this.raft.compact(upTo);
    await this.log.compactLog(upTo, encodeSnapshotMeta(meta));
    this.compactedTo = upTo;
  }
}
