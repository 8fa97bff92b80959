// SDK deadlines on a real cluster: a write the leader accepted but could not
// commit ends in OutcomeUnknown; a write that never found a leader ends in a
// plain DeadlineExceeded (surely not applied).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineExceeded, OutcomeUnknown } from '@bellwether/client';
import { waitFor } from '../src/cluster';
import { clientFollows, sdkClient, startSdkCluster } from '../src/sdk-helpers';

test('SDK: deadline while the outcome is unknown -> OutcomeUnknown; no leader at all -> DeadlineExceeded', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, [leader.address]);
  await clientFollows(client, leader.id, 3);
  await client.put('k', 'before');
  // Both followers paused: the leader appends the write but cannot commit it.
  const resumeFollowers = cluster.pauseFollowers(leader, t);
  const err = await client.put('k', 'in-doubt', { deadlineMs: 1500 }).catch((e: unknown) => e);
  assert.ok(err instanceof OutcomeUnknown, String(err));
  assert.equal(err.mayHaveApplied, true);
  assert.equal(err.clientId, client.clientId);
  assert.ok(err.sequence > 0);

  // Once the leader has stepped down (check-quorum), nobody leads: a new write is never sent.
  await waitFor(async () => ((await cluster.status(leader)).role !== 'ROLE_LEADER' ? true : undefined), 20_000, 'the leader steps down');
  await waitFor(() => (client.cluster().leader === undefined || !client.cluster().leader?.reachable ? true : undefined), 20_000, 'the client knows no usable leader');
  const never = await client.put('k', 'never', { deadlineMs: 3000 }).catch((e: unknown) => e);
  assert.ok(never instanceof DeadlineExceeded && !(never instanceof OutcomeUnknown), String(never));
  assert.equal(never.mayHaveApplied, false);
  assert.match(never.message, /not applied/);

  // The cluster comes back; the in-doubt write is either there or not, and the client carries on.
  resumeFollowers();
  const got = await client.get('k', { mode: 'linearizable', deadlineMs: 20_000 });
  assert.ok(['before', 'in-doubt'].includes(got.valueString ?? ''), `k is ${got.valueString}`);
  assert.notEqual(got.valueString, 'never');
  await client.put('k', 'after', { deadlineMs: 20_000 });
});
