import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { releaseChanges, Store, type StoreOpenOptions } from '../src/index';
import { deleteEntry, putEntry, tempDir } from './helpers';

/** Small blob files and threshold, so a few hundred kilobytes exercise rolling and collection. */
const SMALL: StoreOpenOptions = { blobMinBytes: 1024, blobFileBytes: 64 * 1024, trackChanges: true };

const value = (key: string, n: number) => `${key}:${n}:`.padEnd(2000 + (n % 7) * 100, String.fromCharCode(97 + (n % 26)));
const blobFiles = (dir: string) => (existsSync(join(dir, 'blobs')) ? readdirSync(join(dir, 'blobs')).filter((n) => n.endsWith('.blob')) : []);

/** Seeded, so a failure repeats. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s / 2_147_483_648;
  };
}

async function checkAll(store: Store, latest: Map<string, number | null>): Promise<void> {
  for (const [key, n] of latest) {
    const kv = await store.get(Buffer.from(key));
    if (n === null) assert.equal(kv, undefined, `${key} was deleted`);
    else assert.equal(kv?.value.toString(), value(key, n), `${key} holds its latest value`);
  }
  const all = await store.range({ start: Buffer.alloc(0), limit: 10_000 });
  assert.deepEqual(
    all.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]),
    [...latest].filter(([, n]) => n !== null).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => [k, value(k, n!)]),
    'a range returns every value',
  );
}

test('large values go to blob files and read back through get, range, watches and a reopen', async (t) => {
  const dir = tempDir(t);
  let store = await Store.open(dir, SMALL);
  t.after(() => store.close());
  const big = value('big', 1);
  const out = await store.apply([putEntry(1, 'big', big), putEntry(2, 'small', 'tiny')]);
  assert.equal(out.changes.length, 2);
  assert.equal(blobFiles(dir).length, 1, 'one blob file holds the large value');
  assert.equal(store.stateMachine.blobs.usage.live, 12 + 3 + big.length, 'its frame is live');
  assert.equal((await store.get(Buffer.from('big')))?.value.toString(), big);
  assert.equal((await store.get(Buffer.from('small')))?.value.toString(), 'tiny');
  // Overwritten: the previous value comes back from the blob file, for prev_kv and watches.
  const next = await store.apply([putEntry(3, 'big', value('big', 2), { prevKv: true })]);
  assert.equal(next.results.get(3)?.prevKv?.value.toString(), big);
  assert.equal(next.changes[0]?.prevKv?.value.toString(), big);
  const keysOnly = await store.range({ start: Buffer.alloc(0), limit: 10, keysOnly: true });
  assert.deepEqual(keysOnly.kvs.map((kv) => [kv.key.toString(), kv.value.length]), [['big', 0], ['small', 0]]);
  await store.close();
  store = await Store.open(dir, SMALL);
  assert.equal((await store.get(Buffer.from('big')))?.value.toString(), value('big', 2), 'the value outlives a reopen');
  assert.equal(store.stateMachine.blobs.usage.live, 12 + 3 + value('big', 2).length, 'and so do the accounts');
  const deleted = await store.apply([deleteEntry(4, 'big')]);
  assert.equal(deleted.changes[0]?.prevKv?.value.toString(), value('big', 2), 'a delete reports the value it removed');
  assert.equal(store.stateMachine.blobs.usage.live, 0);
});

test('a previous value no command asks for stays in its blob file, through collection, until it is read or released', async (t) => {
  const dir = tempDir(t);
  const store = await Store.open(dir, SMALL);
  t.after(() => store.close());
  await store.apply([putEntry(1, 'k', value('k', 1))]);
  const [first] = blobFiles(dir);
  const out = await store.apply([putEntry(2, 'k', value('k', 2))]);
  const change = out.changes[0]!;
  const deferred = change.prevValue!;
  assert.equal(change.prevKv?.modRevision, 1);
  assert.equal(change.prevKv?.value.length, 0, 'the value was not read at apply');
  assert.equal(deferred.length, value('k', 1).length);
  assert.equal(deferred.loaded, undefined);
  // Enough overwrites (their changes let go at once) that the first file is collected.
  for (let i = 3; i <= 200; i++) releaseChanges((await store.apply([putEntry(i, 'k', value('k', i))])).changes);
  assert.equal(store.stateMachine.blobs.usage.live, 12 + 1 + value('k', 200).length, 'only the latest value is live');
  assert.ok(blobFiles(dir).includes(first!), 'the file holding the unread value stays');
  assert.equal((await deferred.load()).toString(), value('k', 1));
  assert.equal(String(deferred.loaded), value('k', 1), 'kept once read');
  deferred.release();
  assert.equal(deferred.loaded, undefined);
  await store.apply([putEntry(201, 'other', 'small')]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(!blobFiles(dir).includes(first!), 'released, the file goes');
  assert.equal(blobFiles(dir).length <= 3, true, `few files left: ${blobFiles(dir).join(', ')}`);
  await assert.rejects(() => deferred.load(), /released/);
});

test('under random overwrites and deletes, files are collected: every value stays readable and the files stay within four times the live bytes', async (t) => {
  const dir = tempDir(t);
  let store = await Store.open(dir, SMALL);
  t.after(() => store.close());
  const random = rng(7);
  const latest = new Map<string, number | null>();
  let index = 0;
  let maxFiles = 0;
  for (let round = 0; round < 150; round++) {
    const entries = [];
    for (let i = 0; i < 4; i++) {
      // Now and then a key written once and never again: nearly every file keeps a live value, so only collection frees space.
      const cold = random() < 0.05;
      const key = cold ? `cold${index}` : `k${Math.floor(random() * 40)}`;
      index++;
      if (!cold && random() < 0.1) {
        entries.push(deleteEntry(index, key));
        latest.set(key, null);
      } else {
        entries.push(putEntry(index, key, value(key, index)));
        latest.set(key, index);
      }
    }
    releaseChanges((await store.apply(entries)).changes);
    maxFiles = Math.max(maxFiles, blobFiles(dir).length);
    if (round === 75) {
      // A reopen midway: the accounts and files carry on from disk.
      await store.close();
      store = await Store.open(dir, SMALL);
    }
  }
  await checkAll(store, latest);
  const { bytes, live } = store.stateMachine.blobs.usage;
  let expected = 0;
  for (const [key, n] of latest) if (n !== null) expected += 12 + key.length + value(key, n).length;
  assert.equal(live, expected, 'live bytes are exactly the frames of the current values');
  // Every full file is more than a quarter live (or it would have been collected); the active one may be anything.
  assert.ok(bytes <= 4 * live + 64 * 1024 + 4096, `${bytes} bytes in files for ${live} live`);
  assert.ok(maxFiles < 10, `at most ${maxFiles} files at once`);
  await store.close();
  store = await Store.open(dir, SMALL);
  await checkAll(store, latest);
});

test('a snapshot carries blob values inline; the receiver puts them in blob files of its own, serves them, and keeps writing', async (t) => {
  const leaderDir = tempDir(t);
  const leader = await Store.open(leaderDir, SMALL);
  const followerDir = tempDir(t);
  const follower = await Store.open(followerDir, SMALL);
  t.after(async () => {
    await leader.close();
    await follower.close();
  });
  const latest = new Map<string, number | null>();
  for (let i = 1; i <= 60; i++) {
    releaseChanges((await leader.apply([putEntry(i, `k${i % 20}`, value(`k${i % 20}`, i))])).changes);
    latest.set(`k${i % 20}`, i);
  }
  await follower.apply([putEntry(1, 'k1', value('k1', 999))]);
  const reader = leader.snapshotReader(8192);
  // Collection on the leader meanwhile must not take files from under the reader.
  for (let i = 61; i <= 120; i++) releaseChanges((await leader.apply([putEntry(i, `k${i % 20}`, value(`k${i % 20}`, i))])).changes);
  const installer = await follower.beginSnapshotInstall();
  for await (const chunk of reader.chunks()) await installer.write(chunk);
  assert.equal(await installer.finish(reader.appliedIndex, {}), true);
  await checkAll(follower, latest);
  const liveOf = (m: Map<string, number | null>) => [...m].reduce((sum, [k, n]) => sum + (n === null ? 0 : 12 + k.length + value(k, n).length), 0);
  assert.equal(follower.stateMachine.blobs.usage.live, liveOf(latest), 'installed values went to blob files of the follower');
  const after = await follower.apply([putEntry(61, 'k1', value('k1', 61), { prevKv: true })]);
  assert.equal(after.results.get(61)?.prevKv?.value.toString(), value('k1', latest.get('k1')!));
  latest.set('k1', 61);
  await checkAll(follower, latest);
  assert.equal(follower.stateMachine.blobs.usage.live, liveOf(latest), 'and their space is released when they are replaced');
  await follower.close();
  const reopened = await Store.open(followerDir, SMALL);
  t.after(() => reopened.close());
  await checkAll(reopened, latest);
});

test('a file whose last value went is deleted only once no read that began before could still need it; stray files go at open', async (t) => {
  const dir = tempDir(t);
  let store = await Store.open(dir, { ...SMALL, blobFileBytes: 1024 });
  t.after(() => store.close());
  await store.apply([putEntry(1, 'a', value('a', 1))]);
  await store.apply([putEntry(2, 'b', value('b', 2))]);
  await store.apply([putEntry(3, 'c', value('c', 3))]);
  const before = blobFiles(dir);
  assert.equal(before.length, 3, 'each value filled a file');
  const unpin = store.stateMachine.blobs.pin();
  await store.apply([deleteEntry(4, 'a')]);
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(blobFiles(dir).includes(before[0]!), 'kept while a read is pinned');
  unpin();
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(!blobFiles(dir).includes(before[0]!), 'deleted after');
  await store.close();
  writeFileSync(join(dir, 'blobs', 'g0-0000009999.blob'), 'left by a crash');
  writeFileSync(join(dir, 'blobs', 'g1-0000000001.blob'), 'an install that never finished');
  store = await Store.open(dir, SMALL);
  assert.deepEqual(blobFiles(dir), before.slice(1), 'files no record names are removed at open');
  assert.equal((await store.get(Buffer.from('b')))?.value.toString(), value('b', 2));
});

test('a damaged blob is reported, not returned', async (t) => {
  const dir = tempDir(t);
  const store = await Store.open(dir, SMALL);
  t.after(() => store.close());
  await store.apply([putEntry(1, 'k', value('k', 1))]);
  const [file] = blobFiles(dir);
  const path = join(dir, 'blobs', file!);
  const bytes = readFileSync(path);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
  writeFileSync(path, bytes);
  await assert.rejects(store.get(Buffer.from('k')), /blob file .* is damaged/);
});
