// An idle SDK client probes nothing on a timer: it learns of the leader from
// one WatchLeader stream and of its members' health from their connections
// (keepalive PINGs, closed sockets). This checks the bounds the SDK states
// for noticing a member's death that way, with real processes: a member
// killed (its sockets close) and a member frozen by SIGSTOP (its sockets stay
// open and silent), while the client makes no call at all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, DEAD_MEMBER_NOTICE_MS, type MemberEvent, SILENT_MEMBER_NOTICE_MS } from '@bellwether/client';
import { waitFor } from '../src/cluster';
import { clientFollows, startSdkCluster } from '../src/sdk-helpers';

test('SDK, idle with default settings: a frozen member is noticed within the silent bound, a killed one within the dead bound', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  // Default settings: no periodic probe of any member.
  const client = await connect({ endpoints: cluster.nodes.map((n) => n.address) });
  t.after(() => client.close());
  // Use every member once (connections are opened on first use), then idle.
  await client.put('warm', 'up');
  for (let i = 0; i < 6; i++) await client.get('warm', { mode: 'any-follower' });
  await clientFollows(client, leader.id, 3);
  const down: (MemberEvent & { at: number })[] = [];
  const up: MemberEvent[] = [];
  client.on('memberDown', (e) => down.push({ ...e, at: Date.now() }));
  client.on('memberUp', (e) => up.push(e));
  const [frozen, killed] = cluster.followers(leader);
  assert.ok(frozen && killed);
  t.after(() => frozen.signal('SIGCONT'));

  // Silent: sockets open, nothing answers, not even HTTP/2 PINGs.
  const stoppedAt = Date.now();
  frozen.signal('SIGSTOP');
  const silent = await waitFor(() => down.find((e) => e.memberId === frozen.id), SILENT_MEMBER_NOTICE_MS, `${frozen.id} (SIGSTOP) reported down within ${SILENT_MEMBER_NOTICE_MS} ms`);
  t.diagnostic(`SIGSTOP noticed after ${silent.at - stoppedAt} ms: ${silent.reason}`);
  frozen.signal('SIGCONT');
  // It comes back without a call either: a down member is probed with a back-off.
  await waitFor(() => up.find((e) => e.memberId === frozen.id), 60_000, `${frozen.id} reported up after SIGCONT`);

  // Dead: the process is gone and its sockets close.
  const killedAt = Date.now();
  await killed.kill9();
  const dead = await waitFor(() => down.find((e) => e.memberId === killed.id), DEAD_MEMBER_NOTICE_MS, `${killed.id} (kill -9) reported down within ${DEAD_MEMBER_NOTICE_MS} ms`);
  t.diagnostic(`kill -9 noticed after ${dead.at - killedAt} ms: ${dead.reason}`);

  // Still following the cluster and usable: a write goes through.
  const put = await client.put('after-deaths', 'v');
  assert.equal(put.header.memberId, leader.id);
});
