// Read routing by mode against a fake 3-member cluster (m1 leads): follower
// modes spread over followers and use the leader only as a fallback;
// linearizable goes to the leader; a member behind, stale or gone is left
// for another.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, DeadlineExceeded } from '../src/index';
import { FakeCluster } from './helpers/fake-server';
import { settled, until, withCluster } from './helpers/setup';

async function servedBy(read: () => Promise<{ header: { memberId: string } }>, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = (await read()).header.memberId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('read modes', () => {
  const t = withCluster(3);

  test('any-follower and read-your-writes spread over the followers, not the leader', async () => {
    await settled(t.client, 3, 'm1');
    await t.client.put('k', 'v');
    for (const mode of ['any-follower', 'read-your-writes'] as const) {
      const counts = await servedBy(() => t.client.get('k', { mode }), 12);
      assert.equal(counts.get('m1'), undefined, `${mode}: the leader served none`);
      assert.ok((counts.get('m2') ?? 0) >= 3 && (counts.get('m3') ?? 0) >= 3, `${mode}: both followers served (${[...counts]})`);
    }
  });

  test('concurrent follower reads go to the follower with the fewest outstanding', async () => {
    await settled(t.client, 3, 'm1');
    const followers = [t.cluster.member('m2'), t.cluster.member('m3')];
    const received = () => followers.reduce((n, m) => n + m.requests.Get.length, 0);
    const before = received();
    for (const m of followers) m.fail('Get', { kind: 'hang' });
    const controller = new AbortController();
    const stuck = t.client.get('k', { mode: 'any-follower', signal: controller.signal });
    await until(() => received() > before, 'the stuck read reached a follower');
    for (const m of followers) m.clearFaults();
    const busy = t.client.cluster().members.find((v) => v.outstanding === 1)?.id;
    assert.ok(busy, 'one follower holds the stuck read');
    const counts = await servedBy(() => t.client.get('k', { mode: 'any-follower' }), 6);
    assert.equal(counts.get(busy ?? ''), undefined, `the busy follower ${busy} got none: ${[...counts]}`);
    controller.abort();
    await assert.rejects(stuck);
  });

  test('linearizable reads go to the leader', async () => {
    await settled(t.client, 3, 'm1');
    const counts = await servedBy(() => t.client.get('k', { mode: 'linearizable' }), 5);
    assert.deepEqual([...counts], [['m1', 5]]);
  });

  test('read-your-writes: a follower behind the session index is left for one that is not', async () => {
    await settled(t.client, 3, 'm1');
    const m2 = t.cluster.member('m2');
    m2.freeze(); // m2 stops applying
    const put = await t.client.put('fresh', 'new');
    const asked = m2.requests.Get.length;
    for (let i = 0; i < 6; i++) {
      const got = await t.client.get('fresh');
      assert.equal(got.valueString, 'new', 'always the own write');
      assert.ok(got.header.appliedIndex >= put.revision);
      assert.notEqual(got.header.memberId, 'm1');
    }
    assert.ok(m2.requests.Get.length - asked <= 1, 'once it refused, the lagging follower is passed over');
    m2.thaw();
  });

  test('any-follower with maxStalenessMs: too-stale followers refuse, the leader serves as fallback', async () => {
    await settled(t.client, 3, 'm1');
    t.cluster.member('m2').staleMs = 5000;
    t.cluster.member('m3').staleMs = 5000;
    const got = await t.client.get('k', { mode: 'any-follower', maxStalenessMs: 1000 });
    assert.equal(got.header.memberId, 'm1');
    // Within the bound the followers serve again.
    const loose = await servedBy(() => t.client.get('k', { mode: 'any-follower', maxStalenessMs: 10_000 }), 4);
    assert.equal(loose.get('m1'), undefined);
    t.cluster.member('m2').staleMs = 0;
    t.cluster.member('m3').staleMs = 0;
  });
});

test('round-robin balancing alternates between the followers', async () => {
  const cluster = await FakeCluster.start(3);
  const client = await connect({ endpoints: cluster.addresses, loadBalancing: 'round-robin', readMode: 'any-follower', heartbeatIntervalMs: 200 });
  try {
    await settled(client, 3, 'm1');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await client.get('k')).header.memberId);
    for (let i = 1; i < ids.length; i++) assert.notEqual(ids[i], ids[i - 1], `alternates: ${ids}`);
    assert.ok(!ids.includes('m1'));
  } finally {
    await client.close();
    await cluster.stop();
  }
});

test('every member refusing: the read ends at its deadline with the last refusal as cause', async () => {
  const cluster = await FakeCluster.start(2);
  const client = await connect({ endpoints: cluster.addresses, heartbeatIntervalMs: 200 });
  try {
    await settled(client, 2, 'm1');
    for (const m of cluster.members) m.freeze();
    const err = await client.get('k', { minIndex: 1_000, deadlineMs: 300 }).catch((e: unknown) => e);
    assert.ok(err instanceof DeadlineExceeded, String(err));
    assert.match(err.message, /behind min_index 1000/);
    assert.equal(err.mayHaveApplied, false);
  } finally {
    await client.close();
    await cluster.stop();
  }
});
