// The in-memory Raft log is bounded in bytes (--log-memory-bytes): a follower
// that falls behind gets the entries no longer held in memory read back from
// the leader's LevelDB, not a snapshot (they are still within retention), and
// a full pending-writes budget (--max-pending-write-bytes) refuses writes
// cleanly, then admits again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, ResourceExhausted } from '@bellwether/client';
import type { GetResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { clientsFor, unary, waitFor } from '../src/cluster';
import { httpGet, startMetricsCluster } from '../src/metrics-cluster';

const KIB = 1024;
const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

test('a follower that is behind reads entries evicted from the leader\'s memory back from its disk', async (t) => {
  const { cluster, http } = await startMetricsCluster(3, ['--log-memory-bytes', String(64 * KIB)]);
  t.after(() => cluster.stop());
  const leader = await cluster.waitForLeader();
  const client = await connect({ endpoints: cluster.nodes.map((n) => n.address), deadlineMs: 30_000 });
  t.after(() => client.close());
  const behind = cluster.followers(leader)[0]!;
  behind.signal('SIGTERM');
  await behind.waitExit();
  const value = (i: number) => Buffer.alloc(32 * KIB, 97 + (i % 26));
  for (let i = 0; i < 40; i += 4) await Promise.all(Array.from({ length: 4 }, (_, j) => client.put(`k/${i + j}`, value(i + j))));
  const before = (await httpGet(`http://${http(leader)}/metrics`)).body;
  assert.ok(metric(before, 'bellwether_raft_log_memory_bytes') <= 64 * KIB + 64 * KIB, 'the leader holds about --log-memory-bytes of entry data');
  assert.ok(metric(before, 'bellwether_raft_log_bytes') >= 40 * 32 * KIB, 'the stored log still holds every entry');

  behind.start();
  await waitFor(
    async () => {
      const [ls, bs] = await Promise.all([cluster.status(leader), cluster.status(behind)]);
      return Number(bs.appliedIndex) >= Number(ls.commitIndex) ? true : undefined;
    },
    60_000,
    `${behind.id} caught up with the leader`,
  );
  assert.doesNotMatch(behind.log(), /snapshot installed/, 'caught up from the log, not by snapshot');
  const after = (await httpGet(`http://${http(leader)}/metrics`)).body;
  assert.ok(metric(after, 'bellwether_raft_log_entries_read_back_total') >= 30, `entries read back: ${metric(after, 'bellwether_raft_log_entries_read_back_total')}`);
  for (const i of [0, 17, 39]) {
    const got = await unary<GetResponse__Output>(clientsFor(behind.address).kv as unknown as grpc.Client, 'Get', { key: Buffer.from(`k/${i}`), read: { mode: 'READ_MODE_ANY_FOLLOWER' } }, 10_000);
    assert.ok(got.kv?.value.equals(value(i)), `k/${i} on ${behind.id}`);
  }
});

test('a full pending-writes budget refuses with RESOURCE_EXHAUSTED and a retry hint, and recovers', async (t) => {
  // Room for about two 512 KiB writes; a follower stopped with SIGSTOP keeps commits slow but possible (2 of 3 remain).
  const { cluster } = await startMetricsCluster(3, ['--max-value-bytes', String(512 * KIB), '--max-pending-write-bytes', String(1100 * KIB)]);
  t.after(() => cluster.stop());
  const leader = await cluster.waitForLeader();
  // One attempt per write, so each refusal reaches the test as it happened.
  const client = await connect({ endpoints: [leader.address, ...cluster.followers(leader).map((n) => n.address)], retryWrites: false, deadlineMs: 200 });
  t.after(() => client.close());
  const value = Buffer.alloc(512 * KIB, 120);
  const outcomes = await Promise.allSettled(Array.from({ length: 24 }, (_, i) => client.put(`p/${i}`, value)));
  const refused = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof ResourceExhausted);
  const ok = outcomes.filter((o) => o.status === 'fulfilled');
  assert.ok(refused.length > 0, `some writes were refused: ${outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as Error).name)).join(',')}`);
  const first = (refused[0] as PromiseRejectedResult).reason as ResourceExhausted;
  assert.match(first.message, /--max-pending-write-bytes/);
  assert.ok((first.retryAfterMs ?? -1) >= 0, 'the refusal carries a retry hint');
  // Refused writes were never applied.
  const refusedKeys = outcomes.flatMap((o, i) => (o.status === 'rejected' && o.reason instanceof ResourceExhausted ? [`p/${i}`] : []));
  const patient = await connect({ endpoints: cluster.nodes.map((n) => n.address), deadlineMs: 30_000 });
  t.after(() => patient.close());
  for (const k of refusedKeys.slice(0, 3)) assert.equal((await patient.get(k)).kv, undefined, `${k} was not applied`);
  // And the member recovers: with time to wait, writes of the same size go through.
  await waitFor(async () => ((await patient.put('after', value)).revision > 0 ? true : undefined), 30_000, 'a write admitted after the burst');
  assert.ok(ok.length + refused.length <= 24);
});
