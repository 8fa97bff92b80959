// Membership changes with real processes under SDK write load: replace a
// dead member, grow 3→5 and shrink 5→3, remove the leader, the refusals,
// and disaster recovery with --force-new-cluster.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlreadyExists, FailedPrecondition, NotFound, NotLeader } from '@bellwether/client';
import type { PutResponse__Output } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { closeClients, type NodeProcess, unary, waitFor } from '../src/cluster';
import { clusterApi, kvApi, leaderNow, members, readLocal, startAndPromote, WriteLoad } from '../src/membership-helpers';
import { sdkClient, startSdkCluster } from '../src/sdk-helpers';

// Small log retention, so a member added under load catches up by snapshot.
const SNAPSHOT_ARGS = ['--log-retention-entries', '50', '--compact-every-entries', '50'];

test('replace a dead member under write load: remove it, add a new one, it catches up by snapshot and is promoted, nothing lost', async (t) => {
  const { cluster: c, leader } = await startSdkCluster(t, 3, SNAPSHOT_ARGS);
  const client = await sdkClient(t, c.nodes.map((n) => n.address));
  const load = new WriteLoad(client, 'replace');
  t.after(() => load.stop());
  await load.progress(100);
  const dead = c.followers(leader)[0]!;
  await dead.kill9();
  await load.progress(100);

  const replaceStartMs = Date.now();
  const after = await client.removeMember(dead.id, { deadlineMs: 30_000 });
  assert.deepEqual(after.map((m) => m.id).sort(), c.nodes.filter((n) => n !== dead).map((n) => n.id).sort());
  const fresh = await c.newNode('n4');
  const added = await client.addMember('n4', fresh.address, { deadlineMs: 30_000 });
  assert.equal(added.member?.role, 'learner', 'a new member is a learner by default');
  assert.equal(added.member?.incarnation, '', 'its incarnation is recorded only once it connects');
  await load.progress(200); // the log moves past the retention: the new member needs a snapshot
  const promotedMs = await startAndPromote(client, fresh);
  const replaceMs = Date.now() - replaceStartMs;
  t.diagnostic(`replace under load: member started → promoted in ${promotedMs} ms; RemoveMember → promoted in ${replaceMs} ms`);
  console.log(`replace-under-load: start→promoted ${promotedMs} ms, remove→promoted ${replaceMs} ms`);
  assert.match(c.logs(), /sending a snapshot/, 'the new member caught up through a snapshot');

  await load.progress(50);
  // The new member holds the data: the first and the last acknowledged write.
  await load.stopAndCheck(fresh);
  // The cluster now commits with the new member: stop another original, writes go on.
  const leaderAfter = await leaderNow(c);
  const other = c.nodes.find((n) => n.running && n !== fresh && n !== leaderAfter)!;
  await other.kill9();
  await client.put('after-replace', 'ok', { deadlineMs: 20_000 });
  closeClients();
});

test('grow 3→5 and shrink 5→3 under write load', async (t) => {
  const { cluster: c } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, c.nodes.map((n) => n.address));
  const load = new WriteLoad(client, 'grow');
  t.after(() => load.stop());
  await load.progress(50);
  for (const id of ['n4', 'n5']) {
    const node = await c.newNode(id);
    await client.addMember(id, node.address, { deadlineMs: 30_000 });
    await startAndPromote(client, node);
    await load.progress(30);
  }
  let list = (await client.members()).members;
  assert.deepEqual(list.map((m) => `${m.id}:${m.role}`).sort(), ['n1:voter', 'n2:voter', 'n3:voter', 'n4:voter', 'n5:voter']);
  // Shrink by removing two of the original members (the leader among them if it is one).
  for (const id of ['n1', 'n2']) {
    // Removing the leader may be retried by the SDK after it took effect; the
    // SDK settles that retry by the member list.
    await client.removeMember(id, { deadlineMs: 30_000 });
    await load.progress(30);
  }
  list = (await client.members()).members;
  assert.deepEqual(list.map((m) => m.id).sort(), ['n3', 'n4', 'n5']);
  // The removed processes are no longer needed: the three left commit alone.
  for (const id of ['n1', 'n2']) await c.node(id).stop();
  await load.progress(30);
  await load.stop();
  assert.deepEqual(load.errors, [], 'no application-visible error');
  await load.verify();
  closeClients();
});

test('the leader removes itself: it hands leadership over first; writes go on', async (t) => {
  const { cluster: c } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, c.nodes.map((n) => n.address));
  const load = new WriteLoad(client, 'remove-leader');
  t.after(() => load.stop());
  await load.progress(50);
  const leader = await c.waitForLeader();
  // Sent to the leader itself, raw (the SDK would send it there too).
  const res = await unary<{ members: { id: string }[] }>(clusterApi(leader), 'RemoveMember', { id: leader.id }, 15_000);
  assert.deepEqual(res.members.map((m) => m.id).sort(), c.followers(leader).map((n) => n.id).sort());
  const newLeader = await waitFor(async () => {
    const l = await leaderNow(c);
    return l && l !== leader ? l : undefined;
  }, 20_000, 'another member leads');
  assert.match(leader.log(), /handing leadership over first/);
  await load.progress(50);
  await leader.stop();
  await load.progress(30);
  await load.stop();
  assert.deepEqual(load.errors, [], 'no application-visible error');
  await load.verify();
  const list = await members(newLeader);
  assert.ok(!list.members.some((m) => m.id === leader.id));
  closeClients();
});

test('membership refusals: NOT_FOUND, ALREADY_EXISTS, a follower names the leader, no change that leaves no quorum of members up', async (t) => {
  const { cluster: c } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, c.nodes.map((n) => n.address));
  const [f1, f2] = c.followers(await c.waitForLeader()) as [NodeProcess, NodeProcess];
  await assert.rejects(client.removeMember('n9'), NotFound);
  await assert.rejects(client.promoteMember('n9'), NotFound);
  await assert.rejects(client.addMember(f1.id, '127.0.0.1:1'), AlreadyExists);
  await assert.rejects(client.addMember('n9', f1.address), AlreadyExists);
  await assert.rejects(client.addMember('bad id', '127.0.0.1:1'), /not a valid member id/);
  await assert.rejects(unary(clusterApi(f1), 'AddMember', { id: 'n9', peerAddress: 'nowhere' }), (err: grpc.ServiceError) => {
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    return true;
  });
  // A follower refuses with the leader hint (the SDK follows it by itself).
  const leader = await c.waitForLeader();
  const follower = c.followers(leader)[0]!;
  await assert.rejects(unary(clusterApi(follower), 'RemoveMember', { id: leader.id }), (err: grpc.ServiceError) => {
    assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
    assert.notEqual(String(err.metadata.get('bellwether-leader-id')[0] ?? follower.id), follower.id, 'the hint names the leader');
    return true;
  });
  // A learner that has not connected cannot be promoted.
  await client.addMember('n9', '127.0.0.1:1');
  await assert.rejects(client.promoteMember('n9'), (err: unknown) => err instanceof FailedPrecondition && !(err instanceof NotLeader) && /has not connected/.test(err.message));
  await client.removeMember('n9');
  // One voter down: removing a live one, or adding a voter, would leave no quorum of members up.
  await f2.kill9();
  await waitFor(
    async () => {
      const l = await leaderNow(c);
      return (l && ((await c.status(l)).followers.find((f) => f.memberId === f2.id)?.lastContactMs ?? 0) > 1500) || undefined;
    },
    20_000,
    'the leader has not heard from the member down for a while',
  );
  await assert.rejects(client.removeMember(f1.id), /only 1 are up/);
  await assert.rejects(client.addMember('n8', '127.0.0.1:2', { learner: false }), /add it as a learner/);
  // Removing the member that is down is allowed, and writes still commit.
  await client.removeMember(f2.id);
  const w = await unary<PutResponse__Output>(kvApi(await c.waitForLeader()), 'Put', { key: Buffer.from('k'), value: Buffer.from('v') });
  assert.ok(w.header!.revision > 0);
  closeClients();
});

test('a learner behind the leader by more than the bound is not promoted until it catches up', async (t) => {
  const { cluster: c } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, c.nodes.map((n) => n.address));
  const learner = await c.newNode('n4');
  await client.addMember('n4', learner.address);
  learner.start();
  await waitFor(async () => ((await client.members()).members.find((m) => m.id === 'n4')?.incarnation ? true : undefined), 20_000, 'n4 is recorded');
  await learner.stop();
  // 1000 entries is the bound; write well past it while the learner is down.
  for (let i = 0; i < 12; i++) await Promise.all(Array.from({ length: 100 }, (_, j) => client.put(`lag/${i * 100 + j}`, 'v')));
  await assert.rejects(client.promoteMember('n4'), (err: unknown) => err instanceof FailedPrecondition && /learner n4 is \d+ entries behind the leader \(at most 1000 to be promoted\)/.test(err.message));
  assert.equal((await client.members()).members.find((m) => m.id === 'n4')?.role, 'learner', 'nothing changed');
  await startAndPromote(client, learner);
  await readLocal(learner, 'lag/1199');
  closeClients();
});

test('--force-new-cluster: one survivor of a lost majority becomes a one-member cluster with its data, then grows back', async (t) => {
  const { cluster: c, leader } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, c.nodes.map((n) => n.address));
  for (let i = 0; i < 20; i++) await client.put(`dr/${i}`, `v${i}`);
  const survivor = c.followers(leader)[0]!;
  await readLocal(survivor, 'dr/19');
  for (const n of c.nodes) await n.kill9();
  survivor.start(['--force-new-cluster']);
  await waitFor(async () => ((await c.status(survivor)).role === 'ROLE_LEADER' ? true : undefined), 30_000, 'the survivor leads alone');
  const list = await members(survivor);
  assert.deepEqual(list.members.map((m) => m.id), [survivor.id]);
  assert.match(survivor.log(), /force-new-cluster: this member is now a one-member cluster/);
  const got = await readLocal(survivor, 'dr/19');
  assert.equal(got.kv?.value.toString(), 'v19');
  // The old members are not members any more: they are refused.
  // Grow back with a new member.
  await client.close();
  const grow = await sdkClient(t, [survivor.address]);
  const fresh = await c.newNode('n7');
  await grow.addMember('n7', fresh.address);
  await startAndPromote(grow, fresh);
  await readLocal(fresh, 'dr/0');
  // Starting again with the flag left on refuses once the cluster has moved on.
  await grow.put('moved', 'on');
  await survivor.stop();
  survivor.start(['--force-new-cluster']);
  assert.equal(await survivor.waitExit(), 2);
  assert.match(survivor.log(), /already made a new cluster .* start it without --force-new-cluster/);
  closeClients();
});
