// Values at --max-value-bytes (1 MiB, the default maximum) must replicate, and
// a follower behind the compaction point must catch up by snapshot: peer
// batches and snapshot chunks have to fit in what the receiver accepts in one
// message (max value + max key + a margin), however the records mix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GetResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { clientsFor, unary, waitFor } from '../src/cluster';
import { clientFollows, sdkClient, startSdkCluster } from '../src/sdk-helpers';

const MIB = 1024 * 1024;

test('1 MiB values: a follower behind the compaction point converges by snapshot', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3, ['--log-retention-entries', '4', '--compact-every-entries', '4']);
  const client = await sdkClient(t, cluster.nodes.map((n) => n.address), { deadlineMs: 60_000 });
  await clientFollows(client, leader.id, 3);

  // Small records first (they sort first in the snapshot), then values at the maximum.
  for (let i = 0; i < 60; i++) await Promise.all(Array.from({ length: 10 }, (_, j) => client.put(`a/${i * 10 + j}`, 'x'.repeat(1024))));
  const behind = cluster.followers(leader)[0]!;
  behind.signal('SIGTERM');
  await behind.waitExit();
  const big = (i: number) => Buffer.alloc(MIB, 97 + (i % 26));
  for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 4 }, (_, j) => client.put(`b/${round * 4 + j}`, big(round * 4 + j))));
  const leaderStatus = await cluster.status(leader);
  assert.ok(Number(leaderStatus.commitIndex) > 0);

  behind.start();
  await cluster.waitForCatchUp(leader, behind, 90_000).catch((err: Error) => {
    throw new Error(`${err.message}; running: ${cluster.nodes.map((n) => `${n.id}=${n.running}`).join(', ')}\n${cluster.logs()}`);
  });
  // The log line is written after the state is swapped in: wait for it rather than race it.
  await waitFor(() => (/snapshot installed/.test(behind.log()) ? true : undefined), 30_000, `${behind.id} logs that it caught up by snapshot`);
  const got = await unary<GetResponse__Output>(clientsFor(behind.address).kv as unknown as grpc.Client, 'Get', { key: Buffer.from('b/11'), read: { mode: 'READ_MODE_ANY_FOLLOWER' } }, 10_000);
  assert.equal(got.kv?.value.length, MIB);
  assert.ok(got.kv?.value.equals(big(11)));
  const small = await unary<GetResponse__Output>(clientsFor(behind.address).kv as unknown as grpc.Client, 'Get', { key: Buffer.from('a/599'), read: { mode: 'READ_MODE_ANY_FOLLOWER' } }, 10_000);
  assert.equal(small.kv?.value.length, 1024);
});
