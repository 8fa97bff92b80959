import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WatchResponse } from '@bellwether/proto';
import { keyChange } from '@bellwether/store';
import { WatchHistory } from '../src/watch/history';
import { type WatchSink, Watcher } from '../src/watch/watcher';

const b = (s: string) => Buffer.from(s);
const put = (revision: number, key: string, value: Buffer | string) =>
  keyChange(revision, b(key), undefined, { key: b(key), value: Buffer.isBuffer(value) ? value : b(value), createRevision: revision, modRevision: revision, version: 1 });

function sink(): WatchSink & { sent: WatchResponse[]; blocked: boolean } {
  const s = {
    sent: [] as WatchResponse[],
    blocked: false,
    send(r: WatchResponse) {
      s.sent.push(r);
      return !s.blocked;
    },
    header: (revision: number) => ({ revision }),
  };
  return s;
}

const limits = { maxLagBytes: 10_000, maxResponseBytes: 1_000 };

test('a watcher reports matching changes in revision order and never splits a revision', async () => {
  const h = new WatchHistory({ maxRevisions: 1000, maxBytes: 1 << 20 }, 0);
  const s = sink();
  const w = new Watcher({ id: 1, start: b('a/'), end: b('a0'), noPut: false, noDelete: false, prevKv: false, progressNotify: false }, 1, h, s, limits, () => {});
  h.append([put(1, 'a/1', 'x'), put(2, 'b', 'y'), put(3, 'a/2', 'z'), put(3, 'a/3', 'w')], 3);
  w.pump();
  assert.deepEqual(s.sent.flatMap((r) => r.events ?? []).map((e) => [e.kv?.key?.toString(), e.kv?.modRevision]), [
    ['a/1', 1],
    ['a/2', 3],
    ['a/3', 3],
  ]);
  assert.equal(w.cursor, 4);
  // Big revisions go one per response; the two changes of revision 5 stay together.
  h.append([put(4, 'a/4', Buffer.alloc(900)), put(5, 'a/5', Buffer.alloc(900)), put(5, 'a/6', Buffer.alloc(900))], 5);
  s.sent.length = 0;
  w.pump();
  assert.deepEqual(s.sent.map((r) => (r.events ?? []).map((e) => e.kv?.modRevision)), [[4], [5, 5]]);
  assert.deepEqual(s.sent.map((r) => r.header?.revision), [4, 5]);
});

test('a blocked watcher stops reading the history and is cancelled once it lags past its byte bound', () => {
  const h = new WatchHistory({ maxRevisions: 1000, maxBytes: 1 << 20 }, 0);
  const s = sink();
  let removed = false;
  const w = new Watcher({ id: 1, start: b('k'), end: b('k\0'), noPut: false, noDelete: false, prevKv: false, progressNotify: false }, 1, h, s, limits, () => {
    removed = true;
  });
  s.blocked = true;
  let rev = 0;
  while (!w.canceled && rev < 100) {
    rev++;
    h.append([put(rev, 'k', Buffer.alloc(1000))], rev);
    w.pump();
  }
  assert.ok(w.canceled, 'cancelled');
  assert.ok(removed, 'removed from its hub');
  assert.ok(rev > 5 && rev < 20, `cancelled at revision ${rev}, near the 10 000-byte bound`);
  const last = s.sent[s.sent.length - 1]!;
  assert.equal(last.canceled, true);
  assert.match(last.cancelReason ?? '', /fell \d+ bytes of changes behind \(limit 10000\).*watch again from revision 1/);
});

test('a watcher whose next revision left the history is cancelled with the compact revision', () => {
  const h = new WatchHistory({ maxRevisions: 3, maxBytes: 1 << 20 }, 0);
  const s = sink();
  const w = new Watcher({ id: 1, start: b('k'), end: undefined, noPut: false, noDelete: false, prevKv: false, progressNotify: false }, 1, h, s, { ...limits, maxLagBytes: 1 << 20 }, () => {});
  s.blocked = true;
  for (let rev = 1; rev <= 6; rev++) h.append([put(rev, 'k', 'v')], rev);
  w.pump();
  assert.equal(w.canceled, true);
  assert.equal(s.sent[0]?.compactRevision, 3);
  assert.equal(h.compactRevision, 3);
});

test('a revision trimmed out of the history by bytes lets go of its changes at once (1 MiB values: the history holds what its byte count says)', () => {
  const h = new WatchHistory({ maxRevisions: 100_000, maxBytes: 4 << 20 }, 0);
  const value = Buffer.alloc(1 << 20);
  h.append([put(1, 'k', value)], 1);
  const first = h.at(h.seek(1))!;
  assert.equal(first.changes.length, 1);
  for (let r = 2; r <= 20; r++) h.append([put(r, 'k', value)], r);
  assert.ok(h.bytes <= 4 << 20);
  assert.equal(h.at(h.seek(1))?.revision, h.compactRevision + 1, 'revision 1 left the history');
  assert.equal(first.changes.length, 0, 'and no longer holds its value');
  let held = 0;
  for (let p = h.seek(0); p < h.end(); p++) held += h.at(p)!.changes.length;
  assert.ok(held <= 4, `${held} changes held`);
});

/** A previous value left in a blob file, loaded when the test says so. */
function deferred(bytes: Buffer) {
  let finish: (fail?: Error) => void = () => {};
  const v = {
    length: bytes.length,
    loaded: undefined as Buffer | undefined,
    loads: 0,
    released: false,
    load(): Promise<Buffer> {
      v.loads++;
      return new Promise<Buffer>((resolve, reject) => {
        finish = (fail) => {
          if (fail) return reject(fail);
          v.loaded = bytes;
          resolve(bytes);
        };
      });
    },
    release() {
      v.released = true;
      v.loaded = undefined;
    },
    finish: (fail?: Error) => finish(fail),
  };
  return v;
}

const overwrite = (revision: number, key: string, prev: ReturnType<typeof deferred>) =>
  keyChange(revision, b(key), { key: b(key), value: Buffer.alloc(0), createRevision: 1, modRevision: revision - 1, version: 1 }, { key: b(key), value: b('new'), createRevision: 1, modRevision: revision, version: 2 }, prev);

test('a prev_kv watcher reads a previous value left in its blob file before it reports the change; other watchers do not wait', async () => {
  const h = new WatchHistory({ maxRevisions: 1000, maxBytes: 1 << 20 }, 0);
  const spec = { id: 1, start: b('k'), end: undefined, noPut: false, noDelete: false, prevKv: true, progressNotify: false };
  const withPrev = sink();
  const plain = sink();
  const w = new Watcher(spec, 1, h, withPrev, limits, () => {});
  const p = new Watcher({ ...spec, id: 2, prevKv: false }, 1, h, plain, limits, () => {});
  const old = deferred(b('old value'));
  h.append([put(1, 'k', 'v1'), overwrite(2, 'k', old), put(3, 'k2', 'v3')], 3);
  // Overhead, key, value, and for revision 2 the previous key and the deferred value's 9 bytes.
  assert.equal(h.bytes, 96 + 1 + 2 + (96 + 1 + 3 + 1 + 9) + (96 + 2 + 2), 'the deferred value counts whole');
  w.pump();
  p.pump();
  assert.deepEqual(plain.sent.flatMap((r) => r.events ?? []).map((e) => e.kv?.modRevision), [1, 2, 3]);
  assert.equal(old.loads, 1, 'only the prev_kv watcher reads it');
  assert.deepEqual(withPrev.sent.flatMap((r) => r.events ?? []).map((e) => e.kv?.modRevision), [1], 'revision 2 waits for its previous value');
  w.pump();
  assert.equal(old.loads, 1, 'a pump while reading starts no second read');
  old.finish();
  await new Promise((resolve) => setImmediate(resolve));
  const events = withPrev.sent.flatMap((r) => r.events ?? []);
  assert.deepEqual(events.map((e) => e.kv?.modRevision), [1, 2, 3], 'in order, none skipped');
  assert.equal(events[1]?.prevKv?.value?.toString(), 'old value');
  assert.equal(events[1]?.prevKv?.modRevision, 1);
  assert.equal(w.cursor, 4);
  // Leaving the history lets the value (and its file) go.
  h.reset(3);
  assert.equal(old.released, true);
});

test('a previous value that can no longer be read cancels the prev_kv watch as compacted at that revision', async () => {
  const h = new WatchHistory({ maxRevisions: 1000, maxBytes: 1 << 20 }, 0);
  const s = sink();
  const w = new Watcher({ id: 1, start: b('k'), end: undefined, noPut: false, noDelete: false, prevKv: true, progressNotify: false }, 1, h, s, limits, () => {});
  const old = deferred(b('old'));
  h.append([overwrite(5, 'k', old)], 5);
  w.pump();
  old.finish(new Error('blob file gone'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(w.canceled, true);
  const last = s.sent[s.sent.length - 1]!;
  assert.equal(last.cancelCode, 11, 'OUT_OF_RANGE: another member may still have it');
  assert.equal(last.compactRevision, 5);
  assert.match(last.cancelReason ?? '', /previous values of revision 5 can no longer be read on this member \(blob file gone\)/);
});

test('trimming the history releases the deferred previous values it drops', () => {
  const h = new WatchHistory({ maxRevisions: 2, maxBytes: 1 << 20 }, 0);
  const values = [1, 2, 3, 4].map(() => deferred(b('x')));
  for (const [i, v] of values.entries()) h.append([overwrite(i + 2, 'k', v)], i + 2);
  assert.deepEqual(
    values.map((v) => v.released),
    [true, true, false, false],
  );
});
