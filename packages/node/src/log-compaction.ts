import type { RawNode, Status } from '@bellwether/raft';
import type { LogStore } from '@bellwether/store';
import { compactionDue, compactionPoint, compactionPointWithCatchUp, type RetentionPolicy } from './log-retention';
import { encodeSnapshotMeta } from './membership';

/** A follower counts as active this long after Raft last counted it so (check-quorum rounds are 1 s by default). */
export const CATCH_UP_ACTIVE_MS = 5_000;
/** How often followers' activity is sampled, and how soon a held-back compaction is tried again. */
const CATCH_UP_SAMPLE_MS = 200;

/**
 * Keeps the in-memory and stored log bounded: once enough has been applied
 * past the retention (log-retention.ts), applied entries beyond it are dropped
 * from Raft and from the stored log. Runs only from the replica's loop,
 * between Readies, where Raft's log may be touched.
 *
 * On a leader, the entries a catching-up follower still needs stay (up to
 * the policy's catch-up bound): a follower being sent a snapshot, or one that
 * acknowledges appends and was heard from lately. A follower not heard from
 * for CATCH_UP_ACTIVE_MS holds nothing: a stopped member must not make the
 * log grow.
 */
export class LogCompaction {
  private compactedTo = 0;
  private inFlight: Promise<void> | undefined;
  /** When Raft last counted each follower active (its recentActive flag is cleared every check-quorum round). */
  private readonly lastActiveMs = new Map<string, number>();
  private sampledAtMs = Number.NEGATIVE_INFINITY;
  /** A compaction held back by a follower's needs is not retried before this. */
  private retryAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly raft: RawNode,
    private readonly log: LogStore,
    private readonly policy: RetentionPolicy,
    private readonly nowMs: () => number = Date.now,
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
    const now = this.nowMs();
    if (this.policy.catchUpBytes !== undefined && now - this.sampledAtMs >= CATCH_UP_SAMPLE_MS) this.neededFrom(this.raft.status(), now);
    return this.inFlight === undefined && now >= this.retryAtMs && this.due(appliedIndex);
  }

  /** On a leader, the lowest index a catching-up follower still needs (undefined: none); notes which followers are active. */
  private neededFrom(st: Status, now: number): number | undefined {
    this.sampledAtMs = now;
    if (!st.progress) {
      this.lastActiveMs.clear();
      return undefined;
    }
    let needed: number | undefined;
    for (const [id, pr] of Object.entries(st.progress)) {
      if (id === st.id) continue;
      if (pr.recentActive) this.lastActiveMs.set(id, now);
      if (now - (this.lastActiveMs.get(id) ?? Number.NEGATIVE_INFINITY) > CATCH_UP_ACTIVE_MS) continue;
      const from = pr.state === 'snapshot' ? pr.pendingSnapshot + 1 : pr.state === 'replicate' ? pr.match + 1 : undefined;
      if (from !== undefined && (needed === undefined || from < needed)) needed = from;
    }
    return needed;
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
    const st = this.raft.status();
    const { firstIndex, applied } = st;
    const now = this.nowMs();
    const needed = this.policy.catchUpBytes === undefined ? undefined : this.neededFrom(st, now);
    const pointForBytes = (keep: number) => this.raft.compactionPointForBytes(keep);
    const point = compactionPointWithCatchUp(this.policy, appliedIndex, pointForBytes, needed);
    // An installed snapshot's state can be ahead of what Raft has applied: never compact past Raft's own applied index.
    const upTo = Math.min(point, applied);
    this.compactedTo = Math.max(this.compactedTo, firstIndex);
    if (upTo <= firstIndex || !this.due(appliedIndex)) {
      // Held back by a follower's needs: not tried again on every apply meanwhile.
      if (needed !== undefined && point < compactionPoint(this.policy, appliedIndex, pointForBytes)) this.retryAtMs = now + CATCH_UP_SAMPLE_MS;
      return;
    }
    const meta = this.raft.compact(upTo);
    await this.log.compactLog(upTo, encodeSnapshotMeta(meta));
    this.compactedTo = upTo;
  }
}
