import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryLevel } from 'memory-level';
import { type LogEntry, Store, type StoreDatabase } from '../src/index';
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

/** A store whose state was written before it opened: nothing is kept in memory, so every read goes to the database. */
async function reopened(db: StoreDatabase, entries: LogEntry[]): Promise<Store> {
  const writer = await Store.open(db);
  await writer.apply(entries);
  await writer.close();
  return Store.open(db);
}

test('point reads asked in the same turn go to the database as one read, each with its own answer and the applied index', async () => {
  const { db, calls } = countingDb();
  const store = await reopened(db, [putEntry(1, 'a', 'A'), putEntry(2, 'b', 'B'), putEntry(3, 'c', 'C'), deleteEntry(4, 'c')]);
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
  await store.close();
});

test('keys this store applied recently are read from memory, with the same answer the database gives', async () => {
  const { db, calls } = countingDb();
  const store = await reopened(db, [putEntry(1, 'old', 'O')]);
  await store.apply([putEntry(2, 'a', 'A'), putEntry(3, 'a', 'A2'), putEntry(4, 'b', 'B'), deleteEntry(5, 'b')]);
  const before = calls();
  const a = await store.read(Buffer.from('a'));
  const b = await store.read(Buffer.from('b'));
  assert.equal(calls() - before, 0, 'written keys, deleted ones included, need no database read');
  assert.deepEqual(
    { value: a.kv?.value.toString(), mod: a.kv?.modRevision, create: a.kv?.createRevision, version: a.kv?.version, applied: a.appliedIndex },
    { value: 'A2', mod: 3, create: 2, version: 2, applied: 5 },
  );
  assert.deepEqual({ kv: b.kv, applied: b.appliedIndex }, { kv: undefined, applied: 5 });
  // A key written before this store opened is not in memory.
  assert.equal((await store.read(Buffer.from('old'))).kv?.value.toString(), 'O');
  assert.equal(calls() - before, 1);
  // What a reader does with its answer does not change the next one.
  a.kv!.modRevision = 99;
  assert.equal((await store.read(Buffer.from('a'))).kv?.modRevision, 3);
  // The same answers from the database, once memory is gone.
  await store.close();
  const fresh = await Store.open(db);
  const fromDb = await fresh.read(Buffer.from('a'));
  assert.deepEqual(
    { value: fromDb.kv?.value.toString(), mod: fromDb.kv?.modRevision, create: fromDb.kv?.createRevision, version: fromDb.kv?.version, applied: fromDb.appliedIndex },
    { value: 'A2', mod: 3, create: 2, version: 2, applied: 5 },
  );
  await fresh.close();
});

test('a read from memory never answers with a state older than one the database already answered with', async () => {
  // While a batch's write is in LevelDB but its apply has not returned, the
  // database holds the newer state and memory the older one.
  const { db } = countingDb();
  const store = await reopened(db, [putEntry(1, 'k', 'v1'), putEntry(2, 'other', 'x')]);
  await store.apply([putEntry(3, 'k', 'v3')]);
  const batch = db.batch.bind(db);
  let landed!: () => void;
  const batchLanded = new Promise<void>((r) => (landed = r));
  let letApplyReturn!: () => void;
  const applyMayReturn = new Promise<void>((r) => (letApplyReturn = r));
  (db as unknown as { batch: () => unknown }).batch = () => {
    const b = batch();
    const write = b.write.bind(b);
    b.write = async (options?: Parameters<typeof write>[0]) => {
      await write(options ?? {});
      landed();
      await applyMayReturn;
    };
    return b;
  };
  const applying = store.apply([putEntry(4, 'k', 'v4')]);
  await batchLanded;
  const memory = await store.read(Buffer.from('k'));
  assert.deepEqual({ value: memory.kv?.value.toString(), applied: memory.appliedIndex }, { value: 'v3', applied: 3 }, 'memory: the state the apply has not yet reported');
  const fromDb = await store.read(Buffer.from('other'));
  assert.equal(fromDb.appliedIndex, 4, 'the database already holds the batch');
  const after = await store.read(Buffer.from('k'));
  assert.deepEqual({ value: after.kv?.value.toString(), applied: after.appliedIndex }, { value: 'v4', applied: 4 });
  letApplyReturn();
  await applying;
  const settled = await store.read(Buffer.from('k'));
  assert.deepEqual({ value: settled.kv?.value.toString(), applied: settled.appliedIndex }, { value: 'v4', applied: 4 });
  await store.close();
});

test(`a burst of more than ${POINT_READS_PER_BATCH_MAX} reads is split into database reads of at most that many keys`, async () => {
  const { db, calls } = countingDb();
  const store = await reopened(db, [putEntry(1, 'k1', 'v1')]);
  const before = calls();
  const n = POINT_READS_PER_BATCH_MAX * 2 + 1;
  const reads = await Promise.all(Array.from({ length: n }, (_, i) => store.read(Buffer.from(`k${i % 3}`))));
  assert.equal(calls() - before, 3);
  assert.equal(reads.filter((r) => r.kv?.value.toString() === 'v1').length, Math.ceil(n / 3));
  await store.close();
});

test('a failed database read fails every read of its batch, and the next reads go on', async () => {
  const { db, failNext } = countingDb();
  const store = await reopened(db, [putEntry(1, 'a', 'A')]);
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
