import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCommand, SESSION_PREV_VALUE_KEPT_BYTES, SESSION_RESULTS_KEPT_BYTES, Store } from '../src/index';
import { putEntry, tempDir, txnEntry } from './helpers';

const b = (s: string) => Buffer.from(s);

test('a session forgets its oldest results past SESSION_RESULTS_KEPT_BYTES, counting the previous values it keeps', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  // Every write replaces a value kept whole as a previous value (4 KiB): about 4.1 KiB per remembered result.
  const value = (s: number) => `${s}:`.padEnd(SESSION_PREV_VALUE_KEPT_BYTES, 'x');
  const n = Math.ceil((SESSION_RESULTS_KEPT_BYTES / SESSION_PREV_VALUE_KEPT_BYTES) * 1.5);
  const entries = [putEntry(1, 'k', value(0))];
  // The client never acknowledges anything (min_unacked_sequence stays 0).
  for (let s = 1; s <= n; s++) entries.push(putEntry(s + 1, 'k', value(s), { clientId: 'c', sequence: s, prevKv: true }));
  const first = await store.apply(entries);
  assert.equal(first.results.get(2)?.prevKv?.value.toString(), value(0));

  const retried = await store.apply([
    putEntry(n + 2, 'k', 'retry of the oldest', { clientId: 'c', sequence: 1, prevKv: true }),
    putEntry(n + 3, 'k', 'retry of the newest', { clientId: 'c', sequence: n, prevKv: true }),
  ]);
  assert.equal(retried.results.get(n + 2)?.refused, 'sequence-too-old', 'the oldest result was forgotten to stay within the byte cap');
  const newest = retried.results.get(n + 3)!;
  assert.equal(newest.revision, n + 1, 'the newest is answered from the session');
  assert.equal(newest.prevKv?.value.toString(), value(n - 1), 'with the previous value it kept whole');
  assert.equal((await store.get(b('k')))?.value.toString(), value(n), 'neither retry wrote');

  // How many were kept: the oldest sequence still answered, found by bisection over retries.
  let lo = 1;
  let hi = n;
  let index = n + 4;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const out = await store.apply([putEntry(index, 'probe', 'v', { clientId: 'c', sequence: mid })]);
    if (out.results.get(index)?.refused === 'sequence-too-old') lo = mid + 1;
    else hi = mid;
    index++;
  }
  const kept = n - lo + 1;
  const perResult = SESSION_PREV_VALUE_KEPT_BYTES + 80;
  assert.ok(kept * perResult <= SESSION_RESULTS_KEPT_BYTES * 1.05 && kept * perResult >= SESSION_RESULTS_KEPT_BYTES * 0.9, `${kept} results of ~${perResult} bytes kept`);
});

test('a result larger than the byte cap is remembered alone until the next write', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  const big = 'y'.repeat(1024 * 1024);
  const count = Math.ceil(SESSION_RESULTS_KEPT_BYTES / big.length) + 1;
  await store.apply(Array.from({ length: count }, (_, i) => putEntry(i + 1, `big/${i}`, big)));
  await store.apply([putEntry(count + 1, 'small', 'v', { clientId: 'c', sequence: 1 })]);
  // One transaction that reads more than the cap (gets are not paged).
  const gets = Array.from({ length: count }, (_, i) => ({ type: 'get' as const, key: b(`big/${i}`) }));
  await store.apply([txnEntry(count + 2, { success: gets, clientId: 'c', sequence: 2 })]);
  const again = await store.apply([
    txnEntry(count + 3, { success: gets, clientId: 'c', sequence: 2 }),
    putEntry(count + 4, 'small', 'w', { clientId: 'c', sequence: 1 }),
  ]);
  assert.equal(again.results.get(count + 3)?.revision, count + 2, 'the large result is still answered from the session');
  assert.equal(again.results.get(count + 3)?.txn?.length, count);
  assert.equal(again.results.get(count + 4)?.refused, 'sequence-too-old', 'the older result made room for it');
  await store.apply([putEntry(count + 5, 'small', 'x', { clientId: 'c', sequence: 3 })]);
  const late = await store.apply([txnEntry(count + 6, { success: gets, clientId: 'c', sequence: 2 })]);
  assert.equal(late.results.get(count + 6)?.refused, 'sequence-too-old', 'the next write pushed the large result out');
});

function expireEntry(index: number, sessions: { clientId: string; lastIndex: number }[]) {
  return { index, term: 1, type: 'normal' as const, data: encodeCommand({ op: 'session-expire', sessions }) };
}

test('a session-expire entry forgets the sessions still at the named last index, alike at every replica', async (t) => {
  const stores = await Promise.all([Store.open(tempDir(t)), Store.open(tempDir(t))]);
  t.after(() => Promise.all(stores.map((s) => s.close())));
  const history = [
    [putEntry(1, 'a', '1', { clientId: 'idle', sequence: 1 }), putEntry(2, 'b', '1', { clientId: 'busy', sequence: 1 })],
    // The leader judged both idle as of index 2; busy writes again before the expiry applies.
    [putEntry(3, 'b', '2', { clientId: 'busy', sequence: 2 }), expireEntry(4, [{ clientId: 'idle', lastIndex: 1 }, { clientId: 'busy', lastIndex: 2 }, { clientId: 'never', lastIndex: 1 }])],
    // A retry of idle's first write after its session expired is a new write.
    [putEntry(5, 'a', '1', { clientId: 'idle', sequence: 1 }), putEntry(6, 'b', '2', { clientId: 'busy', sequence: 2 })],
  ];
  for (const store of stores) {
    const outs = [];
    for (const batch of history) outs.push(await store.apply(batch));
    assert.equal(outs[1]!.results.get(4)?.deleted, 1, 'only the idle session was expired');
    assert.equal(outs[2]!.results.get(5)?.revision, 5, 'the expired session starts afresh');
    assert.equal(outs[2]!.results.get(6)?.revision, 3, 'the busy session still answers its retry');
    const listed = [];
    for await (const s of store.sessionLastIndexes()) listed.push(s);
    assert.deepEqual(listed, [
      { clientId: 'busy', lastIndex: 3 },
      { clientId: 'idle', lastIndex: 5 },
    ]);
  }
  assert.equal((await stores[0].get(b('a')))?.version, 2);
  assert.deepEqual(await stores[0].get(b('a')), await stores[1].get(b('a')));
});

test('an expiry and a write of the same session in one batch: the write after the expiry keeps its session', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  await store.apply([putEntry(1, 'a', '1', { clientId: 'c', sequence: 1 })]);
  await store.apply([expireEntry(2, [{ clientId: 'c', lastIndex: 1 }]), putEntry(3, 'a', '2', { clientId: 'c', sequence: 2 })]);
  const retry = await store.apply([putEntry(4, 'a', '2', { clientId: 'c', sequence: 2 })]);
  assert.equal(retry.results.get(4)?.revision, 3, 'the write after the expiry is remembered');
  const listed = [];
  for await (const s of store.sessionLastIndexes()) listed.push(s);
  assert.deepEqual(listed, [{ clientId: 'c', lastIndex: 3 }]);
});
