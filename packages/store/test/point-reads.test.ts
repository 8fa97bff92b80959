import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryLevel } from 'memory-level';
import { Store, type StoreDatabase } from '../src/index';
import { POINT_READS_PER_BATCH_MAX } from '../src/point-reads';
import { deleteEntry, putEntry } from './helpers';

/** An in-memory database that counts its getMany calls. */
function countingDb(): { db: StoreDatabase; calls: () => number; failNext: () => void } {
  const db = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' }) as unknown as StoreDatabase;
  let calls = 0;
  let fail = false;
  const getMany = db.getMany.bind(db) as (keys: Buffer[]) => Promise<(Buffer | undefined)[]>;
  (db as unknown as { getMany: (keys: Buffer[]) => Promise<(Buffer | undefined)[]> }).getMany = (keys) => {
    calls++;
    if (fail) {
      fail = false;
      return Promise.reject(new Error('disk on fire'));
    }
    return getMany(keys);
  };
  return { db, calls: () => calls, failNext: () => (fail = true) };
}

test('point reads asked in the same turn go to the database as one read, each with its own answer and the applied index', async () => {
  const { db, calls } = countingDb();
  const store = await Store.open(db);
  await store.apply([putEntry(1, 'a', 'A'), putEntry(2, 'b', 'B'), putEntry(3, 'c', 'C'), deleteEntry(4, 'c')]);
  const before = calls();
  const reads = await Promise.all(['a', 'b', 'c', 'nope', 'a'].map((k) => store.read(Buffer.from(k))));
  assert.equal(calls() - before, 1, 'one getMany for the five reads');
  assert.deepEqual(
    reads.map((r) => r.kv?.value.toString()),
    ['A', 'B', undefined, undefined, 'A'],
  );
  assert.deepEqual(reads.map((r) => r.appliedIndex), [4, 4, 4, 4, 4]);
  assert.deepEqual(
    { key: reads[1]!.kv?.key.toString(), mod: reads[1]!.kv?.modRevision, create: reads[1]!.kv?.createRevision, version: reads[1]!.kv?.version },
    { key: 'b', mod: 2, create: 2, version: 1 },
  );
  // Reads in later turns are read again: nothing is cached.
  await store.apply([putEntry(5, 'a', 'A2')]);
  const again = await store.read(Buffer.from('a'));
  assert.equal(again.kv?.value.toString(), 'A2');
  assert.equal(again.appliedIndex, 5);
  await store.close();
});

test(`a burst of more than ${POINT_READS_PER_BATCH_MAX} reads is split into database reads of at most that many keys`, async () => {
  const { db, calls } = countingDb();
  const store = await Store.open(db);
  await store.apply([putEntry(1, 'k1', 'v1')]);
  const before = calls();
  const n = POINT_READS_PER_BATCH_MAX * 2 + 1;
  const reads = await Promise.all(Array.from({ length: n }, (_, i) => store.read(Buffer.from(`k${i % 3}`))));
  assert.equal(calls() - before, 3);
  assert.equal(reads.filter((r) => r.kv?.value.toString() === 'v1').length, Math.ceil(n / 3));
  await store.close();
});

test('a failed database read fails every read of its batch, and the next reads go on', async () => {
  const { db, failNext } = countingDb();
  const store = await Store.open(db);
  await store.apply([putEntry(1, 'a', 'A')]);
  failNext();
  const failed = await Promise.allSettled([store.read(Buffer.from('a')), store.read(Buffer.from('b'))]);
  assert.deepEqual(
    failed.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.match(String((failed[0] as PromiseRejectedResult).reason), /disk on fire/);
  assert.equal((await store.read(Buffer.from('a'))).kv?.value.toString(), 'A');
  await store.close();
});
