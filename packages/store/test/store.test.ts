import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '@bellwether/raft';
import { type LogEntry, Reader, SESSION_RESULTS_KEPT, Store, u64be, Writer } from '../src/index';
import { deleteEntry, putEntry, tempDir } from './helpers';

test('codec round-trips integers up to 2^53 and byte strings', () => {
  const values = [0, 1, 127, 128, 300, 2 ** 32, Number.MAX_SAFE_INTEGER];
  const w = new Writer(1);
  for (const v of values) w.uint(v);
  w.bytes(Buffer.from('héllo')).optional(undefined, (w, v: number) => w.uint(v)).optional(5, (w, v) => w.uint(v));
  const r = new Reader(w.finish());
  for (const v of values) assert.equal(r.uint(), v);
  assert.equal(r.bytes().toString(), 'héllo');
  assert.equal(r.optional((r) => r.uint()), undefined);
  assert.equal(r.optional((r) => r.uint()), 5);
  assert.ok(r.done);
  assert.throws(() => new Reader(Buffer.from([0x80])).uint(), /truncated/);
  assert.ok(Buffer.compare(u64be(255), u64be(256)) < 0, 'big-endian keys sort numerically');
});

test('apply writes data, revisions and the applied index together', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  const out = await store.apply([putEntry(1, 'a', '1'), putEntry(2, 'b', '2'), putEntry(3, 'a', '3'), deleteEntry(4, 'b')]);
  assert.equal(out.appliedIndex, 4);
  assert.equal(store.appliedIndex, 4);
  const a = await store.get(Buffer.from('a'));
  assert.deepEqual(
    { value: a?.value.toString(), create: a?.createRevision, mod: a?.modRevision, version: a?.version },
    { value: '3', create: 1, mod: 3, version: 2 },
  );
  assert.equal(await store.get(Buffer.from('b')), undefined);
  assert.equal(out.results.get(4)?.deleted, 1);
  assert.equal(out.results.get(4)?.prevKv?.value.toString(), '2');
  // A delete ends a key's life: a new put starts over at version 1.
  await store.apply([putEntry(5, 'b', 'again')]);
  const b = await store.get(Buffer.from('b'));
  assert.equal(b?.version, 1);
  assert.equal(b?.createRevision, 5);
});

test('compare-and-swap compares mod_revision; 0 means absent', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  const out = await store.apply([
    putEntry(1, 'k', 'v1', { expectedModRevision: 0 }),
    putEntry(2, 'k', 'v2', { expectedModRevision: 0 }),
    putEntry(3, 'k', 'v3', { expectedModRevision: 1 }),
    putEntry(4, 'k', 'v4', { expectedModRevision: 1 }),
    deleteEntry(5, 'k', { expectedModRevision: 1 }),
  ]);
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((i) => out.results.get(i)?.succeeded),
    [true, false, true, false, false],
  );
  assert.equal(out.results.get(4)?.prevKv?.value.toString(), 'v3', 'a failed compare reports the current value');
  assert.equal((await store.get(Buffer.from('k')))?.value.toString(), 'v3');
});

test('a retried (client, sequence) gets the first result and is not applied again', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  const first = await store.apply([putEntry(1, 'x', 'one', { clientId: 'c1', sequence: 1 })]);
  const again = await store.apply([
    putEntry(2, 'x', 'one', { clientId: 'c1', sequence: 1 }),
    putEntry(3, 'y', 'two', { clientId: 'c1', sequence: 2 }),
    putEntry(4, 'y', 'two', { clientId: 'c1', sequence: 2 }),
  ]);
  assert.equal(again.results.get(2)?.revision, first.results.get(1)?.revision);
  assert.equal(again.results.get(4)?.revision, 3);
  const x = await store.get(Buffer.from('x'));
  assert.equal(x?.version, 1, 'the duplicate did not write');
  assert.equal(store.appliedIndex, 4);
});

test('a retried refused compare-and-swap gets the current value it was refused with, even after the key changed and the store reopened', async (t) => {
  const dir = tempDir(t);
  let store = await Store.open(dir);
  await store.apply([putEntry(1, 'k', 'v1')]);
  const first = await store.apply([putEntry(2, 'k', 'mine', { clientId: 'c1', sequence: 1, expectedModRevision: 0 })]);
  assert.equal(first.results.get(2)?.succeeded, false);
  await store.apply([putEntry(3, 'k', 'v3')]);
  await store.close();
  store = await Store.open(dir);
  t.after(() => store.close());
  const again = await store.apply([putEntry(4, 'k', 'mine', { clientId: 'c1', sequence: 1, expectedModRevision: 0 })]);
  const retried = again.results.get(4);
  assert.equal(retried?.revision, 2, 'answered from the session');
  assert.equal(retried?.succeeded, false);
  assert.equal(retried?.prevKv?.value.toString(), 'v1', 'the value the compare saw, not "absent"');
  assert.equal(retried?.prevKv?.modRevision, 1);
});

test('results below min_unacked_sequence are forgotten; a write that old is refused, not applied', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  await store.apply([1, 2, 3].map((s) => putEntry(s, `k${s}`, 'v', { clientId: 'c', sequence: s, minUnackedSequence: 1 })));
  // Retries of 1..3 still get their results while the client has not acknowledged them.
  const dup = await store.apply([putEntry(4, 'k2', 'v', { clientId: 'c', sequence: 2, minUnackedSequence: 1 })]);
  assert.equal(dup.results.get(4)?.revision, 2);
  // The client says every sequence below 4 has had its reply.
  await store.apply([putEntry(5, 'k4', 'v', { clientId: 'c', sequence: 4, minUnackedSequence: 4 })]);
  const late = await store.apply([putEntry(6, 'late', 'v', { clientId: 'c', sequence: 3, minUnackedSequence: 1 })]);
  assert.equal(late.results.get(6)?.refused, 'sequence-too-old');
  assert.equal(await store.get(Buffer.from('late')), undefined);
  // Out of order but not yet answered: applied.
  const ooo = await store.apply([putEntry(7, 'k6', 'v', { clientId: 'c', sequence: 6, minUnackedSequence: 4 }), putEntry(8, 'k5', 'v', { clientId: 'c', sequence: 5, minUnackedSequence: 4 })]);
  assert.equal(ooo.results.get(8)?.succeeded, true);
  assert.equal(ooo.results.get(8)?.refused, undefined);
});

test('a session keeps at most SESSION_RESULTS_KEPT results when the client never acknowledges', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  const n = SESSION_RESULTS_KEPT + 10;
  const entries = [];
  for (let s = 1; s <= n; s++) entries.push(putEntry(s, 'k', `v${s}`, { clientId: 'c', sequence: s }));
  await store.apply(entries);
  const out = await store.apply([putEntry(n + 1, 'k', 'old', { clientId: 'c', sequence: 5 }), putEntry(n + 2, 'k', 'dup', { clientId: 'c', sequence: n })]);
  assert.equal(out.results.get(n + 1)?.refused, 'sequence-too-old');
  assert.equal(out.results.get(n + 2)?.revision, n, 'a recent one is still answered from the session');
  assert.equal((await store.get(Buffer.from('k')))?.version, n);
});

test('entries at or below the applied index are skipped on replay', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  await store.apply([putEntry(1, 'a', '1'), putEntry(2, 'a', '2')]);
  await store.apply([putEntry(1, 'a', '1'), putEntry(2, 'a', '2'), putEntry(3, 'a', '3')]);
  assert.equal((await store.get(Buffer.from('a')))?.version, 3);
});

test('the log persists, overwrites a conflicting suffix, and reloads with the hard state', async (t) => {
  const dir = tempDir(t);
  let store = await Store.open(dir);
  await store.persist({ hardState: { term: 2, vote: 'n1', commit: 0 }, entries: [1, 2, 3, 4].map((i) => putEntry(i, `k${i}`, 'v')) });
  // A new leader's shorter suffix replaces entries 3..4.
  await store.persist({ entries: [{ ...putEntry(3, 'k3', 'new'), term: 3 }] });
  await store.close();
  store = await Store.open(dir);
  t.after(() => store.close());
  assert.deepEqual(await store.loadHardState(), { term: 2, vote: 'n1', commit: 0 });
  const log = await store.loadLog();
  assert.deepEqual(
    log.map((e) => [e.index, e.term]),
    [
      [1, 1],
      [2, 1],
      [3, 3],
    ],
  );
  assert.equal(store.lastIndex, 3);
  await store.persist({ hardState: { term: 4, vote: null, commit: 3 }, entries: [] });
  assert.deepEqual(await store.loadHardState(), { term: 4, vote: null, commit: 3 });
});

test('range scans return keys in byte order with paging', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  const names = ['b', 'a', 'ab', 'c', 'a\xff', 'b0'];
  await store.apply(names.map((n, i) => putEntry(i + 1, n, `v${n}`)));
  const all = await store.range({ start: Buffer.alloc(0), limit: 100 });
  assert.deepEqual(
    all.kvs.map((kv) => kv.key.toString('latin1')),
    [...names].map((n) => Buffer.from(n).toString('latin1')).sort(),
  );
  const page = await store.range({ start: Buffer.from('a'), end: Buffer.from('b'), limit: 2, keysOnly: true });
  assert.equal(page.kvs.length, 2);
  assert.equal(page.more, true);
  assert.equal(page.kvs[0]?.value.length, 0);
});

test('a read returns the applied index of the very state it read, even while an apply lands', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  for (let i = 1; i <= 200; i++) {
    // Start the read and the apply together: whichever state the read sees,
    // its applied index must describe it.
    const [res] = await Promise.all([store.read(Buffer.from('k')), store.apply([putEntry(i, 'k', `v${i}`)])]);
    if (res.kv) assert.equal(res.kv.modRevision, res.appliedIndex, 'the data is never newer than the index reported with it');
    else assert.equal(res.appliedIndex, i - 1);
    const page = await store.range({ start: Buffer.alloc(0), limit: 10 });
    assert.ok(page.kvs.every((kv) => kv.modRevision <= page.appliedIndex));
  }
});

test('applies agree whether key revisions come from the cache, a tiny cache or LevelDB', async (t) => {
  // One random history (puts, deletes, compare-and-swaps, prev_kv) applied in
  // random batches to three stores; every result and the final state must match.
  const stores = await Promise.all([undefined, 2, 0].map((revisionCacheKeys) => Store.open(tempDir(t), { revisionCacheKeys })));
  t.after(() => Promise.all(stores.map((s) => s.close())));
  const rng = Rng.fromState(7);
  const rand = (n: number) => rng.nextUint32() % n;
  const lastMod = new Map<string, number>();
  let index = 0;
  for (let round = 0; round < 60; round++) {
    const batch: LogEntry[] = [];
    for (let i = 0, n = 1 + rand(6); i < n; i++) {
      const key = `k${rand(5)}`;
      index++;
      const kind = rand(4);
      const expectedModRevision = rand(3) === 0 ? (rand(2) === 0 ? (lastMod.get(key) ?? 0) : rand(index + 1)) : undefined;
      if (kind === 0) batch.push(deleteEntry(index, key, { expectedModRevision }));
      else batch.push(putEntry(index, key, `v${index}`, { expectedModRevision, prevKv: rand(3) === 0 }));
      lastMod.set(key, index);
    }
    const outs = await Promise.all(stores.map((s) => s.apply(batch)));
    const view = (o: (typeof outs)[number]) =>
      [...o.results].map(([i, r]) => [i, r.revision, r.succeeded, r.deleted, r.prevKv?.value.toString(), r.prevKv?.modRevision, r.prevKv?.version]);
    assert.deepEqual(view(outs[1]!), view(outs[0]!), `round ${round}: a tiny cache changes nothing`);
    assert.deepEqual(view(outs[2]!), view(outs[0]!), `round ${round}: no cache changes nothing`);
  }
  for (let k = 0; k < 5; k++) {
    const states = await Promise.all(stores.map((s) => s.get(Buffer.from(`k${k}`))));
    const view = (kv: (typeof states)[number]) => kv && [kv.value.toString(), kv.createRevision, kv.modRevision, kv.version];
    assert.deepEqual(view(states[1]), view(states[0]));
    assert.deepEqual(view(states[2]), view(states[0]));
  }
});
