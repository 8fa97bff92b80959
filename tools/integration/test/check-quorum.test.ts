// The leader's quorum check on real processes: followers that stall for a
// moment (a slow disk, a starved CPU; SIGSTOP here) do not depose it, and
// followers that stay silent past --check-quorum-ms do, with a warning in its
// log and a count in its metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@bellwether/client';
import { waitFor } from '../src/cluster';
import { httpGet, startMetricsCluster } from '../src/metrics-cluster';

const CHECK_QUORUM_MS = 3000;

test('a leader keeps its place while its followers stall shorter than --check-quorum-ms, and steps down after it', async (t) => {
  const { cluster, http } = await startMetricsCluster(3, ['--check-quorum-ms', String(CHECK_QUORUM_MS)]);
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  const followers = cluster.followers(leader);
  t.after(() => {
    for (const f of followers) f.signal('SIGCONT');
  });
  const quorumLost = async () => {
    const text = (await httpGet(`http://${http(leader)}/metrics`)).body;
    return Number(text.match(/^bellwether_raft_quorum_lost_total (\d+)$/m)?.[1]);
  };
  const client = await connect({ endpoints: cluster.nodes.map((n) => n.address) });
  t.after(() => client.close());
  await client.put('k', 'before');
  const { term } = await cluster.status(leader);
  assert.equal(await quorumLost(), 0);

  // 500 ms of silence from both followers: three election timeouts, which
  // deposed the leader when the quorum check ran once per election timeout.
  for (const f of followers) f.signal('SIGSTOP');
  await new Promise((r) => setTimeout(r, 500));
  for (const f of followers) f.signal('SIGCONT');
  await client.put('k', 'after a stall', { deadlineMs: 20_000 });
  const after = await cluster.status(leader);
  assert.equal(after.role, 'ROLE_LEADER', 'still the leader');
  assert.equal(after.term, term, 'no election');
  assert.equal(await quorumLost(), 0);

  // Silent for good: the leader steps down, says why, and counts it.
  for (const f of followers) f.signal('SIGSTOP');
  await waitFor(async () => ((await cluster.status(leader)).role !== 'ROLE_LEADER' ? true : undefined), 20_000, 'the leader steps down');
  assert.equal(await quorumLost(), 1);
  assert.match(leader.log(), /stepped down as leader: heard from no majority of voters/);
  assert.match(leader.log(), new RegExp(`"checkQuorumMs":${CHECK_QUORUM_MS}`));
  for (const f of followers) f.signal('SIGCONT');
  await client.put('k', 'after the step-down', { deadlineMs: 20_000 });
});
