import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCampaign } from '../src/campaign';

test('a short fuzz campaign over every public and peer RPC: no member crashes, all answer, every acknowledged write is intact', { timeout: 300_000 }, async () => {
  const r = await runCampaign({ seconds: 15, seed: 13, concurrency: 4, writes: 100 });
  assert.deepEqual(r.crashes, []);
  assert.deepEqual(r.unanswered, []);
  assert.deepEqual(r.lostWrites, []);
  assert.equal(r.acknowledgedWrites, 100);
  for (const [rpc, n] of Object.entries(r.byRpc)) assert.ok(n > 0, `${rpc} was fuzzed`);
});
