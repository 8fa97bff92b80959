// The dashboard's data (/api/cluster) on a cluster with client TLS, peer mTLS
// and auth enabled: the serving member asks the others over the peer port
// (Raft.Observe), so it needs no client certificate or user of its own.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TestCluster, waitFor } from '../src/cluster';
import { httpGet } from '../src/metrics-cluster';
import { enableAuth, tlsClusterOptions } from '../src/secure';

interface ClusterData {
  leader: { id: string } | null;
  members: { id: string; up: boolean; role?: string; error?: string }[];
}

test('the dashboard shows every member up, and the leader, on a cluster with TLS and auth enabled', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-dashboard-secure-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { options } = tlsClusterOptions(dir, 3);
  const cluster = await TestCluster.start({ size: 3, ...options, metricsPorts: true });
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  await enableAuth(leader.address, 'rootpw', options.credentials);

  const viewer = cluster.followers(leader)[0]!;
  let lastSeen = '';
  const data = await waitFor(
    async () => {
      const res = await httpGet(`http://${viewer.metricsAddress}/api/cluster`);
      const d = JSON.parse(res.body) as ClusterData;
      lastSeen = JSON.stringify({ leader: d.leader, members: d.members });
      return d.members.length === 3 && d.members.every((m) => m.up) && d.leader ? d : undefined;
    },
    20_000,
    'the dashboard data shows 3 members up and a leader',
  ).catch((err: Error) => {
    // Say what the serving member saw (members down with their errors, or no leader).
    throw new Error(`${err.message}; last seen: ${lastSeen}`);
  });
  assert.equal(data.leader?.id, leader.id);
  assert.deepEqual(data.members.map((m) => m.id), ['n1', 'n2', 'n3']);
  assert.ok(data.members.every((m) => m.error === undefined), JSON.stringify(data.members));
});
