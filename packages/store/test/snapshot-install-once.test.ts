// One snapshot install at a time: a second install supersedes the first, and
// nothing the first does afterwards (a write, a finish, a late abort after
// its stream broke) may touch the state being installed or the live state.
// And chunks stay within the bound the receiver accepts, whatever the record
// sizes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Store } from '../src/index';
import { putEntry, tempDir } from './helpers';

async function fill(store: Store, from: number, n: number, prefix: string, valueBytes = 0): Promise<void> {
  const entries = [];
  for (let i = 0; i < n; i++) entries.push(putEntry(from + i, `${prefix}${i}`, valueBytes ? 'x'.repeat(valueBytes) : `value-${prefix}${i}`));
  await store.apply(entries);
}

async function keys(store: Store): Promise<string[]> {
  const all = await store.range({ start: Buffer.alloc(0), limit: 10_000 });
  return all.kvs.map((kv) => kv.key.toString()).sort();
}

async function chunksOf(store: Store, maxChunkBytes?: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of store.snapshotReader(maxChunkBytes).chunks()) out.push(c);
  return out;
}

test('a second install supersedes the first: the first one\'s late abort touches neither the new install nor the live state', async (t) => {
  const a = await Store.open(tempDir(t));
  const b = await Store.open(tempDir(t));
  const follower = await Store.open(tempDir(t));
  t.after(async () => {
    await a.close();
    await b.close();
    await follower.close();
  });
  await fill(a, 1, 30, 'a');
  await fill(b, 1, 40, 'b');
  await fill(follower, 1, 10, 'live');
  const fromA = await chunksOf(a, 256);
  const fromB = await chunksOf(b, 256);

  const first = await follower.beginSnapshotInstall();
  await first.write(fromA[0]!);
  const second = await follower.beginSnapshotInstall();
  for (const c of fromB) await second.write(c);
  // The first one's stream breaks now: its cleanup must not clear what the second wrote.
  await first.abort();
  await assert.rejects(first.write(fromA[1]!), /superseded|aborted/);
  assert.deepEqual(await keys(follower), Array.from({ length: 10 }, (_, i) => `live${i}`).sort(), 'the live state is untouched until finish');
  assert.equal(await second.finish(40, {}), true);
  assert.deepEqual(await keys(follower), Array.from({ length: 40 }, (_, i) => `b${i}`).sort());
  // A late abort after the swap must not clear the (now live) generation either.
  await first.abort();
  await second.abort();
  assert.deepEqual(await keys(follower), Array.from({ length: 40 }, (_, i) => `b${i}`).sort());
  assert.equal(follower.appliedIndex, 40);
});

test('a superseded install can never finish', async (t) => {
  const source = await Store.open(tempDir(t));
  const follower = await Store.open(tempDir(t));
  t.after(async () => {
    await source.close();
    await follower.close();
  });
  await fill(source, 1, 20, 's');
  const chunks = await chunksOf(source);
  const first = await follower.beginSnapshotInstall();
  for (const c of chunks) await first.write(c);
  const second = await follower.beginSnapshotInstall();
  await assert.rejects(first.finish(20, {}), /superseded|aborted/);
  assert.equal(follower.appliedIndex, 0);
  for (const c of chunks) await second.write(c);
  assert.equal(await second.finish(20, {}), true);
  assert.equal((await keys(follower)).length, 20);
});

test('snapshot chunks stay within maxChunkBytes: a record is never added to a chunk it would overflow', async (t) => {
  const source = await Store.open(tempDir(t));
  t.after(() => source.close());
  const VALUE = 300 * 1024;
  await fill(source, 1, 12, 'big', VALUE);
  const limit = VALUE + 4096;
  const chunks = await chunksOf(source, limit);
  for (const c of chunks) assert.ok(c.length <= limit, `a chunk of ${c.length} bytes over the ${limit}-byte bound`);
  assert.equal(chunks.length, 12, 'one 300 KiB record per chunk under a bound of 304 KiB');
});

test('the log is compacted only below an applied index made durable; an installed snapshot is durable', async (t) => {
  const store = await Store.open(tempDir(t));
  const source = await Store.open(tempDir(t));
  t.after(async () => {
    await store.close();
    await source.close();
  });
  const entries = Array.from({ length: 10 }, (_, i) => putEntry(i + 1, `k${i}`, 'v'));
  await store.persist({ entries });
  await store.apply(entries); // written without fsync
  assert.equal(store.durableAppliedIndex, 0, 'an apply alone is not durable');
  await store.compactLog(6, Buffer.from('snap@6'));
  assert.ok(store.durableAppliedIndex >= 6, `compacted to 6 with the state durable only to ${store.durableAppliedIndex}`);
  assert.equal(await store.makeAppliedDurable(), 10);

  await fill(source, 1, 30, 's');
  const installer = await store.beginSnapshotInstall();
  for (const c of await chunksOf(source)) await installer.write(c);
  assert.equal(await installer.finish(30, {}), true);
  assert.equal(store.durableAppliedIndex, 30);
});
