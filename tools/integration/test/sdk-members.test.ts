// SDK member tracking on a real cluster: a stopped follower is reported down
// and skipped by reads; restarted, it is reported up and used again; the
// client learns every member from one seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemberEvent } from '@bellwether/client';
import { waitFor } from '../src/cluster';
import { clientFollows, sdkClient, startSdkCluster } from '../src/sdk-helpers';

test('SDK: members down are skipped, and used again once back', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  const [f1, f2] = cluster.followers(leader);
  const client = await sdkClient(t, [f2!.address]);
  await clientFollows(client, leader.id, 3);
  const view = client.cluster();
  assert.deepEqual(view.members.map((m) => m.id), ['n1', 'n2', 'n3']);
  assert.deepEqual(view.members.map((m) => m.address), cluster.nodes.map((n) => n.address));

  const down: MemberEvent[] = [];
  const up: MemberEvent[] = [];
  client.on('memberDown', (e) => down.push(e));
  client.on('memberUp', (e) => up.push(e));
  await f1!.kill9();
  await waitFor(() => down.find((e) => e.memberId === f1!.id), 20_000, `${f1!.id} reported down`);
  for (let i = 0; i < 10; i++) {
    const r = await client.get('k', { mode: 'any-follower' });
    assert.equal(r.header.memberId, f2!.id, 'the stopped follower is skipped');
  }
  f1!.start();
  await waitFor(() => up.find((e) => e.memberId === f1!.id), 30_000, `${f1!.id} reported up`);
  const served = new Set<string>();
  await waitFor(
    async () => {
      served.add((await client.get('k', { mode: 'any-follower' })).header.memberId);
      return served.has(f1!.id) ? true : undefined;
    },
    20_000,
    'the restarted follower serves reads again',
  );
  assert.ok(!served.has(leader.id));
});
