// SIGTERM with SDK clients connected: every client keeps a WatchLeader stream
// and a KV.Stream open to every member, which grpc-js's graceful shutdown
// would wait for forever. A member given SIGTERM must exit within its grace
// period whatever clients do; a leader hands leadership over first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../src/cluster';
import { clientFollows, sdkClient, startSdkCluster } from '../src/sdk-helpers';

const GRACE_MS = 5000;
/** What a loaded machine may add to the grace period (process exit, scheduling): generous, never a speed claim. */
const SLACK_MS = 10_000;

test('SIGTERM: a follower and then the leader exit within the grace period with an SDK client connected', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3, ['--shutdown-timeout-ms', String(GRACE_MS)]);
  const client = await sdkClient(t, cluster.nodes.map((n) => n.address), { deadlineMs: 30_000 });
  await clientFollows(client, leader.id, 3);
  // Open a KV.Stream to every member too (reads spread over the followers).
  for (let i = 0; i < 6; i++) await client.get(`k${i}`, { mode: 'any-follower' });
  await client.put('before', '1');

  const follower = cluster.followers(leader)[0]!;
  const followerSent = Date.now();
  follower.signal('SIGTERM');
  const followerCode = await Promise.race([follower.waitExit(), new Promise<'hung'>((r) => setTimeout(() => r('hung'), GRACE_MS + SLACK_MS))]);
  t.diagnostic(`follower ${follower.id} exited ${Date.now() - followerSent} ms after SIGTERM (code ${String(followerCode)})`);
  assert.notEqual(followerCode, 'hung', `follower ${follower.id} still running ${GRACE_MS + SLACK_MS} ms after SIGTERM`);
  assert.equal(followerCode, 0);
  follower.start();
  await clientFollows(client, leader.id, 3);

  const leaderSent = Date.now();
  leader.signal('SIGTERM');
  const leaderCode = await Promise.race([leader.waitExit(), new Promise<'hung'>((r) => setTimeout(() => r('hung'), GRACE_MS + SLACK_MS))]);
  t.diagnostic(`leader ${leader.id} exited ${Date.now() - leaderSent} ms after SIGTERM (code ${String(leaderCode)})`);
  assert.notEqual(leaderCode, 'hung', `leader ${leader.id} still running ${GRACE_MS + SLACK_MS} ms after SIGTERM`);
  assert.equal(leaderCode, 0);
  assert.match(leader.log(), /leadership handed over/, 'the leader handed over before it stopped');
  const next = await cluster.waitForLeader(20_000);
  assert.notEqual(next.id, leader.id);
  await waitFor(() => (client.cluster().leader?.id === next.id ? true : undefined), 20_000, 'the client follows the new leader');
  await client.put('after', '2');
  assert.equal((await client.get('before', { mode: 'linearizable' })).valueString, '1');
});
