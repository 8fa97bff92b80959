// A SIGSTOPped leader keeps its sockets open and answers nothing: the SDK
// must leave it as soon as the others elect a new leader, not when a socket
// finally closes. Writes in flight move to the new leader and complete while
// the old one is still stopped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LeaderChangeEvent } from '@bellwether/client';
import { waitFor } from '../src/cluster';
import { clientFollows, elapsedSince, sdkClient, startSdkCluster } from '../src/sdk-helpers';

test('SDK: a paused (SIGSTOP) leader is left quickly; writes carry on exactly once', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  // Default probe timing: the news must come from the other members' WatchLeader streams.
  const client = await sdkClient(t, cluster.nodes.map((n) => n.address), { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 1000, deadlineMs: 30_000 });
  await clientFollows(client, leader.id, 3);
  const changes: LeaderChangeEvent[] = [];
  client.on('leaderChange', (e) => changes.push(e));
  t.after(() => leader.signal('SIGCONT'));

  let done = 0;
  const writer = (async () => {
    for (let i = 1; i <= 60; i++) {
      await client.put('counter', String(i));
      done++;
    }
  })();
  await waitFor(() => (done >= 10 ? true : undefined), 20_000, 'writes flowing');
  const stoppedAt = Date.now();
  leader.signal('SIGSTOP');
  const changed = await waitFor(() => changes.find((e) => e.leaderId && e.leaderId !== leader.id), 20_000, 'the client follows a new leader');
  t.diagnostic(`client followed ${changed.leaderId} ${elapsedSince(stoppedAt)} after SIGSTOP (${changed.reason})`);
  await writer; // completes while the old leader is still stopped
  assert.ok(leader.running, 'the old leader is only paused');
  const got = await client.get('counter', { mode: 'linearizable' });
  assert.equal(got.valueString, '60');
  assert.equal(got.kv?.version, 60, 'each write applied once');
  assert.notEqual(got.header.memberId, leader.id);
  leader.signal('SIGCONT');
});
