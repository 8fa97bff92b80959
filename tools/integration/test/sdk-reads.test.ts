// SDK read modes against a real 3-node cluster: follower modes are served by
// followers, linearizable by the leader, read-your-writes sees the caller's
// own write at once, and a bounded-staleness read is refused by a member
// that has not heard from a leader within the bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineExceeded } from '@bellwether/client';
import { waitFor } from '../src/cluster';
import { clientFollows, sdkClient, startSdkCluster } from '../src/sdk-helpers';

test('SDK: follower reads in each mode', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, [leader.address]);
  await clientFollows(client, leader.id, 3);
  const followers = new Set(cluster.followers(leader).map((n) => n.id));

  for (let i = 0; i < 10; i++) {
    // Read-your-writes (the default): right after the write, from a follower, and it is there.
    const put = await client.put(`ryw/${i}`, `v${i}`);
    const got = await client.get(`ryw/${i}`);
    assert.equal(got.valueString, `v${i}`);
    assert.ok(followers.has(got.header.memberId), `read-your-writes served by ${got.header.memberId}`);
    assert.ok(got.header.appliedIndex >= put.revision);
  }
  const servedBy = new Set<string>();
  for (let i = 0; i < 10; i++) servedBy.add((await client.get('ryw/0', { mode: 'read-your-writes' })).header.memberId);
  assert.deepEqual([...servedBy].sort(), [...followers].sort(), 'both followers share the load');

  const lin = await client.get('ryw/9', { mode: 'linearizable' });
  assert.equal(lin.header.memberId, leader.id);
  assert.equal(lin.valueString, 'v9');

  const any = await waitFor(
    async () => {
      const r = await client.get('ryw/9', { mode: 'any-follower' });
      return r.found ? r : undefined;
    },
    10_000,
    'an any-follower read finds the write',
  );
  assert.ok(followers.has(any.header.memberId));
  const page = await client.range({ prefix: 'ryw/' }, { mode: 'any-follower', maxStalenessMs: 5000 });
  assert.ok(followers.has(page.header.memberId));
});

test('SDK: bounded staleness: a member cut off from any leader refuses, an unbounded read still answers', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, cluster.nodes.map((n) => n.address));
  await clientFollows(client, leader.id, 3);
  await client.put('stale', 'v1');
  const [survivor, other] = cluster.followers(leader);
  // Wait until the survivor has applied the write, then leave it alone: no quorum, no leader.
  await waitFor(async () => ((await cluster.status(survivor!)).appliedIndex >= 1 ? true : undefined), 10_000, 'the follower applied');
  await other!.kill9();
  await leader.kill9();
  await waitFor(() => (client.cluster().members.filter((m) => m.state === 'down').length === 2 ? true : undefined), 20_000, 'two members down');
  // Without a bound: served from the survivor's copy.
  const loose = await client.get('stale', { mode: 'any-follower' });
  assert.equal(loose.valueString, 'v1');
  assert.equal(loose.header.memberId, survivor!.id);
  // With a bound the survivor cannot meet, it refuses; nothing else is up, so the call ends at its deadline.
  // (Status reports leader_contact_age_ms 0 for a member with no leader, so wait on the refusal itself.)
  const err = await waitFor(
    () => client.get('stale', { mode: 'any-follower', maxStalenessMs: 300, deadlineMs: 1500 }).then(() => undefined, (e: unknown) => e),
    20_000,
    'the survivor refuses a 300 ms staleness bound',
  );
  assert.ok(err instanceof DeadlineExceeded, String(err));
  assert.match(err.message, /max_staleness_ms 300/);
  // And an unbounded read is still served.
  assert.equal((await client.get('stale', { mode: 'any-follower' })).valueString, 'v1');
});
