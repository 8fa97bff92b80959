// Sessions: a read-your-writes scope that tracks the highest index written or
// read, exported as an opaque token and resumed by another client.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BellwetherClient, connect, InvalidArgument, Session } from '../src/index';
import { FakeCluster } from './helpers/fake-server';
import { settled, withCluster } from './helpers/setup';

describe('sessions', () => {
  const t = withCluster(3);

  test('a session tracks the highest index it wrote or read and sends it as min_index', async () => {
    await settled(t.client, 3, 'm1');
    const s = t.client.session();
    assert.ok(s instanceof Session);
    assert.equal(s.index, 0);
    const put = await s.put('s/a', '1');
    assert.equal(s.index, put.revision);
    const got = await s.get('s/a');
    assert.equal(got.valueString, '1');
    const req = t.cluster.members.flatMap((m) => m.requests.Get).at(-1)!;
    assert.equal(req.read?.minIndex, put.revision);
    assert.ok(s.index >= put.revision);
    // Deletes, swaps and ranges count too.
    const swap = await s.compareAndSwap('s/a', put.revision, '2');
    assert.ok(swap.succeeded);
    assert.equal(s.index, swap.revision);
    const page = await s.range({ prefix: 's/' });
    assert.equal(page.kvs[0]?.valueString, '2');
    const keys: string[] = [];
    for await (const kv of s.scan({ prefix: 's/' })) keys.push(kv.keyString);
    assert.deepEqual(keys, ['s/a']);
    const del = await s.delete('s/a');
    assert.equal(s.index, del.revision);
    const cad = await s.compareAndDelete('s/a', 12345);
    assert.equal(cad.succeeded, false);
  });

  test('sessions are scoped: one session does not wait for another\'s writes', async () => {
    await settled(t.client, 3, 'm1');
    const a = t.client.session();
    const b = t.client.session();
    const put = await a.put('scoped', 'v');
    await b.get('other');
    const req = t.cluster.members.flatMap((m) => m.requests.Get).find((r) => r.key.toString() === 'other')!;
    assert.equal(req.read?.minIndex, 0);
    // The client's own default scope saw every write of its sessions.
    await t.client.get('scoped');
    const own = t.cluster.members.flatMap((m) => m.requests.Get).filter((r) => r.key.toString() === 'scoped').at(-1)!;
    assert.ok((own.read?.minIndex ?? 0) >= put.revision);
  });

  test('a token resumes the session in another client: its reads see the writes, even on a lagging follower', async () => {
    await settled(t.client, 3, 'm1');
    // m2 falls behind: it will not have applied the write; the other client is seeded with it.
    t.cluster.member('m2').freeze();
    const s = t.client.session();
    const put = await s.put('cart/42', 'apples');
    const token = s.token();
    assert.match(token, /^bw1\.[A-Za-z0-9_-]+$/);
    assert.ok(token.length < 100);
    const other = await connect({ endpoints: [t.cluster.members[1]!.address], heartbeatIntervalMs: 200 });
    try {
      const resumed = other.session({ token });
      assert.equal(resumed.index, put.revision);
      for (let i = 0; i < 4; i++) assert.equal((await resumed.get('cart/42')).valueString, 'apples');
      const req = t.cluster.members.flatMap((m) => m.requests.Get).filter((r) => r.key.toString() === 'cart/42').at(-1)!;
      assert.equal(req.read?.minIndex, put.revision);
    } finally {
      t.cluster.member('m2').thaw();
      await other.close();
    }
  });

  test('include() merges another token or index; bad tokens are refused', async () => {
    await settled(t.client, 3, 'm1');
    const s = t.client.session();
    s.include(7);
    assert.equal(s.index, 7);
    const other = t.client.session({ token: s.token() });
    other.include(3);
    assert.equal(other.index, 7, 'never lowered');
    for (const bad of ['', 'hello', 'bw1.', 'bw1.!!!', `bw1.${Buffer.from('{"c":"x","i":-1}').toString('base64url')}`, `bw1.${'A'.repeat(2000)}`]) {
      assert.throws(() => t.client.session({ token: bad }), InvalidArgument, bad);
    }
    // @ts-expect-error not a string
    assert.throws(() => t.client.session({ token: 42 }), InvalidArgument);
    assert.throws(() => s.include(-1), InvalidArgument);
  });
});

test('a token from another cluster is refused', async () => {
  const a = await FakeCluster.start(1);
  const b = await FakeCluster.start(1);
  Object.defineProperty(b.group, 'clusterId', { value: 'cluster-b' });
  const ca = await connect({ endpoints: a.addresses });
  const cb = await connect({ endpoints: b.addresses });
  try {
    const s = ca.session();
    await s.put('k', 'v');
    await cb.put('k', 'v'); // cb now knows its cluster id
    assert.throws(() => cb.session({ token: s.token() }), (e: unknown) => e instanceof InvalidArgument && /belongs to cluster fake-cluster/.test(e.message));
    // A client that does not know its cluster yet refuses it on the session's first read.
    const fresh = await connect({ endpoints: b.addresses });
    try {
      const err = await (async () => fresh.session({ token: s.token() }).get('k'))().catch((e: unknown) => e);
      assert.ok(err instanceof InvalidArgument && /belongs to cluster fake-cluster/.test(err.message), String(err));
    } finally {
      await fresh.close();
    }
  } finally {
    await ca.close();
    await cb.close();
    await a.stop();
    await b.stop();
  }
});

test("a session's key-value methods are the client's own, not a second copy", () => {
  for (const name of ['put', 'get', 'delete', 'compareAndSwap', 'compareAndDelete', 'range', 'scan'] as const) {
    assert.equal(typeof Session.prototype[name], 'function', name);
    assert.equal(Session.prototype[name], BellwetherClient.prototype[name], name);
  }
});
