import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryLevel } from 'memory-level';
import { MemoryWalFiles, Store, type StoreDatabase } from '../src/index';
import { putEntry } from './helpers';

const memoryDb = (): StoreDatabase => new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' });

test('a store runs on an in-memory abstract-level database: log, hard state, applied state and a snapshot install survive a reopen', async () => {
  const db = memoryDb();
  const walFiles = new MemoryWalFiles();
  let store = await Store.open(db, { walFiles });
  await store.persist({ hardState: { term: 2, vote: 'n1', commit: 2 }, entries: [putEntry(1, 'a', '1'), putEntry(2, 'b', '2')] });
  await store.apply([putEntry(1, 'a', '1'), putEntry(2, 'b', '2')]);
  assert.equal(store.appliedIndex, 2);
  // The durability step before compaction works without LevelDB's compactRange.
  assert.equal(await store.makeAppliedDurable(), 2);
  const reader = store.snapshotReader();
  const chunks: Buffer[] = [];
  for await (const c of reader.chunks()) chunks.push(c);
  await store.close();

  store = await Store.open(db, { walFiles });
  assert.deepEqual(await store.loadHardState(), { term: 2, vote: 'n1', commit: 2 });
  assert.deepEqual((await store.loadLog()).map((e) => e.index), [1, 2]);
  assert.equal(store.appliedIndex, 2);
  assert.equal((await store.get(Buffer.from('b')))?.value.toString(), '2');
  await store.close();

  // The same state installed as a snapshot into a second in-memory store.
  const other = await Store.open(memoryDb());
  const installer = await other.beginSnapshotInstall();
  for (const c of chunks) await installer.write(c);
  assert.equal(await installer.finish(reader.appliedIndex, {}), true);
  assert.equal(other.appliedIndex, 2);
  assert.equal((await other.get(Buffer.from('a')))?.value.toString(), '1');
  await other.close();
});

test('a database without buffer encodings is refused before it is touched', async () => {
  const db = new MemoryLevel();
  await assert.rejects(Store.open(db as unknown as StoreDatabase), /buffer key and value encodings/);
});

test('reads during a snapshot swap see the old state or the new one, never the old keys under the new applied index', async () => {
  // A database whose synced writes land at once but report back only when told to: the window of an fsync.
  const db = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const raw = db as unknown as { _batch(ops: unknown[], o: { sync?: boolean }): Promise<void> };
  const batch = raw._batch.bind(db);
  let hold = false;
  let landed!: () => void;
  const landedP = new Promise<void>((resolve) => {
    landed = resolve;
  });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  raw._batch = async (ops, o) => {
    await batch(ops, o);
    if (hold && o.sync) {
      landed();
      await gate;
    }
  };
  const store = await Store.open(db);
  await store.apply([putEntry(1, 'old', '1'), putEntry(2, 'old', '2')]);

  const source = await Store.open(memoryDb());
  await source.apply([putEntry(1, 'new', 'x'), putEntry(2, 'new', 'y'), putEntry(3, 'new', 'z')]);
  const chunks: Buffer[] = [];
  for await (const c of source.snapshotReader().chunks()) chunks.push(c);
  await source.close();

  const installer = await store.beginSnapshotInstall();
  for (const c of chunks) await installer.write(c);
  hold = true;
  const finished = installer.finish(3, {});
  await landedP;
  const consistent = (appliedIndex: number, keys: string[]) =>
    (appliedIndex === 2 && keys.join() === 'old') || (appliedIndex === 3 && keys.join() === 'new');
  const r = await store.range({ start: Buffer.alloc(0), limit: 100 });
  assert.ok(consistent(r.appliedIndex, r.kvs.map((kv) => kv.key.toString())), `range: applied ${r.appliedIndex} with [${r.kvs.map((kv) => kv.key.toString())}]`);
  const got = await store.read(Buffer.from('new'));
  assert.ok(got.appliedIndex === 2 ? got.kv === undefined : got.kv?.value.toString() === 'z', `read: applied ${got.appliedIndex} with ${got.kv?.value}`);
  release();
  assert.equal(await finished, true);
  assert.equal((await store.get(Buffer.from('new')))?.value.toString(), 'z');
  await store.close();
});
