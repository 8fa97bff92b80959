// --peer-listen: the peer protocol on a port of its own, not on the client port.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@bellwether/client';
import { loadPeerApi, type MembersResponse__Output, type PutResponse__Output } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { clientsFor, type NodeProcess, TestCluster, unary, waitFor } from '../src/cluster';

const kv = (n: NodeProcess) => clientsFor(n.address).kv as unknown as grpc.Client;

/** Opens a Replicate stream at `address`; resolves the status it ends with. */
function replicateStatus(address: string, credentials = grpc.credentials.createInsecure()): Promise<grpc.status> {
  const client = new (loadPeerApi().bellwether.raft.v1.Raft)(address, credentials);
  const stream = client.Replicate(new grpc.Metadata());
  stream.on('data', () => {});
  return new Promise((resolve) => {
    stream.on('error', (err: grpc.ServiceError) => {
      client.close();
      resolve(err.code);
    });
  });
}

test('with --peer-listen the cluster replicates over peer ports, the client port does not serve the peer protocol, and clients are pointed at client addresses', async (t) => {
  const cluster = await TestCluster.start({ size: 3, peerPorts: true });
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  const put = await unary<PutResponse__Output>(kv(leader), 'Put', { key: Buffer.from('k'), value: Buffer.from('v') });
  assert.ok(put.header!.revision > 0);

  // The Raft service exists only on the peer port (there it refuses a caller that is no member).
  assert.equal(await replicateStatus(leader.address), grpc.status.UNIMPLEMENTED);
  assert.equal(await replicateStatus(leader.peerAddress!), grpc.status.FAILED_PRECONDITION);

  // A follower names the leader by its client address, and Members lists client addresses.
  const follower = cluster.followers(leader)[0]!;
  await assert.rejects(unary(kv(follower), 'Put', { key: Buffer.from('k'), value: Buffer.from('w') }), (err: grpc.ServiceError) => {
    assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(String(err.metadata.get('bellwether-leader-address')[0]), leader.address);
    return true;
  });
  const members = await waitFor(
    async () => {
      const r = await unary<MembersResponse__Output>(clientsFor(follower.address).cluster as unknown as grpc.Client, 'Members', {});
      return r.members.every((m) => m.address !== '') ? r : undefined;
    },
    10_000,
    'the follower knows every member\'s client address',
  );
  assert.deepEqual(
    members.members.map((m) => [m.id, m.address]).sort(),
    cluster.nodes.map((n) => [n.id, n.address]).sort(),
  );

  // The SDK, given one endpoint, finds the leader and writes.
  const client = await connect({ endpoints: [follower.address] });
  t.after(() => client.close());
  await client.put('sdk', 'yes');
  assert.equal((await client.get('sdk', { mode: 'linearizable' })).kv?.valueString, 'yes');
});
