import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GetResponse__Output, PutResponse__Output } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { clientsFor, closeClients, type NodeProcess, TestCluster, type TestHooks, unary, waitFor } from '../src/cluster';

const kv = (n: NodeProcess) => clientsFor(n.address).kv as unknown as grpc.Client;
const MODES = ['READ_MODE_LINEARIZABLE', 'READ_MODE_READ_YOUR_WRITES', 'READ_MODE_ANY_FOLLOWER'] as const;

async function startCluster(t: TestHooks, size: number, args: string[] = []): Promise<TestCluster> {
  const cluster = await TestCluster.start({ size, args });
  cluster.stopAfter(t);
  return cluster;
}

function put(n: NodeProcess, key: string, value: string, extra: Record<string, unknown> = {}, deadlineMs = 3000) {
  return unary<PutResponse__Output>(kv(n), 'Put', { key: Buffer.from(key), value: Buffer.from(value), ...extra }, deadlineMs);
}

function get(n: NodeProcess, key: string, read: Record<string, unknown> = {}, deadlineMs = 3000) {
  return unary<GetResponse__Output>(kv(n), 'Get', { key: Buffer.from(key), read }, deadlineMs);
}

/**
 * One logical write, retried with the same (client_id, sequence) on any node
 * until some leader acknowledges it — what the SDK does across a failover.
 */
async function putExactlyOnce(cluster: TestCluster, key: string, value: string, clientId: string, sequence: number, timeoutMs = 15_000): Promise<PutResponse__Output> {
  const until = Date.now() + timeoutMs;
  let target = cluster.nodes.find((n) => n.running)!;
  for (;;) {
    try {
      return await put(target, key, value, { clientId, sequence }, 1000);
    } catch (err) {
      const e = err as grpc.ServiceError;
      if (Date.now() > until) throw err;
      const hint = e.metadata?.get('bellwether-leader-id')[0];
      const next = hint ? cluster.nodes.find((n) => n.id === String(hint) && n.running) : undefined;
      const running = cluster.nodes.filter((n) => n.running);
      target = next ?? running[(running.indexOf(target) + 1) % running.length]!;
      if (!next) await new Promise((r) => setTimeout(r, 50));
    }
  }
}

test('a write on the leader is readable on every follower in every read mode', async (t) => {
  const cluster = await startCluster(t, 3);
  const leader = await cluster.waitForLeader();
  const res = await put(leader, 'greeting', 'hello');
  assert.equal(res.header?.memberId, leader.id);
  const revision = res.header!.revision;
  for (const f of cluster.followers(leader)) {
    for (const mode of MODES) {
      const g = await waitFor(
        async () => {
          const r = await get(f, 'greeting', { mode, minIndex: revision });
          return r.kv ? r : undefined;
        },
        5000,
        `${f.id} serves the write in ${mode}`,
      );
      assert.equal(g.kv?.value.toString(), 'hello');
      assert.equal(g.header?.memberId, f.id);
      assert.ok(g.header!.appliedIndex >= revision);
    }
  }
});

test('a write sent to a follower fails with FAILED_PRECONDITION naming the leader', async (t) => {
  const cluster = await startCluster(t, 3);
  const leader = await cluster.waitForLeader();
  const follower = cluster.followers(leader)[0]!;
  await assert.rejects(put(follower, 'k', 'v'), (err: grpc.ServiceError) => {
    assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(String(err.metadata.get('bellwether-leader-id')[0]), leader.id);
    assert.equal(String(err.metadata.get('bellwether-leader-address')[0]), leader.address);
    assert.match(err.details, new RegExp(`leader ${leader.id} at ${leader.address.replace(/\./g, '\\.')}`));
    return true;
  });
});

test('kill -9 of the leader during writes: a new leader, nothing acknowledged lost, nothing applied twice; the old leader rejoins', async (t) => {
  const cluster = await startCluster(t, 3);
  const first = await cluster.waitForLeader();
  const acked: { key: string; value: string; revision: number }[] = [];
  let stop = false;
  const writers = Array.from({ length: 8 }, async (_, w) => {
    const clientId = `writer-${w}`;
    for (let seq = 1; !stop; seq++) {
      const key = `w${w}`;
      const value = `${seq}`;
      const res = await putExactlyOnce(cluster, key, value, clientId, seq);
      acked.push({ key, value, revision: res.header!.revision });
    }
  });
  await waitFor(() => acked.length >= 100 || undefined, 20_000, '100 writes acknowledged');
  await first.kill9();
  const before = acked.length;
  const second = await cluster.waitForLeader();
  assert.notEqual(second.id, first.id);
  await waitFor(() => acked.length >= before + 100 || undefined, 20_000, '100 more writes after the failover');
  stop = true;
  await Promise.all(writers);

  // Every acknowledged write is there; each key's version counts its writes exactly once.
  const last = new Map<string, { value: string; count: number }>();
  for (const a of acked) last.set(a.key, { value: a.value, count: Number(a.value) });
  for (const [key, { value, count }] of last) {
    const g = await get(second, key, { mode: 'READ_MODE_LINEARIZABLE' });
    assert.equal(g.kv?.value.toString(), value, `${key} holds its last acknowledged value`);
    assert.equal(g.kv?.version, count, `${key}: ${count} writes applied exactly once each`);
  }

  // The killed leader restarts, rejoins as a follower and catches up.
  first.start();
  const target = acked.reduce((m, a) => Math.max(m, a.revision), 0);
  await waitFor(
    async () => {
      const st = await cluster.status(first);
      return st.appliedIndex >= target && st.role === 'ROLE_FOLLOWER' ? st : undefined;
    },
    15_000,
    `${first.id} rejoins and applies up to ${target}`,
  );
  const sample = acked[acked.length - 1]!;
  const g = await get(first, sample.key, { mode: 'READ_MODE_ANY_FOLLOWER' });
  assert.equal(g.kv?.value.toString(), last.get(sample.key)!.value);
});

test('a follower stopped while writes continue catches up when restarted', async (t) => {
  const cluster = await startCluster(t, 3);
  const leader = await cluster.waitForLeader();
  const follower = cluster.followers(leader)[0]!;
  await follower.stop();
  let revision = 0;
  for (let i = 0; i < 200; i++) revision = (await put(leader, `k${i % 10}`, `v${i}`)).header!.revision;
  follower.start();
  const g = await waitFor(
    async () => {
      const r = await get(follower, 'k9', { mode: 'READ_MODE_READ_YOUR_WRITES', minIndex: revision }, 1000);
      return r.kv ? r : undefined;
    },
    15_000,
    'the restarted follower reaches the last revision',
  );
  assert.equal(g.kv?.value.toString(), 'v199');
});

test('5 nodes: writes survive two kills, stop at the third; any-follower reads still work', async (t) => {
  const cluster = await startCluster(t, 5);
  let leader = await cluster.waitForLeader();
  await putExactlyOnce(cluster, 'k', 'v0', 'c', 1);
  for (let kill = 1; kill <= 2; kill++) {
    await leader.kill9();
    leader = await cluster.waitForLeader();
    const res = await putExactlyOnce(cluster, 'k', `v${kill}`, 'c', kill + 1);
    assert.ok(res.header!.revision > 0);
  }
  // Kill a third node: only 2 of 5 remain, no majority.
  await leader.kill9();
  const survivors = cluster.nodes.filter((n) => n.running);
  assert.equal(survivors.length, 2);
  const s = survivors[0]!;
  await assert.rejects(put(s, 'k', 'no majority', {}, 1500), (err: grpc.ServiceError) => {
    assert.ok([grpc.status.UNAVAILABLE, grpc.status.FAILED_PRECONDITION, grpc.status.DEADLINE_EXCEEDED].includes(err.code), `code ${err.code}`);
    return true;
  });
  for (const n of survivors) {
    const g = await get(n, 'k', { mode: 'READ_MODE_ANY_FOLLOWER' });
    assert.equal(g.kv?.value.toString(), 'v2');
  }
  // A bounded-staleness read refuses once the node has not heard a leader in time.
  await new Promise((r) => setTimeout(r, 600));
  await assert.rejects(get(s, 'k', { mode: 'READ_MODE_ANY_FOLLOWER', maxStalenessMs: 500 }), (err: grpc.ServiceError) => {
    assert.equal(err.code, grpc.status.UNAVAILABLE);
    assert.match(err.details, /max_staleness_ms 500/);
    return true;
  });
});

/** A 3-node cluster and one of its followers, stopped with its data dir removed (to come back as a stranger). */
async function clusterWithWipedFollower(t: { after(fn: () => Promise<void>): void }) {
  const cluster = await startCluster(t, 3);
  const leader = await cluster.waitForLeader();
  const stranger = cluster.followers(leader)[0]!;
  await stranger.stop();
  const { rmSync } = await import('node:fs');
  rmSync(stranger.dataDir, { recursive: true, force: true });
  return { cluster, leader, stranger };
}

test('a node bootstrapping another cluster where one already answers refuses to start, and says how to join', async (t) => {
  // Same member id and address, but a fresh data dir of a different cluster.
  const { cluster, stranger } = await clusterWithWipedFollower(t);
  stranger.start(['--cluster-id', 'another-cluster']);
  assert.equal(await stranger.waitExit(), 2);
  assert.match(stranger.log(), /already serves cluster [0-9a-f]+, not the cluster another-cluster these --peers would bootstrap\. To join it instead: on its leader call Cluster\.AddMember/);
  // The cluster carries on (through whichever member leads now: a loaded machine may have held an election meanwhile).
  const res = await put(await cluster.waitForLeader(), 'still', 'works');
  assert.ok(res.succeeded);
  closeClients();
});

test('a node of another cluster is refused by its peers', async (t) => {
  const { cluster, leader, stranger } = await clusterWithWipedFollower(t);
  // Its data dir is made while its peers are down (so nothing answers its probe), then it meets them.
  const others = cluster.nodes.filter((n) => n !== stranger);
  await Promise.all(others.map((n) => n.stop()));
  stranger.start(['--cluster-id', 'another-cluster']);
  await waitFor(() => (/"clusterId":"another-cluster".*"msg":"serving"/.test(stranger.log()) ? true : undefined), 20_000, 'the stranger serves');
  for (const n of others) n.start();
  await waitFor(() => (/refusing \\?"n\d\\?" of cluster another-cluster/.test(cluster.logs()) ? true : undefined), 20_000, 'a peer logs the refusal');
  // The stranger never joins: it learns no leader and takes no part in the cluster.
  const st = await cluster.status(stranger);
  assert.notEqual(st.leaderId, leader.id);
  closeClients();
});

test('a follower that missed compacted entries catches up through a snapshot', async (t) => {
  const cluster = await startCluster(t, 3, ['--log-retention-entries', '20', '--compact-every-entries', '20']);
  const leader = await cluster.waitForLeader();
  const follower = cluster.followers(leader)[0]!;
  await put(leader, 'before', 'down');
  await follower.stop();
  let revision = 0;
  for (let i = 0; i < 150; i++) revision = (await put(leader, `snap/${i % 50}`, `v${i}`)).header!.revision;
  await unary(kv(leader), 'Delete', { key: Buffer.from('before') });
  follower.start();
  const st = await waitFor(
    async () => {
      const s = await cluster.status(follower);
      return s.appliedIndex >= revision ? s : undefined;
    },
    20_000,
    'the restarted follower is caught up',
  );
  assert.ok(st.appliedIndex >= revision);
  assert.match(leader.log() + follower.log(), /snapshot/i, 'the catch-up went through a snapshot');
  for (const k of [0, 17, 49]) {
    const g = await get(follower, `snap/${k}`, { mode: 'READ_MODE_ANY_FOLLOWER' });
    assert.equal(g.kv?.value.toString(), `v${100 + k}`);
  }
  const gone = await waitFor(async () => {
    const g = await get(follower, 'before', { mode: 'READ_MODE_ANY_FOLLOWER' });
    return g.kv ? undefined : g;
  }, 5000, 'the delete after the snapshot reaches the follower');
  assert.equal(gone.kv, null);
  // It keeps following: a new write arrives by plain replication.
  const w = await put(leader, 'after', 'snapshot');
  const g = await get(follower, 'after', { mode: 'READ_MODE_READ_YOUR_WRITES', minIndex: w.header!.revision });
  assert.equal(g.kv?.value.toString(), 'snapshot');
});
