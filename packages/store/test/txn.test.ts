import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Store } from '../src/index';
import { putEntry, tempDir, txnEntry } from './helpers';

const b = (s: string) => Buffer.from(s);

test('a transaction whose compares hold runs its success branch at one revision', async (t) => {
  const store = await Store.open(tempDir(t), { trackChanges: true });
  t.after(() => store.close());
  await store.apply([putEntry(1, 'stock/42', '5'), putEntry(2, 'orders/1', 'old')]);
  const out = await store.apply([
    txnEntry(3, {
      compares: [
        { key: b('stock/42'), target: 'value', op: '>', operand: b('0') },
        { key: b('stock/42'), target: 'version', op: '=', operand: 1 },
        { key: b('orders/2'), target: 'create', op: '=', operand: 0 },
      ],
      success: [
        { type: 'put', key: b('stock/42'), value: b('4'), prevKv: true },
        { type: 'put', key: b('orders/2'), value: b('new'), prevKv: false },
        { type: 'delete', key: b('orders/1'), prevKv: true },
        { type: 'get', key: b('orders/2') },
        { type: 'range', start: b('orders/'), end: b('orders0'), limit: 10, keysOnly: false },
      ],
      failure: [{ type: 'get', key: b('stock/42') }],
    }),
  ]);
  const r = out.results.get(3)!;
  assert.equal(r.succeeded, true);
  assert.equal(r.revision, 3);
  const [put, , del, get, range] = r.txn!;
  assert.equal(put?.type === 'put' && put.prevKv?.value.toString(), '5');
  assert.equal(del?.type === 'delete' && del.deleted, 1);
  assert.equal(get?.type === 'get' && get.kv?.value.toString(), 'new', 'a get sees the writes before it in the transaction');
  assert.deepEqual(range?.type === 'range' && range.kvs.map((kv) => kv.key.toString()), ['orders/2'], 'a range sees the put and the delete before it');
  const stock = await store.get(b('stock/42'));
  assert.deepEqual([stock?.value.toString(), stock?.modRevision, stock?.version], ['4', 3, 2]);
  assert.equal((await store.get(b('orders/2')))?.modRevision, 3);
  assert.equal(await store.get(b('orders/1')), undefined);
  assert.deepEqual(
    out.changes.map((c) => [c.revision, c.type, c.kv.key.toString(), c.prevKv?.value.toString()]),
    [
      [3, 'put', 'stock/42', '5'],
      [3, 'put', 'orders/2', undefined],
      [3, 'delete', 'orders/1', 'old'],
    ],
  );
});

test('a failed compare runs the failure branch and writes nothing of the success branch', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  await store.apply([putEntry(1, 'stock/42', '0')]);
  const out = await store.apply([
    txnEntry(2, {
      compares: [{ key: b('stock/42'), target: 'value', op: '>', operand: b('0') }],
      success: [{ type: 'put', key: b('stock/42'), value: b('-1'), prevKv: false }],
      failure: [{ type: 'get', key: b('stock/42') }],
    }),
  ]);
  const r = out.results.get(2)!;
  assert.equal(r.succeeded, false);
  assert.equal(r.txn?.[0]?.type === 'get' && r.txn[0].kv?.value.toString(), '0');
  assert.equal((await store.get(b('stock/42')))?.modRevision, 1);
});

test('compares: =, !=, <, > on version, create and mod revisions; a missing key has zeros and no value', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  await store.apply([putEntry(1, 'k', 'v'), putEntry(2, 'k', 'w')]);
  const cases: [Parameters<typeof txnEntry>[1]['compares'], boolean][] = [
    [[{ key: b('k'), target: 'version', op: '=', operand: 2 }], true],
    [[{ key: b('k'), target: 'version', op: '<', operand: 2 }], false],
    [[{ key: b('k'), target: 'create', op: '=', operand: 1 }], true],
    [[{ key: b('k'), target: 'mod', op: '>', operand: 1 }], true],
    [[{ key: b('k'), target: 'mod', op: '!=', operand: 2 }], false],
    [[{ key: b('k'), target: 'value', op: '=', operand: b('w') }], true],
    [[{ key: b('k'), target: 'value', op: '<', operand: b('x') }], true],
    [[{ key: b('absent'), target: 'version', op: '=', operand: 0 }], true],
    [[{ key: b('absent'), target: 'value', op: '!=', operand: b('x') }], false],
    [
      [
        { key: b('k'), target: 'version', op: '=', operand: 2 },
        { key: b('absent'), target: 'mod', op: '>', operand: 0 },
      ],
      false,
    ],
  ];
  let index = 3;
  for (const [compares, expected] of cases) {
    const out = await store.apply([txnEntry(index, { compares })]);
    assert.equal(out.results.get(index)?.succeeded, expected, JSON.stringify(compares));
    index++;
  }
});

test('a retried transaction gets its first results, survives a reopen, and is not applied again', async (t) => {
  const dir = tempDir(t);
  let store = await Store.open(dir);
  const txn = {
    clientId: 'c1',
    sequence: 1,
    success: [
      { type: 'put' as const, key: b('a'), value: b('1'), prevKv: false },
      { type: 'range' as const, start: b('a'), end: undefined, limit: 5, keysOnly: true },
    ],
  };
  const first = (await store.apply([txnEntry(1, txn)])).results.get(1)!;
  await store.close();
  store = await Store.open(dir);
  t.after(() => store.close());
  const again = (await store.apply([txnEntry(2, txn)])).results.get(2)!;
  assert.deepEqual(JSON.parse(JSON.stringify(again)), JSON.parse(JSON.stringify(first)));
  assert.equal(again.txn?.[1]?.type === 'range' && again.txn[1].kvs.length, 1);
  assert.equal((await store.get(b('a')))?.version, 1, 'applied once');
});

test('a range in a transaction pages past keys deleted earlier in the same batch', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  await store.apply(['a', 'b', 'c', 'd', 'e'].map((k, i) => putEntry(i + 1, `r/${k}`, k)));
  const out = await store.apply([
    txnEntry(6, {
      success: [
        { type: 'delete', key: b('r/a'), prevKv: false },
        { type: 'delete', key: b('r/b'), prevKv: false },
        { type: 'range', start: b('r/'), end: b('r0'), limit: 2, keysOnly: false },
      ],
    }),
  ]);
  const range = out.results.get(6)!.txn![2]!;
  assert.ok(range.type === 'range');
  assert.deepEqual(range.kvs.map((kv) => kv.key.toString()), ['r/c', 'r/d']);
  assert.equal(range.more, true);
});
