import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProgressStatus, RawNode, Status } from '@bellwether/raft';
import type { LogStore } from '@bellwether/store';
import { CATCH_UP_ACTIVE_MS, LogCompaction } from '../src/log-compaction';
import { CATCH_UP_MAX_ENTRIES, compactionPointWithCatchUp, type RetentionPolicy } from '../src/log-retention';

const MIB = 1024 * 1024;
const POLICY: RetentionPolicy = {
  logRetentionEntries: 20_000,
  compactEveryEntries: 10_000,
  logRetentionBytes: 256 * MIB,
  compactEveryBytes: 64 * MIB,
  catchUpBytes: 4096 * MIB,
};

/** A leader's log of 1 MiB entries, as much of RawNode as compaction uses. */
class FakeLeader {
  firstIndex = 0;
  applied = 0;
  progress: Record<string, ProgressStatus> = {};

  follower(id: string, p: Partial<ProgressStatus>): void {
    this.progress[id] = { match: 0, next: 1, state: 'replicate', inflight: 0, recentActive: true, pendingSnapshot: 0, isLearner: false, ...p };
  }

  status(): Status {
    return {
      id: 'n1',
      role: 'leader',
      term: 2,
      vote: 'n1',
      leaderId: 'n1',
      commit: this.applied,
      applied: this.applied,
      lastIndex: this.applied,
      firstIndex: this.firstIndex,
      logBytes: this.logSizeBytes(),
      logMemoryBytes: 0,
      config: { voters: ['n1', 'n2', 'n3'], learners: [] } as unknown as Status['config'],
      leadTransferee: null,
      progress: { n1: { match: this.applied, next: this.applied + 1, state: 'replicate', inflight: 0, recentActive: true, pendingSnapshot: 0, isLearner: false }, ...this.progress },
    };
  }

  logSizeBytes(): number {
    return (this.applied - this.firstIndex) * MIB;
  }

  compactionPointForBytes(keepBytes: number): number {
    return Math.max(this.firstIndex, this.applied - Math.floor(keepBytes / MIB));
  }

  compact(index: number) {
    this.firstIndex = Math.max(this.firstIndex, index);
    return { index: this.firstIndex, term: 2, config: this.status().config };
  }
}

function setup(policy: RetentionPolicy = POLICY) {
  const raft = new FakeLeader();
  let now = 1_000_000;
  const log = { compactLog: async () => {} } as unknown as LogStore;
  const compaction = new LogCompaction(raft as unknown as RawNode, log, policy, () => now);
  /** Applies up to `applied`, as the replica's loop would, and runs the compaction it starts. */
  const applyTo = async (applied: number) => {
    raft.applied = applied;
    now += 1000;
    if (compaction.shouldStart(applied)) compaction.compactInBackground(applied, (err) => assert.fail(err));
    await compaction.idle();
  };
  return { raft, compaction, applyTo, advance: (ms: number) => (now += ms) };
}

test('without a catching-up follower the log is compacted to the retention (256 MiB of 1 MiB entries)', async () => {
  const { raft, applyTo } = setup();
  raft.follower('n2', { match: 10_000 });
  raft.follower('n3', { match: 10_000 });
  await applyTo(10_000);
  assert.equal(raft.firstIndex, 10_000 - 256);
});

test('a follower being sent a snapshot keeps the entries after it, and then those it has not acknowledged yet', async () => {
  const { raft, applyTo } = setup();
  raft.follower('n3', { match: 20_000 });
  raft.follower('n2', { state: 'snapshot', pendingSnapshot: 5_000, match: 1_000 });
  raft.firstIndex = 5_000;
  // 3 GB written while the snapshot is sent: the entries after it stay.
  await applyTo(8_000);
  assert.equal(raft.firstIndex, 5_000);
  // Installed; the follower now acknowledges appends from the log.
  raft.follower('n2', { state: 'replicate', match: 6_500 });
  raft.follower('n3', { match: 9_000 });
  await applyTo(9_000);
  assert.equal(raft.firstIndex, 6_500, 'compacted up to what it acknowledged, not past it');
  // Caught up: back to the retention.
  raft.follower('n2', { match: 12_000 });
  raft.follower('n3', { match: 12_000 });
  await applyTo(12_000);
  assert.equal(raft.firstIndex, 12_000 - 256);
});

test('the hold ends at the catch-up bound: past it, the follower needs a snapshot again', async () => {
  const { raft, applyTo } = setup();
  raft.follower('n3', { match: 20_000 });
  raft.follower('n2', { state: 'snapshot', pendingSnapshot: 5_000 });
  raft.firstIndex = 5_000;
  await applyTo(20_000);
  assert.equal(raft.firstIndex, 20_000 - 256 - 4096);
});

test('a follower not heard from holds nothing (a stopped member must not make the log grow)', async () => {
  const { raft, applyTo, advance } = setup();
  raft.follower('n3', { match: 20_000 });
  raft.follower('n2', { match: 5_000, recentActive: true });
  raft.firstIndex = 4_900;
  await applyTo(7_000);
  assert.equal(raft.firstIndex, 5_000, 'held while active');
  // Raft clears recentActive every check-quorum round; one round unheard is not enough to let go.
  raft.follower('n2', { match: 5_000, recentActive: false });
  await applyTo(7_500);
  assert.equal(raft.firstIndex, 5_000);
  advance(CATCH_UP_ACTIVE_MS);
  await applyTo(8_000);
  assert.equal(raft.firstIndex, 8_000 - 256);
});

test('without a catch-up bound nothing is held; with small entries the hold is bounded in entries too', () => {
  const pointForBytes = () => 0;
  const noCatchUp = { ...POLICY, catchUpBytes: undefined };
  assert.equal(compactionPointWithCatchUp(noCatchUp, 100_000, (keep) => 100_000 - Math.floor(keep / MIB), 1_000), 100_000 - 256);
  // 100-byte entries: the byte bounds allow everything; the entry bounds decide.
  assert.equal(compactionPointWithCatchUp(POLICY, 500_000, pointForBytes, 1_000), 500_000 - 20_000 - CATCH_UP_MAX_ENTRIES);
  assert.equal(compactionPointWithCatchUp(POLICY, 500_000, pointForBytes, 450_000), 450_000 - 1);
});
