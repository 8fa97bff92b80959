import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PutResponse__Output } from '@bellwether/proto';
import { AppliedTimeline } from '../src/session-sweeper';
import { call, singleNode } from './helpers';

test('the applied timeline gives a lower bound on how long ago an index was applied', () => {
  const tl = new AppliedTimeline();
  assert.equal(tl.idleAtLeastMs(1, 1000), 0, 'nothing known yet');
  tl.record(10, 1000);
  tl.record(10, 1500);
  tl.record(20, 2000);
  tl.record(30, 3000);
  assert.equal(tl.size, 3, 'an unchanged index is not sampled again');
  assert.equal(tl.idleAtLeastMs(5, 4000), 3000, 'applied by the first sample');
  assert.equal(tl.idleAtLeastMs(15, 4000), 2000, 'index 15 was applied by the time 20 was seen');
  assert.equal(tl.idleAtLeastMs(30, 4000), 1000);
  assert.equal(tl.idleAtLeastMs(31, 4000), 0, 'not applied yet as far as the samples know');
  tl.prune(4000, 1500);
  assert.equal(tl.size, 2, 'samples older than the TTL go, but the newest of them');
  assert.equal(tl.idleAtLeastMs(5, 4000), 2000, 'an old index is still known to be at least that old');
});

test('a session not written for --session-ttl-seconds is forgotten through the log; a retry is then a new write', { timeout: 60_000 }, async (t) => {
  const { clients: c, node } = await singleNode(t, { sessionTtlSeconds: 3 });
  const put = (sequence: number, value: string) =>
    call<Record<string, unknown>, PutResponse__Output>(c.kv.Put, c.kv, { key: Buffer.from('k'), value: Buffer.from(value), clientId: 'app-1', sequence });
  const first = await put(1, 'a');
  const retried = await put(1, 'a');
  assert.equal(retried.header!.revision, first.header!.revision, 'within the TTL a retry gets the first answer');
  // A retried duplicate does not refresh the session: retry until it is a new write.
  const until = Date.now() + 30_000;
  let after = retried;
  while (after.header!.revision === first.header!.revision) {
    assert.ok(Date.now() < until, 'the idle session is expired within 30 s');
    await new Promise((r) => setTimeout(r, 200));
    after = await put(1, 'a');
  }
  assert.ok(after.header!.revision > first.header!.revision, 'after expiry the same sequence is a new write');
  assert.equal(node.replica.isLeader, true);
});
