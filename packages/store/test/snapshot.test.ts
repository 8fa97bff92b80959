import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Store } from '../src/index';
import { putEntry, tempDir } from './helpers';

async function fill(store: Store, from: number, n: number, prefix: string): Promise<void> {
  const entries = [];
  for (let i = 0; i < n; i++) entries.push(putEntry(from + i, `${prefix}${i}`, `value-${prefix}${i}`, { clientId: `c-${prefix}`, sequence: i + 1 }));
  await store.apply(entries);
}

test('a snapshot read from one store installs into another: same keys, sessions and applied index', async (t) => {
  const leader = await Store.open(tempDir(t));
  const follower = await Store.open(tempDir(t));
  t.after(async () => {
    await leader.close();
    await follower.close();
  });
  await fill(leader, 1, 500, 'k');
  await fill(follower, 1, 10, 'old');
  const reader = leader.snapshotReader(4096);
  // Writes after the reader was opened are not part of it.
  await leader.apply([putEntry(501, 'late', 'x')]);
  const installer = await follower.beginSnapshotInstall();
  let chunks = 0;
  for await (const chunk of reader.chunks()) {
    await installer.write(chunk);
    chunks++;
  }
  assert.ok(chunks > 1, 'the state went in several chunks');
  // Until finish, the follower still serves its own state.
  assert.equal((await follower.get(Buffer.from('old0')))?.value.toString(), 'value-old0');
  assert.equal(await installer.finish(reader.appliedIndex, { members: Buffer.from('m') }), true);
  assert.equal(follower.appliedIndex, 500);
  assert.equal(await follower.get(Buffer.from('old0')), undefined, 'the old state is gone');
  assert.equal(await follower.get(Buffer.from('late')), undefined, 'the snapshot is the state when it was opened');
  const all = await follower.range({ start: Buffer.alloc(0), limit: 1000 });
  assert.equal(all.kvs.length, 500);
  assert.equal((await follower.get(Buffer.from('k42')))?.value.toString(), 'value-k42');
  assert.deepEqual(await follower.getMeta('members'), Buffer.from('m'));
  // Sessions came along: a retried write is answered, not applied again.
  const dup = await follower.apply([putEntry(501, 'k7', 'again', { clientId: 'c-k', sequence: 8 })]);
  assert.equal(dup.results.get(501)?.revision, 8);
  assert.equal((await follower.get(Buffer.from('k7')))?.version, 1);
});

test('an install that never finishes leaves the old state whole after a restart', async (t) => {
  const dir = tempDir(t);
  const source = await Store.open(tempDir(t));
  t.after(() => source.close());
  await fill(source, 1, 100, 'new');
  let store = await Store.open(dir);
  await fill(store, 1, 20, 'mine');
  const installer = await store.beginSnapshotInstall();
  for await (const chunk of source.snapshotReader(1024).chunks()) {
    await installer.write(chunk);
    break; // "crash" after the first chunk
  }
  await store.close();
  store = await Store.open(dir);
  t.after(() => store.close());
  assert.equal(store.appliedIndex, 20);
  const all = await store.range({ start: Buffer.alloc(0), limit: 1000 });
  assert.deepEqual(
    all.kvs.map((kv) => kv.key.toString()).sort(),
    Array.from({ length: 20 }, (_, i) => `mine${i}`).sort(),
  );
});

test('a snapshot older than the local state is not installed', async (t) => {
  const source = await Store.open(tempDir(t));
  const store = await Store.open(tempDir(t));
  t.after(async () => {
    await source.close();
    await store.close();
  });
  await fill(source, 1, 5, 'a');
  await fill(store, 1, 50, 'b');
  const reader = source.snapshotReader();
  const installer = await store.beginSnapshotInstall();
  for await (const chunk of reader.chunks()) await installer.write(chunk);
  assert.equal(await installer.finish(reader.appliedIndex, {}), false);
  assert.equal(store.appliedIndex, 50);
  assert.equal((await store.get(Buffer.from('b3')))?.value.toString(), 'value-b3');
});

test('compaction drops applied log entries and records the compaction point', async (t) => {
  const dir = tempDir(t);
  let store = await Store.open(dir);
  const entries = Array.from({ length: 10 }, (_, i) => putEntry(i + 1, `k${i}`, 'v'));
  await store.persist({ entries });
  await store.apply(entries);
  await store.compactLog(6, Buffer.from('snap@6'));
  await store.close();
  store = await Store.open(dir);
  t.after(() => store.close());
  assert.deepEqual(
    (await store.loadLog()).map((e) => e.index),
    [7, 8, 9, 10],
  );
  assert.deepEqual(await store.loadSnapshotMeta(), Buffer.from('snap@6'));
  await assert.rejects(store.compactLog(11, Buffer.from('x')), /past applied/);
  await store.resetLog(Buffer.from('snap@20'), 20);
  assert.deepEqual(await store.loadLog(), []);
  assert.equal(store.lastIndex, 20);
});
