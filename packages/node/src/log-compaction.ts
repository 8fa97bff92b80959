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
  private inFlight: Promise<void> | undefined;

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

  /** Resolves once no compaction of the stored log is running (snapshot installs, which rewrite it, and stop wait for this). */
  idle(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  /** Whether a compaction is due and none is running. */
  shouldStart(appliedIndex: number): boolean {
    return this.inFlight === undefined && this.due(appliedIndex);
  }

  /**
   * Starts a compaction from the replica's loop: Raft's log is compacted
   * there and then, synchronously; the stored log's deletes and their fsync
   * run in the background, one compaction at a time. The loop must not wait
   * for them: a compaction took 220-270 ms on a leader while a restarted
   * follower caught up, and a loop stalled past the election timeout sends
   * no heartbeats and costs an election.
   */
  compactInBackground(appliedIndex: number, onError: (err: Error) => void): void {
    if (this.inFlight) return;
    this.inFlight = this.compact(appliedIndex).then(
      () => {
        this.inFlight = undefined;
      },
      (err: Error) => {
        this.inFlight = undefined;
        onError(err);
      },
    );
  }

  private async compact(appliedIndex: number): Promise<void> {
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
