import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PutResponse__Output } from '@bellwether/proto';
import type { LogStore } from '@bellwether/store';
import { call, singleNode, waitFor } from './helpers';

// A compaction's deletes and fsync can take hundreds of milliseconds on a busy
// disk; the Raft loop must go on meanwhile (heartbeats, commits), or a leader
// loses its quorum to its own housekeeping.
test('writes commit while the stored log is being compacted (the compaction does not hold the Raft loop)', { timeout: 60_000 }, async (t) => {
  const { node, clients } = await singleNode(t, { logRetentionEntries: 5, compactEveryEntries: 5 });
  const log = (node.replica as unknown as { storage: { log: LogStore } }).storage.log;
  const compactLog = log.compactLog.bind(log);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered = 0;
  let finished = 0;
  log.compactLog = async (upTo, snapshot) => {
    entered++;
    await gate;
    await compactLog(upTo, snapshot);
    finished++;
  };
  t.after(() => release());

  const put = (i: number) =>
    call<Record<string, unknown>, PutResponse__Output>(clients.kv.Put, clients.kv, { key: Buffer.from(`k${i}`), value: Buffer.from(String(i)) });
  let i = 0;
  while (entered === 0) await put(i++);
  // The compaction now waits on the gate: further writes must still commit.
  const before = i;
  for (; i < before + 30; i++) await put(i);
  assert.equal(entered, 1, 'one compaction at a time');
  assert.equal(finished, 0);
  release();
  await waitFor(() => finished === 1, 5000, 'the compaction finishes once released');
  for (let n = 0; entered < 2 && n < 100; n++) await put(i++);
  assert.equal(entered, 2, 'compaction goes on after it');
});
