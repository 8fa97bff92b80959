import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Store, TXN_RANGE_BYTES } from '../src/index';
import { deleteEntry, putEntry, tempDir, txnEntry } from './helpers';

const b = (s: string) => Buffer.from(s);
const keysOf = (kvs: { key: Buffer }[]) => kvs.map((kv) => kv.key.toString());

test('a range page stops at its byte budget, says more, and holds at least one key', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  // Keys k0..k9 of 2 bytes with values of 100 bytes: 102 bytes a key.
  await store.apply(Array.from({ length: 10 }, (_, i) => putEntry(i + 1, `k${i}`, 'v'.repeat(100))));
  const page = await store.range({ start: b('k'), limit: 100, maxBytes: 350 });
  assert.deepEqual(keysOf(page.kvs), ['k0', 'k1', 'k2'], 'three keys (306 bytes) fit 350, a fourth does not');
  assert.equal(page.more, true);
  const next = await store.range({ start: b('k3'), limit: 100, maxBytes: 350 });
  assert.deepEqual(keysOf(next.kvs), ['k3', 'k4', 'k5']);

  const tiny = await store.range({ start: b('k'), limit: 100, maxBytes: 10 });
  assert.deepEqual(keysOf(tiny.kvs), ['k0'], 'a key larger than the budget still comes, alone');
  assert.equal(tiny.more, true);

  const keysOnly = await store.range({ start: b('k'), limit: 100, maxBytes: 7, keysOnly: true });
  assert.deepEqual(keysOf(keysOnly.kvs), ['k0', 'k1', 'k2'], 'keys only: the budget counts keys, not the values left out');
  assert.ok(keysOnly.kvs.every((kv) => kv.value.length === 0));

  const all = await store.range({ start: b('k'), limit: 100, maxBytes: 102 * 10 });
  assert.equal(all.kvs.length, 10);
  assert.equal(all.more, false, 'a budget that holds everything ends the range');
  const counted = await store.range({ start: b('k'), limit: 2, maxBytes: 1_000_000 });
  assert.deepEqual([counted.kvs.length, counted.more], [2, true], 'the count limit still applies');
});

test('the ranges of one transaction share one byte budget, and each still gets a key', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  const big = 'x'.repeat(Math.ceil(TXN_RANGE_BYTES / 3));
  await store.apply([putEntry(1, 'a/1', big), putEntry(2, 'a/2', big), putEntry(3, 'a/3', big), putEntry(4, 'a/4', big), putEntry(5, 'b/1', 'small')]);
  const out = await store.apply([
    txnEntry(6, {
      success: [
        { type: 'range', start: b('a/'), end: b('a0'), limit: 100, keysOnly: false },
        { type: 'range', start: b('b/'), end: b('b0'), limit: 100, keysOnly: false },
        { type: 'range', start: b('a/'), end: b('a0'), limit: 100, keysOnly: false },
      ],
    }),
  ]);
  const [first, second, third] = out.results.get(6)!.txn!;
  assert.ok(first?.type === 'range' && second?.type === 'range' && third?.type === 'range');
  assert.deepEqual(keysOf(first.kvs), ['a/1', 'a/2'], 'two of the large values fit the budget, a third would not');
  assert.equal(first.more, true);
  assert.deepEqual(keysOf(second.kvs), ['b/1'], 'a later range past the budget still gets one key');
  assert.equal(second.more, false);
  assert.deepEqual(keysOf(third.kvs), ['a/1'], 'what is left of the budget holds no large value: one key');
  assert.equal(third.more, true);
});

test('a byte-limited range in a transaction is never emptied by deletions earlier in its batch', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  const big = 'x'.repeat(TXN_RANGE_BYTES);
  await store.apply([putEntry(1, 'r/a', big), putEntry(2, 'r/b', big), putEntry(3, 'r/c', big)]);
  const out = await store.apply([
    deleteEntry(4, 'r/a'),
    txnEntry(5, { success: [{ type: 'range', start: b('r/'), end: b('r0'), limit: 10, keysOnly: true }] }),
    txnEntry(6, { success: [{ type: 'range', start: b('r/'), end: b('r0'), limit: 10, keysOnly: false }] }),
  ]);
  const keysOnly = out.results.get(5)!.txn![0]!;
  assert.ok(keysOnly.type === 'range');
  assert.deepEqual(keysOf(keysOnly.kvs), ['r/b', 'r/c']);
  assert.equal(keysOnly.more, false);
  const full = out.results.get(6)!.txn![0]!;
  assert.ok(full.type === 'range');
  assert.deepEqual(keysOf(full.kvs), ['r/b'], 'the deleted first key is skipped, the next one comes');
  assert.equal(full.more, true);
});
