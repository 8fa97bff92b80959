// The in-memory Raft log is bounded in bytes (--log-memory-bytes): a follower
// that falls behind gets the entries no longer held in memory read back from
// the leader's LevelDB, not a snapshot (they are still within retention), and
// a full pending-writes budget (--max-pending-write-bytes) refuses writes
// cleanly, then admits again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@bellwether/client';
import { type GetResponse__Output, type PutResponse__Output, RETRY_AFTER_METADATA } from '@bellwether/proto';
import { type ServiceError, status } from '@grpc/grpc-js';
import type * as grpc from '@grpc/grpc-js';
import { clientsFor, unary, waitFor } from '../src/cluster';
import { httpGet, startMetricsCluster } from '../src/metrics-cluster';

const KIB = 1024;
const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

test('a follower that is behind reads entries evicted from the leader\'s memory back from its disk', async (t) => {
  const { cluster, http } = await startMetricsCluster(3, ['--log-memory-bytes', String(64 * KIB)]);
  cluster.stopAfter(t);
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
  await cluster.waitForCatchUp(leader, behind, 60_000);
  assert.doesNotMatch(behind.log(), /snapshot installed/, 'caught up from the log, not by snapshot');
  const after = (await httpGet(`http://${http(leader)}/metrics`)).body;
  assert.ok(metric(after, 'bellwether_raft_log_entries_read_back_total') >= 30, `entries read back: ${metric(after, 'bellwether_raft_log_entries_read_back_total')}`);
  for (const i of [0, 17, 39]) {
    const got = await unary<GetResponse__Output>(clientsFor(behind.address).kv as unknown as grpc.Client, 'Get', { key: Buffer.from(`k/${i}`), read: { mode: 'READ_MODE_ANY_FOLLOWER' } }, 10_000);
    assert.ok(got.kv?.value.equals(value(i)), `k/${i} on ${behind.id}`);
  }
});

test('a follower slower than the leader is sent what it can take: no append is dropped at the stream bound and sent again', async (t) => {
  const { cluster, http } = await startMetricsCluster(3);
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  const slow = cluster.followers(leader)[0]!;
  const client = await connect({ endpoints: cluster.nodes.map((n) => n.address), deadlineMs: 60_000 });
  t.after(() => client.close());
  // Stopped, its connection stays open and unread: what the leader sends it piles up on the stream.
  slow.signal('SIGSTOP');
  t.after(() => {
    if (slow.running) slow.signal('SIGCONT');
  });
  const value = (i: number) => Buffer.alloc(1000 * KIB, 97 + (i % 26));
  // 80 MiB: more than the stream bound (32 MiB) and than Raft's window of 64 appends of 1 MiB.
  for (let i = 0; i < 80; i += 8) await Promise.all(Array.from({ length: 8 }, (_, j) => client.put(`big/${i + j}`, value(i + j))));
  slow.signal('SIGCONT');
  await cluster.waitForCatchUp(leader, slow, 60_000);
  const text = (await httpGet(`http://${http(leader)}/metrics`)).body;
  const dropped = [...text.matchAll(/^bellwether_peer_messages_dropped_total\{type="(\w+)"\} (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(dropped.filter((d) => !d.endsWith(' 0')), [], 'messages the leader dropped at the stream bound');
  const got = await unary<GetResponse__Output>(clientsFor(slow.address).kv as unknown as grpc.Client, 'Get', { key: Buffer.from('big/79'), read: { mode: 'READ_MODE_ANY_FOLLOWER' } }, 10_000);
  assert.ok(got.kv?.value.equals(value(79)), `big/79 on ${slow.id}`);
});

test('a full pending-writes budget refuses with RESOURCE_EXHAUSTED and a retry hint, and recovers', async (t) => {
  // Room for about two 512 KiB writes at a time.
  const { cluster } = await startMetricsCluster(3, ['--max-value-bytes', String(512 * KIB), '--max-pending-write-bytes', String(1100 * KIB)]);
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  const kv = clientsFor(leader.address).kv as unknown as grpc.Client;
  const value = Buffer.alloc(512 * KIB, 120);
  // With both followers stopped nothing commits: what is admitted stays pending and fills the budget.
  const resumeFollowers = cluster.pauseFollowers(leader, t);
  // Plain unary calls, one attempt each, so every refusal is seen as the member sent it.
  const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => unary<PutResponse__Output>(kv, 'Put', { key: Buffer.from(`p/${i}`), value }, 4000)));
  const codes = outcomes.map((o) => (o.status === 'fulfilled' ? 'OK' : String((o.reason as ServiceError).code)));
  const refused = outcomes.flatMap((o, i) => (o.status === 'rejected' && (o.reason as ServiceError).code === status.RESOURCE_EXHAUSTED ? [{ i, err: o.reason as ServiceError }] : []));
  // At most two fit; the member answers the others itself, before their deadline, instead of letting them time out.
  assert.ok(refused.length >= 8, `refused ${refused.length} of 12: ${codes.join(',')}`);
  const first = refused[0]!.err;
  assert.match(first.details, /--max-pending-write-bytes.*nothing was applied/);
  const hint = Number(first.metadata.get(RETRY_AFTER_METADATA)[0]);
  assert.ok(hint >= 20 && hint <= 5000, `retry hint ${hint}`);
  assert.ok(codes.every((c) => c === String(status.RESOURCE_EXHAUSTED) || c === String(status.DEADLINE_EXCEEDED)), codes.join(','));
  resumeFollowers();
  // Refused writes were never applied; and the member recovers: with time to wait, writes of the same size go through.
  const patient = await connect({ endpoints: cluster.nodes.map((n) => n.address), deadlineMs: 30_000 });
  t.after(() => patient.close());
  for (const { i } of refused.slice(0, 3)) assert.equal((await patient.get(`p/${i}`, { mode: 'linearizable' })).kv, undefined, `p/${i} was not applied`);
  const done = await Promise.all(Array.from({ length: 4 }, (_, i) => patient.put(`after/${i}`, value)));
  assert.ok(done.every((r) => r.revision > 0));
});

test('SDK writes behind a full budget wait at the edge and are each sent once: a short attempt timeout does not cut a busy leader\'s writes short', async (t) => {
  const { cluster, http } = await startMetricsCluster(3, ['--max-value-bytes', String(512 * KIB), '--max-pending-write-bytes', String(1100 * KIB)]);
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  // 50 ms per attempt: far less than 24 writes of 512 KiB take to pass a budget of two at a time.
  const client = await connect({ endpoints: [leader.address], attemptTimeoutMs: 50, deadlineMs: 60_000 });
  t.after(() => client.close());
  const putsCounted = async () => {
    const text = (await httpGet(`http://${http(leader)}/metrics`)).body;
    let n = 0;
    for (const m of text.matchAll(/^bellwether_kv_operations_total\{op="put",result="[a-z]+"\} (\S+)$/gm)) n += Number(m[1]);
    return n;
  };
  await client.put('warm', 'up');
  const before = await putsCounted();
  const value = Buffer.alloc(512 * KIB, 121);
  const n = 24;
  const outcomes = await Promise.allSettled(Array.from({ length: n }, (_, i) => client.put(`busy/${i}`, value)));
  const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
  assert.deepEqual(failures, [], 'every write succeeds: none cut short into OutcomeUnknown');
  // Every write reached the leader once (the odd Status answer slower than a second on a loaded machine may resend one).
  const attempts = (await waitFor(async () => ((await putsCounted()) - before >= n ? (await putsCounted()) - before : undefined), 20_000, 'the leader counted the puts')) as number;
  assert.ok(attempts <= n + 2, `${attempts} put attempts reached the leader for ${n} writes`);
});
