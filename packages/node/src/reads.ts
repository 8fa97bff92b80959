import type { ServerUnaryCall } from '@grpc/grpc-js';
import { invalidArgument, unavailable } from './errors';
import type { Replica } from './replica';
import type { ParsedRead } from './validate';

/**
 * A min_index this far past a member's last log index cannot be waited for:
 * a leader has written nothing there (the caller passed a bad index), and a
 * follower that far behind will not catch up within any read's wait. Both
 * answer at once instead of parking the read.
 */
export const MIN_INDEX_FAR_AHEAD_ENTRIES = 1_000_000;

export interface ReadPolicy {
  maxReadWaitMs: number;
  unsafeFollowerLinearizableReads: boolean;
}

/** Milliseconds until the call's deadline (Infinity when it has none). */
export function remainingMs(call: ServerUnaryCall<unknown, unknown>): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  if (!Number.isFinite(at)) return Number.POSITIVE_INFINITY;
  return at - Date.now();
}

/**
 * Waits until this member may serve a read in the given mode, so that the
 * local state it then reads keeps the mode's promise. Throws UNAVAILABLE
 * (with the leader hint) when it cannot.
 */
export async function awaitReadable(replica: Replica, read: ParsedRead, budgetMs: number, policy: ReadPolicy): Promise<void> {
  const waitMs = Math.max(0, Math.min(budgetMs, policy.maxReadWaitMs));
  switch (read.mode) {
    case 'linearizable': {
      if (policy.unsafeFollowerLinearizableReads && !replica.isLeader) return;
      const index = await replica.readIndex();
      if (!(await replica.waitApplied(index, waitMs))) {
        throw unavailable(`member ${replica.memberId} did not apply up to read index ${index} in time (applied ${replica.appliedIndex})`, replica.leaderHint());
      }
      return;
    }
    case 'read-your-writes': {
      const lastIndex = replica.raftStatus().lastIndex;
      if (read.minIndex > lastIndex + MIN_INDEX_FAR_AHEAD_ENTRIES) {
        if (replica.isLeader) throw invalidArgument(`min_index ${read.minIndex}: no write of this cluster has that index (the leader's log ends at ${lastIndex}); pass an index from a reply header`);
        throw unavailable(`member ${replica.memberId} is far behind min_index ${read.minIndex} (its log ends at ${lastIndex}); try another member`, replica.leaderHint());
      }
      if (!(await replica.waitApplied(read.minIndex, waitMs))) {
        throw unavailable(
          `member ${replica.memberId} has applied ${replica.appliedIndex}, behind min_index ${read.minIndex}; try another member`,
          replica.leaderHint(),
        );
      }
      return;
    }
    case 'any-follower': {
      const age = replica.leaderContactAgeMs();
      if (read.maxStalenessMs > 0 && age > read.maxStalenessMs) {
        const heard = Number.isFinite(age) ? `${age} ms ago` : 'never';
        throw unavailable(
          `member ${replica.memberId} last heard from a leader ${heard}, over max_staleness_ms ${read.maxStalenessMs}`,
          replica.leaderHint(),
        );
      }
      // A writer here may have been answered before its apply batch was in (Replica.answeredIndex):
      // serve no state older than one this member answered.
      if (replica.appliedIndex < replica.answeredIndex) await replica.waitApplied(replica.answeredIndex, waitMs);
      return;
    }
  }
}
