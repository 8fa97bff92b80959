import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryLevel } from 'memory-level';
import { Store, type StoreDatabase } from '../src/index';
import { putEntry } from './helpers';

const memoryDb = (): StoreDatabase => new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' });

test('a store runs on an in-memory abstract-level database: log, hard state, applied state and a snapshot install survive a reopen', async () => {
  const db = memoryDb();
  let store = await Store.open(db);
  await store.persist({ hardState: { term: 2, vote: 'n1', commit: 2 }, entries: [putEntry(1, 'a', '1'), putEntry(2, 'b', '2')] });
  await store.apply([putEntry(1, 'a', '1'), putEntry(2, 'b', '2')]);
  assert.equal(store.appliedIndex, 2);
  // The durability step before compaction works without LevelDB's compactRange.
  assert.equal(await store.makeAppliedDurable(), 2);
  const reader = store.snapshotReader();
  const chunks: Buffer[] = [];
  for await (const c of reader.chunks()) chunks.push(c);
  await store.close();

  store = await Store.open(db);
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
