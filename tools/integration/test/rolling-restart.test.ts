// A rolling restart under continuous SDK writes, on real processes: every
// member in turn gets SIGTERM and is started again, the leader last. No
// write fails, none is lost, none is applied twice. Each writer rewrites one
// key sequentially, so a duplicate application would show in its version;
// each write also creates a fresh key whose revision must be the one the
// writer was told.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type NodeProcess, waitFor } from '../src/cluster';
import { clientFollows, sdkClient, startSdkCluster } from '../src/sdk-helpers';

test('rolling restart (SIGTERM, start again, the leader last) under SDK writes: no error, nothing lost or doubled', async (t) => {
  const { cluster, leader: first } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, cluster.nodes.map((n) => n.address), { deadlineMs: 30_000 });
  await clientFollows(client, first.id, 3);

  const WRITERS = 4;
  let stop = false;
  const counts = new Array<number>(WRITERS).fill(0);
  const revisions = new Map<string, number>();
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    for (let i = 1; !stop; i++) {
      await client.put(`seq/${w}`, String(i)); // any error fails the test
      const r = await client.put(`once/${w}/${i}`, `v${i}`);
      revisions.set(`once/${w}/${i}`, r.revision);
      counts[w] = i;
    }
  });
  const total = () => counts.reduce((a, b) => a + b, 0);
  const progress = async (what: string) => {
    const from = total();
    await waitFor(() => (total() >= from + 20 ? true : undefined), 30_000, `writes flow ${what}`);
  };
  await progress('before the restarts');

  const restart = async (n: NodeProcess) => {
    n.signal('SIGTERM');
    assert.equal(await n.waitExit(), 0, `${n.id} exited cleanly`);
    n.start();
    const st = await waitFor(async () => {
      const lead = await cluster.waitForLeader(20_000);
      const [ls, ms] = await Promise.all([cluster.status(lead), cluster.status(n)]);
      return ms.appliedIndex >= ls.commitIndex ? ms : undefined;
    }, 30_000, `${n.id} caught up after its restart`);
    t.diagnostic(`${n.id} restarted and caught up at index ${st.appliedIndex}`);
    await progress(`after restarting ${n.id}`);
  };
  // Every member but the leader first, asking who leads before each step (an election on a busy
  // machine can move leadership meanwhile); then whoever leads once all the others have restarted.
  const restarted = new Set<string>();
  for (;;) {
    const lead = await cluster.waitForLeader(20_000);
    const follower = cluster.nodes.find((n) => n.id !== lead.id && !restarted.has(n.id));
    if (!follower) break;
    await restart(follower);
    restarted.add(follower.id);
  }
  const leader = await cluster.waitForLeader(20_000);
  await restart(leader);
  const next = await cluster.waitForLeader(20_000);
  t.diagnostic(`leader after the rolling restart: ${next.id}`);
  assert.match(leader.log(), /leadership handed over/, `${leader.id} handed leadership over when it got SIGTERM`);

  stop = true;
  await Promise.all(writers);
  for (let w = 0; w < WRITERS; w++) {
    const seq = await client.get(`seq/${w}`, { mode: 'linearizable' });
    assert.equal(seq.valueString, String(counts[w]));
    assert.equal(seq.kv?.version, counts[w], `seq/${w}: ${seq.kv?.version} applications of ${counts[w]} writes`);
  }
  let seen = 0;
  for await (const kv of client.scan({ prefix: 'once/' }, { mode: 'linearizable' })) {
    assert.equal(kv.version, 1, `${kv.keyString} applied ${kv.version} times`);
    assert.equal(kv.modRevision, revisions.get(kv.keyString), `${kv.keyString}: the revision the writer was told`);
    seen++;
  }
  assert.equal(seen, revisions.size, 'every acknowledged write is there');
});
