import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bwctl, bwctlJson } from '../src/bwctl';
import { freePorts, NodeProcess, TestCluster, waitFor } from '../src/cluster';

interface MemberJson {
  id: string;
  address: string;
  voter: boolean;
  incarnation: string | null;
}

test('member add, promote and remove, and leader transfer, as real processes', async (t) => {
  const cluster = await TestCluster.start({ size: 3 });
  cluster.stopAfter(t);
  await cluster.waitForLeader();
  const endpoints = cluster.nodes.map((n) => n.address);
  await bwctl(['put', 'before-join', 'v'], { endpoints });

  const [port] = await freePorts(1);
  const address = `127.0.0.1:${port}`;
  const added = await bwctlJson<{ member: MemberJson; members: MemberJson[] }>(['member', 'add', 'n4', address], { endpoints });
  assert.deepEqual([added.member.id, added.member.address, added.member.voter], ['n4', address, false]);
  assert.equal(added.members.length, 4);
  const again = await bwctl(['member', 'add', 'n4', address], { endpoints });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /ALREADY_EXISTS/);

  const dataDir = join(cluster.root, 'n4');
  mkdirSync(dataDir, { recursive: true });
  const peers = [...cluster.nodes.map((n) => `${n.id}=${n.address}`)].join(',');
  const n4 = new NodeProcess('n4', address, dataDir, ['--id', 'n4', '--listen', address, '--data-dir', dataDir, '--peers', peers, '--initial-cluster-state', 'existing'], cluster.root);
  t.after(() => n4.stop());
  n4.start();
  // Refused until it has connected and caught up; then promoted.
  await waitFor(async () => (await bwctl(['member', 'promote', 'n4'], { endpoints })).code === 0 || undefined, 60_000, 'n4 is promoted');
  const list = await bwctlJson<{ members: MemberJson[] }>(['member', 'list'], { endpoints });
  assert.deepEqual(list.members.map((m) => [m.id, m.voter]).sort(), [['n1', true], ['n2', true], ['n3', true], ['n4', true]]);
  assert.ok(list.members.every((m) => m.incarnation), 'every incarnation recorded');
  const onN4 = await waitFor(async () => {
    const r = await bwctl(['get', 'before-join', '--read-mode', 'any-follower', '--print-value-only'], { endpoints: [address] });
    return r.stdout === 'v\n' ? r : undefined;
  }, 20_000, 'n4 holds the data written before it joined');
  assert.equal(onN4.code, 0);

  const all = [...endpoints, address];
  const toN4 = await bwctlJson<{ leaderId: string; term: number }>(['leader', 'transfer', 'n4'], { endpoints: all });
  assert.equal(toN4.leaderId, 'n4');
  const status = await bwctlJson<{ id: string; role: string }[]>(['endpoint', 'status'], { endpoints: [address] });
  assert.equal(status[0]?.role, 'leader');
  const away = await bwctlJson<{ leaderId: string }>(['leader', 'transfer'], { endpoints: all });
  assert.notEqual(away.leaderId, 'n4', 'without an id leadership moves to another voter');
  const unknown = await bwctl(['leader', 'transfer', 'n9'], { endpoints: all });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /NOT_FOUND/);

  // Remove a follower (a leader removing itself hands over first: covered by the server's own tests).
  const leaderNow = (await bwctlJson<{ leaderId: string }>(['member', 'list'], { endpoints: all })).leaderId;
  const victim = ['n1', 'n2', 'n3'].find((id) => id !== leaderNow)!;
  const removed = await bwctlJson<{ members: MemberJson[] }>(['member', 'remove', victim], { endpoints: all });
  const remaining = ['n1', 'n2', 'n3', 'n4'].filter((id) => id !== victim);
  assert.deepEqual(removed.members.map((m) => m.id).sort(), remaining);
  await cluster.node(victim).stop();
  const rest = remaining.map((id) => (id === 'n4' ? address : cluster.node(id).address));
  const after = await bwctlJson<{ members: MemberJson[] }>(['member', 'list'], { endpoints: rest });
  assert.deepEqual(after.members.map((m) => m.id).sort(), remaining);
  const gone = await bwctl(['member', 'promote', victim], { endpoints: rest });
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /NOT_FOUND/);
  assert.equal((await bwctl(['put', 'after-remove', 'v'], { endpoints: rest })).code, 0, 'the cluster of three takes writes');
});
