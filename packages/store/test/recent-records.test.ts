import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentRecords } from '../src/recent-records';
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
