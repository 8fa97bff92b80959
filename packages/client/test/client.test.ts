import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, DeadlineExceeded, InvalidArgument, type KeyValue } from '../src/index';
import { TRANSPORTS, withServer } from './helpers/setup';

for (const transport of TRANSPORTS) describe(`put / get / delete (${transport})`, () => {
  const t = withServer({}, { transport });

  test('put then get a string key, with the response header', async () => {
    const put = await t.client.put('greeting', 'hello');
    assert.equal(put.succeeded, true);
    assert.ok(put.revision > 0);
    assert.equal(put.header.revision, put.revision);
    assert.equal(put.header.memberId, 'm1');
    assert.equal(put.header.leaderId, 'm1');
    assert.equal(put.header.clusterId, 'fake-cluster');
    assert.equal(put.header.term, 3);
    assert.equal(put.prev, undefined);

    const got = await t.client.get('greeting');
    assert.equal(got.found, true);
    assert.equal(got.valueString, 'hello');
    assert.deepEqual(got.value, new TextEncoder().encode('hello'));
    assert.equal(got.kv?.keyString, 'greeting');
    assert.equal(got.kv?.modRevision, put.revision);
    assert.equal(got.kv?.createRevision, put.revision);
    assert.equal(got.kv?.version, 1);
    assert.equal(got.header.appliedIndex, put.revision);
  });

  test('byte keys and values round-trip exactly, as plain Uint8Arrays', async () => {
    const key = new Uint8Array([0xff, 0x00, 0x80, 0x01]);
    const value = new Uint8Array([0xc3, 0x28, 0x00, 0xfe]); // not valid UTF-8
    await t.client.put(key, value);
    const got = await t.client.get(key);
    assert.ok(got.kv);
    assert.equal(Object.getPrototypeOf(got.kv.value), Uint8Array.prototype);
    assert.deepEqual(got.kv.key, key);
    assert.deepEqual(got.kv.value, value);
    // A string key is its UTF-8 bytes: 'é' and its bytes name the same key.
    await t.client.put('é', 'accent');
    assert.equal((await t.client.get(new Uint8Array([0xc3, 0xa9]))).valueString, 'accent');
    // A view into a larger buffer sends only its own bytes.
    const big = new Uint8Array([1, 2, 3, 4, 5]);
    await t.client.put(big.subarray(1, 3), 'slice');
    assert.equal((await t.client.get(new Uint8Array([2, 3]))).valueString, 'slice');
  });

  test('get of a missing key is not an error', async () => {
    const got = await t.client.get('missing');
    assert.equal(got.found, false);
    assert.equal(got.kv, undefined);
    assert.equal(got.value, undefined);
    assert.equal(got.valueString, undefined);
  });

  test('put with prevKv returns the previous value; versions count', async () => {
    await t.client.put('counter', '1');
    const second = await t.client.put('counter', '2', { prevKv: true });
    assert.equal(second.prev?.valueString, '1');
    assert.equal(second.prev?.version, 1);
    assert.equal((await t.client.get('counter')).kv?.version, 2);
  });

  test('delete removes a key; deleting a missing key deletes 0', async () => {
    await t.client.put('doomed', 'x');
    const del = await t.client.delete('doomed', { prevKv: true });
    assert.equal(del.deleted, 1);
    assert.equal(del.succeeded, true);
    assert.equal(del.prev?.valueString, 'x');
    assert.ok(del.revision > 0);
    assert.equal((await t.client.get('doomed')).found, false);
    const again = await t.client.delete('doomed');
    assert.equal(again.deleted, 0);
    assert.equal(again.prev, undefined);
  });

  test('bad keys and options are rejected before anything is sent', async () => {
    const before = t.server.requests.Put.length;
    await assert.rejects(t.client.put('', 'v'), (e: unknown) => e instanceof InvalidArgument && /key: must be 1\.\.4096 bytes, got 0/.test(e.message));
    await assert.rejects(t.client.put('k'.repeat(4097), 'v'), InvalidArgument);
    // @ts-expect-error a number is not a key
    await assert.rejects(t.client.put(42, 'v'), InvalidArgument);
    await assert.rejects(t.client.put('k', 'v', { expectedModRevision: -1 }), InvalidArgument);
    await assert.rejects(t.client.put('k', 'v', { deadlineMs: 0 }), InvalidArgument);
    // @ts-expect-error not a read mode
    await assert.rejects(t.client.get('k', { mode: 'eventual' }), InvalidArgument);
    assert.equal(t.server.requests.Put.length, before);
  });
});

for (const transport of TRANSPORTS) describe(`compare-and-swap (${transport})`, () => {
  const t = withServer({}, { transport });

  test('expectedModRevision 0 creates only if absent', async () => {
    const created = await t.client.compareAndSwap('lock', 0, 'owner-a');
    assert.equal(created.succeeded, true);
    assert.ok(created.succeeded && created.prev === undefined);
    const again = await t.client.compareAndSwap('lock', 0, 'owner-b');
    assert.equal(again.succeeded, false);
    assert.ok(!again.succeeded);
    assert.equal(again.current?.valueString, 'owner-a');
    assert.equal((await t.client.get('lock')).valueString, 'owner-a');
  });

  test('swap succeeds on the current modRevision and fails on a stale one', async () => {
    const first = await t.client.put('cfg', 'v1');
    const swapped = await t.client.compareAndSwap('cfg', first.revision, 'v2');
    assert.ok(swapped.succeeded);
    assert.equal(swapped.prev?.valueString, 'v1');
    assert.equal((await t.client.get('cfg')).kv?.modRevision, swapped.revision);

    const stale = await t.client.compareAndSwap('cfg', first.revision, 'v3');
    assert.ok(!stale.succeeded);
    assert.equal(stale.current?.valueString, 'v2');
    assert.equal(stale.current?.modRevision, swapped.revision);
    assert.equal((await t.client.get('cfg')).valueString, 'v2');
  });

  test('put with expectedModRevision reports a mismatch as succeeded: false', async () => {
    await t.client.put('p', 'a');
    const res = await t.client.put('p', 'b', { expectedModRevision: 1_000_000 });
    assert.equal(res.succeeded, false);
    assert.equal(res.prev?.valueString, 'a');
  });

  test('compareAndDelete deletes only at the expected revision', async () => {
    const put = await t.client.put('cd', 'x');
    const miss = await t.client.compareAndDelete('cd', put.revision + 100);
    assert.ok(!miss.succeeded);
    assert.equal(miss.current?.valueString, 'x');
    const hit = await t.client.compareAndDelete('cd', put.revision);
    assert.ok(hit.succeeded);
    assert.equal(hit.prev?.valueString, 'x');
    assert.equal((await t.client.get('cd')).found, false);
  });
});

describe('exactly-once groundwork', () => {
  const t = withServer({}, { clientId: 'client-under-test' });

  test('every write carries the client id and strictly increasing sequences, past any earlier process using the id', async () => {
    const startedAt = Date.now();
    await t.client.put('a', '1');
    await t.client.compareAndSwap('a', 0, '2');
    await t.client.delete('a');
    await Promise.all([t.client.put('b', '1'), t.client.put('c', '1')]);
    const writes = [...t.server.requests.Put, ...t.server.requests.Delete];
    assert.ok(writes.every((w) => w.clientId === 'client-under-test'));
    const sequences = writes.map((w) => w.sequence).sort((x, y) => x - y);
    // A given id starts from a clock-derived number (a restarted process reusing it never collides).
    const first = sequences[0]!;
    assert.ok(first <= startedAt * 1024 && first > (startedAt - 60_000) * 1024, `first sequence ${first}`);
    assert.deepEqual(sequences, [first, first + 1, first + 2, first + 3, first + 4]);
    assert.ok(sequences.every(Number.isSafeInteger));
    assert.equal(t.client.clientId, 'client-under-test');
  });

  test('a client without an id gets a random one', async () => {
    const c1 = await connect({ endpoints: [t.server.address] });
    const c2 = await connect({ endpoints: [t.server.address] });
    try {
      assert.notEqual(c1.clientId, c2.clientId);
      assert.ok(c1.clientId.length > 0);
      await c1.put('x', '1');
      const last = t.server.requests.Put.at(-1)!;
      assert.equal(last.clientId, c1.clientId);
      assert.equal(last.sequence, 1);
    } finally {
      await c1.close();
      await c2.close();
    }
  });

  test('bad client ids are rejected', async () => {
    await assert.rejects(connect({ endpoints: ['127.0.0.1:1'], clientId: '' }), InvalidArgument);
    await assert.rejects(connect({ endpoints: ['127.0.0.1:1'], clientId: 'x'.repeat(129) }), InvalidArgument);
    await assert.rejects(connect({ endpoints: [] }), InvalidArgument);
  });
});

describe('read modes', () => {
  const t = withServer();

  test('read-your-writes is the default and sends the highest index seen', async () => {
    const put = await t.client.put('ryw', 'v');
    await t.client.get('ryw');
    const req = t.server.requests.Get.at(-1)!;
    assert.equal(req.read?.mode, 'READ_MODE_READ_YOUR_WRITES');
    assert.equal(req.read?.minIndex, put.revision);
    // A larger explicit minIndex wins (no member reaches it here, so the read ends at its deadline).
    await assert.rejects(t.client.get('ryw', { minIndex: put.revision + 50, deadlineMs: 300 }), DeadlineExceeded);
    assert.equal(t.server.requests.Get.at(-1)!.read?.minIndex, put.revision + 50);
  });

  test('per-call modes: linearizable, any-follower with maxStalenessMs', async () => {
    await t.client.get('k', { mode: 'linearizable' });
    let req = t.server.requests.Get.at(-1)!;
    assert.equal(req.read?.mode, 'READ_MODE_LINEARIZABLE');
    assert.equal(req.read?.minIndex, 0);
    await t.client.get('k', { mode: 'any-follower', maxStalenessMs: 250 });
    req = t.server.requests.Get.at(-1)!;
    assert.equal(req.read?.mode, 'READ_MODE_ANY_FOLLOWER');
    assert.equal(req.read?.maxStalenessMs, 250);
  });

  test('the client default mode applies to get and range', async () => {
    const c = await connect({ endpoints: [t.server.address], readMode: 'any-follower', maxStalenessMs: 100 });
    try {
      await c.get('k');
      assert.equal(t.server.requests.Get.at(-1)!.read?.mode, 'READ_MODE_ANY_FOLLOWER');
      assert.equal(t.server.requests.Get.at(-1)!.read?.maxStalenessMs, 100);
      await c.range({ prefix: 'k' });
      assert.equal(t.server.requests.Range.at(-1)!.read?.mode, 'READ_MODE_ANY_FOLLOWER');
    } finally {
      await c.close();
    }
  });
});

for (const transport of TRANSPORTS) describe(`range and scan (${transport})`, () => {
  const t = withServer({}, { transport });
  const names = (kvs: readonly KeyValue[]) => kvs.map((kv) => kv.keyString);

  test('prefix, [start, end), keysOnly', async () => {
    for (const k of ['user/ann', 'user/bob', 'user/cid', 'users', 'zzz', 'a']) await t.client.put(k, `v-${k}`);
    const byPrefix = await t.client.range({ prefix: 'user/' });
    assert.deepEqual(names(byPrefix.kvs), ['user/ann', 'user/bob', 'user/cid']);
    assert.equal(byPrefix.more, false);
    assert.equal(byPrefix.continuation, undefined);
    assert.equal(byPrefix.kvs[0]!.valueString, 'v-user/ann');

    const between = await t.client.range({ start: 'user/bob', end: 'zzz' });
    assert.deepEqual(names(between.kvs), ['user/bob', 'user/cid', 'users']);
    const open = await t.client.range({ start: 'users' });
    assert.deepEqual(names(open.kvs), ['users', 'zzz']);
    const all = await t.client.range({});
    assert.equal(all.kvs.length, 6);

    const keysOnly = await t.client.range({ prefix: 'user/' }, { keysOnly: true });
    assert.equal(keysOnly.kvs[0]!.value.length, 0);
    assert.ok(keysOnly.kvs[0]!.modRevision > 0);

    await assert.rejects(t.client.range({ start: 'b', end: 'a' }), InvalidArgument);
    await assert.rejects(t.client.range({ prefix: 'a' }, { limit: 0 }), InvalidArgument);
  });

  test('pages by hand with limit and continuation', async () => {
    for (let i = 0; i < 7; i++) await t.client.put(`page/${i}`, String(i));
    const first = await t.client.range({ prefix: 'page/' }, { limit: 3 });
    assert.deepEqual(names(first.kvs), ['page/0', 'page/1', 'page/2']);
    assert.equal(first.more, true);
    assert.ok(first.continuation);
    const second = await t.client.range({ prefix: 'page/' }, { limit: 3, continuation: first.continuation });
    assert.deepEqual(names(second.kvs), ['page/3', 'page/4', 'page/5']);
    const third = await t.client.range({ prefix: 'page/' }, { limit: 3, continuation: second.continuation });
    assert.deepEqual(names(third.kvs), ['page/6']);
    assert.equal(third.more, false);
  });

  test('scan follows continuation across pages', async () => {
    for (let i = 0; i < 25; i++) await t.client.put(`scan/${String(i).padStart(2, '0')}`, String(i));
    const before = t.server.requests.Range.length;
    const seen: string[] = [];
    for await (const kv of t.client.scan({ prefix: 'scan/' }, { pageSize: 4 })) seen.push(kv.keyString);
    assert.equal(seen.length, 25);
    assert.deepEqual(seen, [...seen].sort());
    assert.equal(seen[0], 'scan/00');
    assert.equal(t.server.requests.Range.length - before, 7); // ceil(25 / 4)
    assert.ok(t.server.requests.Range.slice(before).every((r) => r.limit === 4));

    const limited: string[] = [];
    for await (const kv of t.client.scan({ prefix: 'scan/' }, { pageSize: 10, limit: 12 })) limited.push(kv.keyString);
    assert.equal(limited.length, 12);
    assert.equal(t.server.requests.Range.at(-1)!.limit, 2); // the last page asks only for what is left

    const early: string[] = [];
    for await (const kv of t.client.scan({ prefix: 'scan/' }, { pageSize: 5 })) {
      early.push(kv.keyString);
      if (early.length === 3) break;
    }
    assert.deepEqual(early, ['scan/00', 'scan/01', 'scan/02']);
  });
});

describe('cluster information', () => {
  const t = withServer();

  test('status() and members() describe the member and the cluster', async () => {
    await t.client.put('k', 'v');
    const status = await t.client.status();
    assert.equal(status.role, 'leader');
    assert.equal(status.memberId, 'm1');
    assert.equal(status.leaderId, 'm1');
    assert.equal(status.leaderAddress, t.server.address);
    assert.equal(status.appliedIndex, 1);
    assert.equal(status.term, 3);
    assert.deepEqual(status.followers, [{ memberId: 'm2', matchIndex: 1, lagEntries: 0, lastContactMs: 12, state: 'replicate', learner: false }]);
    const members = await t.client.members({ deadlineMs: 1000 });
    assert.equal(members.leaderId, 'm1');
    assert.deepEqual(members.members, [{ id: 'm1', address: t.server.address, voter: true, role: 'voter', incarnation: 'inc-m1' }]);
  });
});

test('the client class is exported for instanceof but built only by connect()', async () => {
  const { BellwetherClient } = await import('../src/index');
  const c = await connect({ endpoints: ['127.0.0.1:1'] });
  assert.ok(c instanceof BellwetherClient);
  // @ts-expect-error the constructor needs connect()'s private token
  assert.throws(() => new BellwetherClient({ endpoints: ['127.0.0.1:1'] }), TypeError);
  await c.close();
});
