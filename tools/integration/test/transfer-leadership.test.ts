// Cluster.TransferLeadership on real processes: to a named member and to the
// most up-to-date voter, under SDK writes that see no error and are applied
// exactly once; and the refusals (a follower, an unknown id, a learner-less
// cluster has none to test) with their statuses and leader metadata.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LEADER_ADDRESS_METADATA, LEADER_ID_METADATA, type TransferLeadershipResponse__Output } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { clientsFor, unary, waitFor } from '../src/cluster';
import { clientFollows, sdkClient, startSdkCluster } from '../src/sdk-helpers';

test('TransferLeadership: to a named member, then to the most up-to-date voter, under SDK writes', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, [leader.address], { deadlineMs: 30_000 });
  await clientFollows(client, leader.id, 3);

  let stop = false;
  let done = 0;
  const writer = (async () => {
    for (let i = 1; !stop; i++) {
      await client.put('counter', String(i)); // an error fails the test
      done = i;
    }
  })();
  await waitFor(() => (done >= 20 ? true : undefined), 30_000, 'writes are flowing');

  const target = cluster.followers(leader)[0]!;
  const res = await client.transferLeadership(target.id);
  assert.equal(res.leaderId, target.id);
  assert.equal(res.leaderAddress, target.address);
  const st = await cluster.status(target);
  assert.equal(st.role, 'ROLE_LEADER');
  await waitFor(() => (client.cluster().leader?.id === target.id ? true : undefined), 20_000, 'the client follows the new leader');

  const before = done;
  await waitFor(() => (done >= before + 20 ? true : undefined), 30_000, 'writes flow to the new leader');
  const res2 = await client.transferLeadership();
  assert.notEqual(res2.leaderId, target.id, 'an untargeted transfer moves leadership away');
  assert.ok(res2.term > res.term);
  const after = done;
  await waitFor(() => (done >= after + 20 ? true : undefined), 30_000, 'writes flow after the second transfer');
  stop = true;
  await writer;

  const counter = await client.get('counter', { mode: 'linearizable' });
  assert.equal(counter.valueString, String(done));
  assert.equal(counter.kv?.version, done, `${done} writes applied ${counter.kv?.version} times`);
});

test('TransferLeadership refusals: a follower answers FAILED_PRECONDITION with the leader, an unknown id NOT_FOUND', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  const follower = cluster.followers(leader)[0]!;
  const call = (address: string, targetId: string) =>
    unary<TransferLeadershipResponse__Output>(clientsFor(address).cluster as unknown as grpc.Client, 'TransferLeadership', { targetId }, 10_000);

  const notLeader = (await call(follower.address, '').catch((e: unknown) => e)) as grpc.ServiceError;
  assert.equal(notLeader.code, grpc.status.FAILED_PRECONDITION, notLeader.details);
  assert.equal(notLeader.metadata.get(LEADER_ID_METADATA)[0], leader.id);
  assert.equal(notLeader.metadata.get(LEADER_ADDRESS_METADATA)[0], leader.address);

  const unknown = (await call(leader.address, 'n9').catch((e: unknown) => e)) as grpc.ServiceError;
  assert.equal(unknown.code, grpc.status.NOT_FOUND, unknown.details);
  assert.match(unknown.details, /n9/);

  const self = await call(leader.address, leader.id);
  assert.equal(self.leaderId, leader.id, 'the leader itself as target: nothing to do');
  assert.equal((await cluster.status(leader)).role, 'ROLE_LEADER');
});
