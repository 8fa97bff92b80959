import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Level } from 'level';
import { type LogEntry, NodeWalFiles, Store, type WalFile, type WalFiles, Writer } from '../src/index';
import { logKey, metaKey } from '../src/keys';
import { WalLog } from '../src/wal/wal-log';
import { tempDir } from './helpers';

const entry = (index: number, term: number, fill = index, bytes = 100): LogEntry => ({ index, term, type: 'normal', data: Buffer.alloc(bytes, fill) });
const coverAll = async (): Promise<void> => undefined;
const segmentsIn = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();
const terms = (entries: LogEntry[]): Array<[number, number]> => entries.map((e) => [e.index, e.term]);

async function openLog(t: { after(fn: () => void): void }, dir: string, segmentBytes?: number): Promise<WalLog> {
  const log = await WalLog.open(new NodeWalFiles(dir), coverAll, segmentBytes);
  t.after(() => log.close());
  return log;
}

test('a conflicting suffix is replaced by appending: a reopen reads the log as it was left', async (t) => {
  const dir = tempDir(t);
  let log = await openLog(t, dir);
  await log.persist({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [1, 2, 3, 4, 5].map((i) => entry(i, 1)) });
  await log.persist({ hardState: { term: 2, vote: 'n2', commit: 2 }, entries: [entry(3, 2, 33), entry(4, 2, 44)] });
  assert.equal(log.lastIndex, 4);
  await log.close();

  log = await openLog(t, dir);
  assert.equal(log.lastIndex, 4);
  assert.deepEqual(await log.loadHardState(), { term: 2, vote: 'n2', commit: 2 });
  const back = await log.loadLog();
  assert.deepEqual(terms(back), [[1, 1], [2, 1], [3, 2], [4, 2]]);
  assert.equal(back[2]!.data[0], 33);
  // Appends go on after a reopen.
  await log.persist({ entries: [entry(5, 2)] });
  assert.deepEqual(terms(await log.readLog(4, 5)), [[4, 2], [5, 2]]);
});

test('appends written on the calling thread (inline) and through the thread pool make one log, byte for byte the same', async (t) => {
  const inlineDir = tempDir(t);
  const pooledDir = tempDir(t);
  const inline = await openLog(t, inlineDir);
  const pooled = await openLog(t, pooledDir);
  // Small appends go inline; the 100 KiB one is over the inline bound and takes the pool either way.
  const batches = [[entry(1, 1)], [entry(2, 1), entry(3, 1)], [entry(4, 1, 4, 100 * 1024)], [entry(5, 2)]];
  for (const entries of batches) {
    const hardState = { term: entries[0]!.term, vote: 'n1', commit: entries[0]!.index - 1 };
    await Promise.all([inline.persist({ hardState, entries }, true, true), pooled.persist({ hardState, entries }, true, false)]);
  }
  assert.deepEqual(segmentsIn(inlineDir), segmentsIn(pooledDir));
  for (const name of segmentsIn(inlineDir)) assert.deepEqual(readFileSync(join(inlineDir, name)), readFileSync(join(pooledDir, name)));
  await inline.close();
  const reopened = await openLog(t, inlineDir);
  assert.deepEqual(terms(await reopened.loadLog()), [[1, 1], [2, 1], [3, 1], [4, 1], [5, 2]]);
  assert.equal((await reopened.readLog(4, 4))[0]!.data.length, 100 * 1024);
});

test('a torn tail (a crash mid-append) ends the log at the last whole record, and appends go on after it', async (t) => {
  const dir = tempDir(t);
  let log = await openLog(t, dir);
  await log.persist({ hardState: { term: 1, vote: null, commit: 1 }, entries: [entry(1, 1), entry(2, 1)] });
  await log.persist({ hardState: { term: 1, vote: null, commit: 3 }, entries: [entry(3, 1, 3, 50_000)] });
  await log.close();
  const [name] = segmentsIn(dir);
  const path = join(dir, name!);
  const size = statSync(path).size;
  // The last record loses its end: what a power cut during the write leaves.
  writeFileSync(path, readFileSync(path).subarray(0, size - 20_000));
  appendFileSync(path, Buffer.alloc(7, 0xee));

  log = await openLog(t, dir);
  assert.equal(log.lastIndex, 2);
  // The hard state of the torn append survived, but not its entry: its commit is held to the log's end.
  assert.deepEqual(await log.loadHardState(), { term: 1, vote: null, commit: 2 });
  assert.ok(statSync(path).size < size - 20_000, 'the torn bytes were cut off');
  await log.persist({ entries: [entry(3, 1, 9)] });
  await log.close();
  log = await openLog(t, dir);
  assert.deepEqual(terms(await log.loadLog()), [[1, 1], [2, 1], [3, 1]]);
  assert.equal((await log.readLog(3, 3))[0]!.data[0], 9);
});

test('segments roll over; compaction deletes the ones it passed, and the compaction point and hard state outlive them', async (t) => {
  const dir = tempDir(t);
  let log = await openLog(t, dir, 4096);
  for (let i = 1; i <= 40; i++) await log.persist({ hardState: { term: 1, vote: 'n1', commit: i - 1 }, entries: [entry(i, 1, i, 1000)] });
  const before = segmentsIn(dir);
  assert.ok(before.length >= 8, `${before.length} segments`);
  await log.compactLog(30, Buffer.from('snap@30'));
  const after = segmentsIn(dir);
  assert.ok(after.length < before.length - 4, `${before.length} -> ${after.length} segments`);
  assert.deepEqual(terms(await log.readLog(1, 32)), [[31, 1], [32, 1]]);
  await log.close();

  log = await openLog(t, dir, 4096);
  assert.equal(log.lastIndex, 40);
  assert.deepEqual((await log.loadLog()).map((e) => e.index), [31, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
  assert.deepEqual(await log.loadSnapshotMeta(), Buffer.from('snap@30'));
  assert.deepEqual(await log.loadHardState(), { term: 1, vote: 'n1', commit: 39 });
});

test('a reset (snapshot installed) drops the whole log; the log resumes after the snapshot index', async (t) => {
  const dir = tempDir(t);
  let log = await openLog(t, dir, 4096);
  for (let i = 1; i <= 10; i++) await log.persist({ entries: [entry(i, 1, i, 1000)] });
  await log.resetLog(Buffer.from('snap@100'), 100);
  assert.equal(log.lastIndex, 100);
  assert.deepEqual(await log.loadLog(), []);
  assert.equal(segmentsIn(dir).length, 1, 'only the segment being appended to is left');
  await assert.rejects(log.persist({ entries: [entry(5, 2)] }), /do not continue the log/);
  await log.persist({ hardState: { term: 3, vote: null, commit: 100 }, entries: [entry(101, 3)] });
  await log.close();

  log = await openLog(t, dir, 4096);
  assert.equal(log.lastIndex, 101);
  assert.deepEqual(terms(await log.loadLog()), [[101, 3]]);
  assert.deepEqual(await log.loadSnapshotMeta(), Buffer.from('snap@100'));
  // A compaction point behind the installed snapshot changes nothing.
  await log.compactLog(50, Buffer.from('snap@50'));
  assert.deepEqual(await log.loadSnapshotMeta(), Buffer.from('snap@100'));
  assert.equal(log.lastIndex, 101);
});

test('a damaged segment that is not the newest is refused with the name and byte of the damage', async (t) => {
  const dir = tempDir(t);
  const log = await openLog(t, dir, 4096);
  for (let i = 1; i <= 12; i++) await log.persist({ entries: [entry(i, 1, i, 1000)] });
  await log.close();
  const [oldest] = segmentsIn(dir);
  const path = join(dir, oldest!);
  const bytes = readFileSync(path);
  bytes[bytes.length - 10]! ^= 0xff;
  writeFileSync(path, bytes);
  await assert.rejects(WalLog.open(new NodeWalFiles(dir), coverAll, 4096), new RegExp(`segment ${oldest} is damaged at byte \\d+ of ${bytes.length}, and it is not the newest`));
});

test('entries read back for a follower come from the segment files; entries compacted meanwhile are simply not returned', async (t) => {
  const dir = tempDir(t);
  const log = await openLog(t, dir, 4096);
  for (let i = 1; i <= 20; i++) await log.persist({ entries: [entry(i, 1, i, 1000)] });
  const all = await log.readLog(1, 20);
  assert.deepEqual(all.map((e) => [e.index, e.data[0], e.data.length]), Array.from({ length: 20 }, (_, i) => [i + 1, i + 1, 1000]));
  // A read that started before a compaction deleted its segment ends where the files end.
  const racing = log.readLog(1, 20);
  await log.compactLog(15, Buffer.from('snap@15'));
  assert.ok((await racing).length <= 20);
  assert.deepEqual((await log.readLog(1, 20)).map((e) => e.index), [16, 17, 18, 19, 20]);
});

test('a failed append stops the log: nothing more is taken until the member restarts', async (t) => {
  const dir = tempDir(t);
  const real = new NodeWalFiles(dir);
  let failNext = false;
  const files: WalFiles = {
    list: () => real.list(),
    read: (n) => real.read(n),
    readAt: (n, p, l) => real.readAt(n, p, l),
    truncate: (n, s) => real.truncate(n, s),
    remove: (n) => real.remove(n),
    async create(n): Promise<WalFile> {
      const file = await real.create(n);
      return {
        append: async (chunks, sync) => {
          if (failNext) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          await file.append(chunks, sync);
        },
        close: () => file.close(),
      };
    },
  };
  const log = await WalLog.open(files, coverAll);
  t.after(() => log.close());
  await log.persist({ entries: [entry(1, 1)] });
  failNext = true;
  await assert.rejects(log.persist({ entries: [entry(2, 1)] }), /ENOSPC/);
  failNext = false;
  await assert.rejects(log.persist({ entries: [entry(2, 1)] }), /an earlier append failed \(ENOSPC/);
  assert.equal(log.lastIndex, 1);
});

test('a data directory from before the log left LevelDB is moved into segments at open, and LevelDB lets go of it', async (t) => {
  const dir = tempDir(t);
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  // The former layout: entries under 'l' + index (term, type, length-prefixed data), the hard state under 'h', the compaction point's meta.
  const legacyEntry = (term: number, data: string): Buffer => new Writer().uint(term).u8(0).bytes(Buffer.from(data)).finish();
  const batch = db.batch();
  batch.put(logKey(8), legacyEntry(2, 'eight'));
  batch.put(logKey(9), legacyEntry(3, 'nine'));
  batch.put(Buffer.from([0x68]), new Writer().uint(3).optional('n2', (w, v) => w.string(v)).uint(8).finish());
  batch.put(metaKey('snapshot'), new Writer().uint(7).uint(2).finish());
  await batch.write();
  await db.close();

  let store = await Store.open(dir);
  assert.equal(store.lastIndex, 9);
  assert.deepEqual(await store.loadHardState(), { term: 3, vote: 'n2', commit: 8 });
  assert.deepEqual(await store.loadSnapshotMeta(), new Writer().uint(7).uint(2).finish());
  assert.deepEqual((await store.loadLog()).map((e) => [e.index, e.term, Buffer.from(e.data).toString()]), [[8, 2, 'eight'], [9, 3, 'nine']]);
  await store.close();

  const raw = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await raw.open();
  assert.deepEqual(await raw.getMany([logKey(8), logKey(9), Buffer.from([0x68]), metaKey('snapshot')]), [undefined, undefined, undefined, undefined]);
  await raw.close();
  // And it stays moved: a second open reads the segments alone.
  store = await Store.open(dir);
  t.after(() => store.close());
  assert.deepEqual(terms(await store.loadLog()), [[8, 2], [9, 3]]);
  assert.equal(segmentsIn(join(dir, 'wal')).length, 1);
});
