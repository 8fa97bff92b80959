// The SDK against a real 3-node cluster whose leader is killed (kill -9)
// while writes are in flight: no caller sees an error, no write is lost, none
// is applied twice. A key written only by one sequential writer has a
// `version` equal to the number of its writes: a duplicate application would
// show as a higher version.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LeaderChangeEvent } from '@bellwether/client';
import { waitFor } from '../src/cluster';
import { clientFollows, elapsedSince, sdkClient, startSdkCluster } from '../src/sdk-helpers';

test('SDK: kill -9 of the leader during writes: no error, no lost write, no duplicate', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  // Seeded with one follower only: the client finds the rest.
  const client = await sdkClient(t, [cluster.followers(leader)[0]!.address], { deadlineMs: 30_000 });
  await clientFollows(client, leader.id, 3);
  const changes: LeaderChangeEvent[] = [];
  client.on('leaderChange', (e) => changes.push(e));

  const WRITERS = 4;
  const PER_WRITER = 40;
  let done = 0;
  const revisions = new Map<string, number>();
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    for (let i = 1; i <= PER_WRITER; i++) {
      // One key per writer, rewritten sequentially; plus one fresh key per write.
      await client.put(`seq/${w}`, String(i));
      const r = await client.put(`once/${w}/${i}`, `v${i}`);
      revisions.set(`once/${w}/${i}`, r.revision);
      done++;
    }
  });
  await waitFor(() => (done >= 20 ? true : undefined), 30_000, 'writes are flowing');
  const killedAt = Date.now();
  await leader.kill9();
  const newLeader = await cluster.waitForLeader(20_000);
  t.diagnostic(`new leader ${newLeader.id} agreed ${elapsedSince(killedAt)} after the kill; ${done} writes done then`);
  await Promise.all(writers); // any write error fails the test here

  assert.equal(done, WRITERS * PER_WRITER);
  assert.ok(changes.some((e) => e.leaderId === newLeader.id), 'the client announced the new leader');
  for (let w = 0; w < WRITERS; w++) {
    const seq = await client.get(`seq/${w}`, { mode: 'linearizable' });
    assert.equal(seq.valueString, String(PER_WRITER));
    assert.equal(seq.kv?.version, PER_WRITER, `seq/${w}: ${seq.kv?.version} applications of ${PER_WRITER} writes`);
  }
  for await (const kv of client.scan({ prefix: 'once/' }, { mode: 'linearizable' })) {
    assert.equal(kv.version, 1, `${kv.keyString} applied ${kv.version} times`);
    assert.equal(kv.modRevision, revisions.get(kv.keyString), `${kv.keyString}: the revision the writer was told`);
    revisions.delete(kv.keyString);
  }
  assert.equal(revisions.size, 0, `lost writes: ${[...revisions.keys()].slice(0, 5)}`);
});
