// Client sessions expire by time in a 3-member cluster: the leader proposes
// the expiry, every member applies it from the log (no member drops it as
// malformed), and a retry after expiry is a new write everywhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GetResponse__Output, PutResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { clientsFor, TestCluster, unary, waitFor } from '../src/cluster';

test('a session idle past --session-ttl-seconds is forgotten at every member; its old sequence is then a new write', { timeout: 120_000 }, async (t) => {
  const cluster = await TestCluster.start({ size: 3, args: ['--session-ttl-seconds', '3'] });
  cluster.stopAfter(t);
  // Sent to whoever leads at the time: leadership may move in a young cluster on a loaded machine.
  const put = async () => {
    const kv = clientsFor((await cluster.waitForLeader()).address).kv as unknown as grpc.Client;
    return unary<PutResponse__Output>(kv, 'Put', { key: Buffer.from('s/k'), value: Buffer.from('v'), clientId: 'idle-app', sequence: 1 }, 10_000);
  };
  const first = await put();
  const revision = Number(first.header!.revision);
  // A retried duplicate does not refresh the session: retry until it is a new write.
  const again = await waitFor(
    async () => {
      const r = await put();
      return Number(r.header!.revision) > revision ? r : undefined;
    },
    60_000,
    'the idle session expires',
  );
  const applied = Number(again.header!.revision);
  for (const node of cluster.nodes) {
    await waitFor(
      async () => {
        const got = await unary<GetResponse__Output>(clientsFor(node.address).kv as unknown as grpc.Client, 'Get', { key: Buffer.from('s/k'), read: { mode: 'READ_MODE_ANY_FOLLOWER' } }, 5000);
        return Number(got.kv?.modRevision) === applied ? true : undefined;
      },
      30_000,
      `${node.id} applied the write after the expiry`,
    );
    assert.doesNotMatch(node.log(), /dropped a malformed peer message/, `${node.id} took every entry`);
  }
  assert.ok(
    cluster.nodes.some((n) => /expired idle client sessions/.test(n.log())),
    'the leader logged the expiry',
  );
});
