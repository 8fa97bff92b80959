import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentRecords } from '../src/recent-records';
import { RevisionCache } from '../src/revision-cache';
import { encodeCommand, Store, storeIoCounts } from '../src/index';
import { deleteEntry, putEntry, tempDir } from './helpers';

test('recent records are bounded by count and by bytes, oldest written first out; too large a record is not kept', () => {
  const r = new RecentRecords<string>(3, 100, 50);
  r.set('a', 'A', 10);
  r.set('b', 'B', 10);
  r.set('c', 'C', 10);
  r.set('a', 'A2', 10);
  r.set('d', 'D', 10);
  assert.equal(r.get('b'), undefined, 'b was written longest ago');
  assert.equal(r.get('a'), 'A2');
  assert.equal(r.size, 3);
  r.set('e', 'E', 45);
  r.set('f', 'F', 45);
  assert.ok(r.bytes <= 100);
  assert.equal(r.get('f'), 'F');
  r.set('g', 'G', 51);
  assert.equal(r.get('g'), undefined);
  r.set('f', null, 1);
  assert.equal(r.get('f'), null, 'null: known absent');
  r.clear();
  assert.equal(r.size, 0);
  assert.equal(r.bytes, 0);
});

test('a full cache evicts its oldest sixteenth in one pass, and keeps what was written since', () => {
  const revisions = new RevisionCache(1600);
  const records = new RecentRecords<number>(1600, 1 << 20, 1024);
  const rev = (n: number) => ({ createRevision: n, modRevision: n, version: 1 });
  for (let i = 0; i < 1600; i++) {
    revisions.set(`k${i}`, rev(i));
    records.set(`k${i}`, i, 10);
  }
  // Rewritten: k0 becomes the youngest, so k1 is the oldest.
  revisions.set('k0', rev(1600));
  records.set('k0', 1600, 10);
  revisions.set('new', rev(1601));
  records.set('new', 1601, 10);
  assert.equal(revisions.size, 1500, 'the bound less a sixteenth');
  assert.equal(records.size, 1500);
  for (const cache of [revisions, records]) {
    assert.equal(cache.get('k1'), undefined, 'the oldest went');
    assert.equal(cache.get('k101'), undefined, 'and the 100 after it');
    assert.notEqual(cache.get('k102'), undefined, 'the next oldest stays');
    assert.notEqual(cache.get('k0'), undefined, 'a rewritten key is young');
    assert.notEqual(cache.get('new'), undefined);
  }
  // By bytes too: past the bound, down to 15/16 of it.
  const big = new RecentRecords<number>(1000, 16_000, 1000);
  for (let i = 0; i < 17; i++) big.set(`b${i}`, i, 1000);
  assert.equal(big.bytes, 15_000);
  assert.equal(big.get('b16'), 16);
  assert.equal(big.get('b1'), undefined);
});

test('an exactly-once put of a recently written key applies without reading LevelDB, and reports the right previous value', async (t) => {
  const store = await Store.open(tempDir(t), { trackChanges: true });
  t.after(() => store.close());
  await store.apply([putEntry(1, 'k', 'v1', { clientId: 'c1', sequence: 1 })]);
  const reads = storeIoCounts.applyReads;
  const out = await store.apply([putEntry(2, 'k', 'v2', { clientId: 'c1', sequence: 2, minUnackedSequence: 2, prevKv: true })]);
  assert.equal(storeIoCounts.applyReads, reads, 'neither the key nor the session was read back');
  assert.equal(out.results.get(2)?.prevKv?.value.toString(), 'v1');
  assert.equal(out.changes[0]?.prevKv?.value.toString(), 'v1', 'the watch sees the previous value');
  // A retry of sequence 2 is answered from the kept session, not applied again.
  const retry = await store.apply([putEntry(3, 'k', 'v3', { clientId: 'c1', sequence: 2, minUnackedSequence: 2 })]);
  assert.equal(retry.results.get(3)?.revision, 2);
  assert.equal((await store.get(Buffer.from('k')))?.value.toString(), 'v2');
  // A delete is kept as "absent": the next put creates the key anew.
  await store.apply([deleteEntry(4, 'k', { clientId: 'c1', sequence: 3, minUnackedSequence: 3 })]);
  const created = await store.apply([putEntry(5, 'k', 'v5', { clientId: 'c1', sequence: 4, minUnackedSequence: 4, prevKv: true })]);
  assert.equal(created.results.get(5)?.prevKv, undefined);
  const kv = await store.get(Buffer.from('k'));
  assert.equal(kv?.createRevision, 5);
  assert.equal(kv?.version, 1);
});

test('kept values are copies: changing the buffer a command was decoded from does not change what the next apply sees', async (t) => {
  const store = await Store.open(tempDir(t), { trackChanges: true });
  t.after(() => store.close());
  const entry = putEntry(1, 'k', 'aaaa');
  await store.apply([entry]);
  (entry.data as Uint8Array).fill(0x7a);
  const out = await store.apply([putEntry(2, 'k', 'b', { prevKv: true })]);
  assert.equal(out.results.get(2)?.prevKv?.value.toString(), 'aaaa');
});

test('a put batch answers its writer before the batch is written; the applied index moves only after', async (t) => {
  const store = await Store.open(tempDir(t), { trackChanges: true });
  t.after(() => store.close());
  let seen: { revision: number | undefined; appliedThen: number } | undefined;
  const out = await store.apply([putEntry(1, 'k', 'v', { clientId: 'c1', sequence: 1 })], {}, false, (results) => {
    seen = { revision: results.get(1)?.revision, appliedThen: store.appliedIndex };
  });
  assert.deepEqual(seen, { revision: 1, appliedThen: 0 });
  assert.equal(out.appliedIndex, 1);
  assert.equal(store.appliedIndex, 1);
});

test('a batch that grants a lease does not answer early: its member must know the lease before the writer hears of it', async (t) => {
  const store = await Store.open(tempDir(t), { trackChanges: true });
  t.after(() => store.close());
  let early = false;
  const grant = { index: 1, term: 1, type: 'normal' as const, data: encodeCommand({ op: 'lease-grant', id: 7, ttlMs: 10_000, clientId: '', sequence: 0, minUnackedSequence: 0 }) };
  const out = await store.apply([grant], {}, false, () => {
    early = true;
  });
  assert.equal(early, false);
  assert.ok(out.results.get(1)?.succeeded);
  assert.equal(out.leases[0]?.type, 'grant');
});
