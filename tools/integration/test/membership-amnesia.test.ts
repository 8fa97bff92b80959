// A member that lost its data dir (or a copy of one) must never count as a
// vote or an ack: the incarnation checks, with real processes.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { GetResponse__Output, PutResponse__Output } from '@bellwether/proto';
import { closeClients, freePorts, NodeProcess, type TestCluster, unary, waitFor } from '../src/cluster';
import { clusterApi as cluster, kvApi as kv, members, readLocal, waitForIncarnations } from '../src/membership-helpers';
import { startSdkCluster } from '../src/sdk-helpers';

const put = (n: NodeProcess, key: string, value: string) =>
  unary<PutResponse__Output>(kv(n), 'Put', { key: Buffer.from(key), value: Buffer.from(value) }, 3000);

/** A linearizable read through whichever node is the leader now. */
async function readOnLeader(c: TestCluster, key: string): Promise<GetResponse__Output> {
  return waitFor(
    async () => {
      for (const n of c.nodes.filter((x) => x.running)) {
        const st = await c.status(n).catch(() => undefined);
        if (st?.role === 'ROLE_LEADER') return unary<GetResponse__Output>(kv(n), 'Get', { key: Buffer.from(key), read: { mode: 'READ_MODE_LINEARIZABLE' } }, 2000);
      }
      return undefined;
    },
    30_000,
    'a leader serves a linearizable read',
  );
}

const REFUSAL = /refuses n\d: the cluster knows n\d as incarnation|lost its data and must not vote/;

test('defect 1: a follower that lost its data dir never helps elect a leader that lacks an acknowledged write', async (t) => {
  const { cluster: c } = await startSdkCluster(t, 3);
  const incarnations = await waitForIncarnations(c);
  assert.equal(incarnations.size, 3);
  const a = c.followers(await c.waitForLeader())[0]!;

  // The exact sequence of issue 11: A down, W acknowledged by the leader and B.
  await a.kill9();
  // (Through whichever member leads once A is down: on a loaded machine the two left may have held an election.)
  const w = await waitFor(async () => put(await c.waitForLeader(), 'W', 'acknowledged'), 30_000, 'W is acknowledged');
  assert.ok(w.header!.revision > 0);
  const leader = c.node(w.header!.memberId);
  const b = c.nodes.find((n) => n !== a && n !== leader)!;
  await b.kill9();
  await leader.kill9();
  rmSync(b.dataDir, { recursive: true, force: true });
  mkdirSync(b.dataDir, { recursive: true });
  a.start();
  b.start();

  // B either refuses to start (A answered its bootstrap probe) or runs and is refused by A.
  await waitFor(() => (REFUSAL.test(a.log() + b.log()) ? true : undefined), 30_000, 'the amnesiac B is refused with the fix');
  assert.match(a.log() + b.log(), /Cluster\.RemoveMember\(id: \\?"n\d\\?"\).*Cluster\.AddMember/);
  // Logged on B's side too: the refusal it received (with the fix), or its own refusal to start.
  await waitFor(() => (/\(this process\) is refused by n\d|peer refused this member.*Cluster\.RemoveMember|lost its data and must not vote/.test(b.log()) ? true : undefined), 30_000, 'B logs why it is refused');
  // A alone with an amnesiac B must not lead: B's vote is not counted.
  const stA = await c.status(a);
  assert.notEqual(stA.role, 'ROLE_LEADER', 'A was elected with the amnesiac B\'s vote');

  // The old leader comes back: W is still there.
  await b.stop();
  leader.start();
  const got = await readOnLeader(c, 'W');
  assert.equal(got.kv?.value.toString(), 'acknowledged', 'the acknowledged write W was lost');

  // The documented cure: replace B (remove, add as a learner, start empty, promote).
  const newLeader = await c.waitForLeader();
  await unary(cluster(newLeader), 'RemoveMember', { id: b.id }, 5000);
  await unary(cluster(newLeader), 'AddMember', { id: b.id, peerAddress: b.address }, 5000);
  rmSync(b.dataDir, { recursive: true, force: true });
  mkdirSync(b.dataDir, { recursive: true });
  b.start(['--initial-cluster-state', 'existing']);
  await waitFor(
    () =>
      unary(cluster(newLeader), 'PromoteMember', { id: b.id }, 3000).then(
        () => true,
        () => undefined,
      ),
    30_000,
    'the new B is promoted once caught up',
  );
  const after = await members(newLeader);
  const newB = after.members.find((m) => m.id === b.id)!;
  assert.equal(newB.role, 'MEMBER_ROLE_VOTER');
  assert.ok(newB.incarnation && newB.incarnation !== incarnations.get(b.id), 'B is known as a new incarnation');
  const onB = await readLocal(b, 'W');
  assert.equal(onB.kv?.value.toString(), 'acknowledged');
  closeClients();
});

test('a copy of a member\'s data dir started as a second process with the same id is refused', async (t) => {
  const { cluster: c, leader } = await startSdkCluster(t, 3);
  const incarnations = await waitForIncarnations(c);
  const f = c.followers(leader)[0]!;
  await put(leader, 'before-copy', 'v');
  await f.stop();
  const copyDir = join(c.root, `${f.id}-copy`);
  cpSync(f.dataDir, copyDir, { recursive: true });
  f.start();
  const [port] = await freePorts(1);
  const copyAddress = `127.0.0.1:${port}`;
  const peers = c.nodes.map((n) => `${n.id}=${n.address}`).join(',');
  const copy = new NodeProcess(`${f.id}`, copyAddress, copyDir, ['--id', f.id, '--listen', copyAddress, '--data-dir', copyDir, '--peers', peers], join(c.root, 'copy'));
  mkdirSync(join(c.root, 'copy'), { recursive: true });
  t.after(() => copy.stop());
  copy.start();

  // The copy gets a new incarnation (another directory) and says so; the members refuse it.
  await waitFor(() => (/not the directory incarnation .* was made in/.test(copy.log()) ? true : undefined), 20_000, 'the copy notices it is a copy');
  await waitFor(() => (REFUSAL.test(c.logs() + copy.log()) ? true : undefined), 20_000, 'the members refuse the copy');
  // The cluster carries on with the original: writes commit, the membership is unchanged.
  for (let i = 0; i < 20; i++) await put(await c.waitForLeader(), `after-copy/${i}`, 'v');
  const res = await members(leader);
  assert.equal(res.members.find((m) => m.id === f.id)?.incarnation, incarnations.get(f.id));
  assert.equal(res.members.find((m) => m.id === f.id)?.address, f.address);
  const copyStatus = await c.status(copy);
  assert.notEqual(copyStatus.role, 'ROLE_LEADER');
  assert.equal(copyStatus.leaderId, '', 'the copy follows no leader: nobody talks to it');
  closeClients();
});
