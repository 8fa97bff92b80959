import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCommand, Store } from '../src/index';
import { entryRecord } from '../src/wal/wal-records';
import { putEntry, tempDir } from './helpers';

const MIB = 1024 * 1024;

test('a 1 MiB command is encoded into one buffer of about its own size (no regrowth copy, no 2 MiB allocation)', () => {
  const data = encodeCommand({
    op: 'put',
    key: Buffer.alloc(16),
    value: Buffer.alloc(MIB, 1),
    clientId: 'c7f1d1f2-2a43-4f0e-9c1e-1d2f3a4b5c6d',
    sequence: 123_456,
    minUnackedSequence: 123_400,
    prevKv: false,
  });
  assert.ok(data.length > MIB);
  assert.ok(data.buffer.byteLength < data.length + 1024, `backing buffer ${data.buffer.byteLength} bytes for a ${data.length}-byte command`);
});

test('the session table keeps no large previous values: a retried write whose previous value is gone is marked lost, not answered as absent', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  const big = 'v'.repeat(256 * 1024);
  await store.apply([putEntry(1, 'k', big)]);
  const first = await store.apply([putEntry(2, 'k', 'new', { clientId: 'c1', sequence: 1, prevKv: true })]);
  assert.equal(first.results.get(2)?.prevKv?.value.length, big.length, 'the first answer carries prev_kv');
  const again = await store.apply([putEntry(3, 'k', 'new', { clientId: 'c1', sequence: 1, prevKv: true })]);
  const retried = again.results.get(3);
  assert.equal(retried?.revision, 2, 'answered from the session');
  assert.equal(retried?.prevKv, undefined, 'the session did not keep the previous value');
  assert.equal(retried?.prevKvLost, true, 'and says so, instead of reporting the key as absent');
});

test('a retried refused compare-and-swap on a large value still names the current value while the key is unchanged', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  const big = 'v'.repeat(256 * 1024);
  await store.apply([putEntry(1, 'k', big)]);
  await store.apply([putEntry(2, 'k', 'mine', { clientId: 'c1', sequence: 1, expectedModRevision: 7 })]);
  const again = await store.apply([putEntry(3, 'k', 'mine', { clientId: 'c1', sequence: 1, expectedModRevision: 7 })]);
  const retried = again.results.get(3);
  assert.equal(retried?.succeeded, false);
  assert.equal(retried?.prevKv?.modRevision, 1);
  assert.equal(retried?.prevKv?.value.length, big.length, 'the value is restored from the unchanged key');
  assert.equal(retried?.prevKvLost, undefined);
});

test('readLog reads stored entries back by index range', async (t) => {
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  await store.persist({ entries: [1, 2, 3, 4].map((i) => putEntry(i, `k${i}`, `v${i}`)) });
  const got = await store.readLog(2, 3);
  assert.deepEqual(got.map((e) => e.index), [2, 3]);
  assert.deepEqual(got.map((e) => Buffer.from(e.data).equals(Buffer.from(putEntry(e.index, `k${e.index}`, `v${e.index}`).data))), [true, true]);
});

test('a large entry goes to the log as its own buffer, uncopied; a small one beside its header', async (t) => {
  const data = encodeCommand({ op: 'put', key: Buffer.from('k'), value: Buffer.alloc(MIB, 7), clientId: 'c1', sequence: 1, minUnackedSequence: 1, prevKv: false });
  const parts = entryRecord({ index: 5, term: 3, type: 'normal', data });
  assert.equal(parts.length, 2);
  assert.equal(parts[1], data, 'the data itself is written, gathered after its header');
  assert.ok(parts[0]!.length < 32);
  const small = Buffer.from('a small command');
  assert.equal(entryRecord({ index: 6, term: 3, type: 'normal', data: small }).length, 1);
  // A view into someone else's buffer (a peer's message) is written as it is, too.
  const message = Buffer.concat([Buffer.from('neighbour'), data]);
  const view = message.subarray(9);
  const store = await Store.open(tempDir(t));
  t.after(() => store.close());
  await store.persist({ entries: [{ index: 1, term: 3, type: 'normal', data }, { index: 2, term: 3, type: 'normal', data: view }, { index: 3, term: 3, type: 'normal', data: small }] });
  assert.equal(message.subarray(0, 9).toString(), 'neighbour');
  const back = await store.readLog(1, 3);
  assert.deepEqual(back.map((e) => [e.term, e.type, e.data.length]), [[3, 'normal', data.length], [3, 'normal', data.length], [3, 'normal', small.length]]);
  assert.ok(Buffer.from(back[0]!.data).equals(data) && Buffer.from(back[1]!.data).equals(data) && Buffer.from(back[2]!.data).equals(small));
});
