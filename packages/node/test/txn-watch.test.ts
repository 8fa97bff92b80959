import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PutResponse__Output, TxnResponse__Output, WatchResponse__Output } from '@bellwether/proto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { call, type Clients, singleNode, waitFor } from './helpers';

const b = (s: string) => Buffer.from(s);

function put(c: Clients, req: Record<string, unknown>) {
  return call<Record<string, unknown>, PutResponse__Output>(c.kv.Put, c.kv, req);
}
function txn(c: Clients, req: Record<string, unknown>) {
  return call<Record<string, unknown>, TxnResponse__Output>(c.kv.Txn, c.kv, req);
}

test('KV.Txn: compares, both branches, per-op results, one revision, exactly-once retries', async (t) => {
  const { clients: c } = await singleNode(t);
  await put(c, { key: b('stock/42'), value: b('1') });
  const checkout = {
    compare: [{ key: b('stock/42'), target: 'VALUE', result: 'GREATER', value: b('0') }],
    success: [{ put: { key: b('stock/42'), value: b('0'), prevKv: true } }, { put: { key: b('orders/1'), value: b('42') } }, { get: { key: b('orders/1') } }],
    failure: [{ get: { key: b('stock/42') } }],
    clientId: 'shop',
    sequence: 1,
  };
  const ok = await txn(c, checkout);
  assert.equal(ok.succeeded, true);
  assert.equal(ok.responses.length, 3);
  assert.equal(ok.responses[0]?.put?.prevKv?.value.toString(), '1');
  assert.equal(ok.responses[2]?.get?.kv?.modRevision, ok.header?.revision, 'every write of the transaction has its revision');
  const retried = await txn(c, checkout);
  assert.equal(retried.header?.revision, ok.header?.revision, 'a retry gets the first result');
  const again = await txn(c, { ...checkout, sequence: 2 });
  assert.equal(again.succeeded, false, 'out of stock');
  assert.equal(again.responses[0]?.get?.kv?.value.toString(), '0');
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ compare: [{ key: b(''), target: 'VERSION', result: 'EQUAL' }] }, /compare\[0\]\.key: must be 1\.\.4096 bytes/],
    [{ compare: [{ key: b('k'), target: 'VERSION', result: 'EQUAL', value: b('x') }] }, /compares `version`, but `value` was set/],
    [{ success: [{ put: { key: b('k'), value: b('v'), clientId: 'x', sequence: 1 } }] }, /go on the TxnRequest/],
    [{ success: [{ put: { key: b('k'), value: b('v') } }, { delete: { key: b('k') } }] }, /written twice/],
    [{ success: [{}] }, /success\[0\]: one of put, delete, get or range must be set/],
    [{ success: Array.from({ length: 129 }, () => ({ get: { key: b('k') } })) }, /at most 128 operations/],
    [{ failure: [{ range: { prefix: b('a'), limit: 5000 } }] }, /at most 1000 inside a transaction/],
  ];
  for (const [req, message] of bad) {
    await assert.rejects(txn(c, req), (err: ServiceError) => {
      assert.equal(err.code, status.INVALID_ARGUMENT, err.details);
      assert.match(err.details, message);
      return true;
    });
  }
});

function openWatch(c: Clients) {
  const stream = c.kv.Watch();
  const got: WatchResponse__Output[] = [];
  stream.on('data', (r: WatchResponse__Output) => got.push(r));
  stream.on('error', () => {});
  return { stream, got };
}

test('KV.Watch: several watches on one stream, history replay, prev_kv, filters, cancel, compacted start', async (t) => {
  const { clients: c } = await singleNode(t);
  const first = await put(c, { key: b('articles/1'), value: b('a') });
  await put(c, { key: b('other'), value: b('x') });
  const { stream, got } = openWatch(c);
  t.after(() => stream.cancel());
  stream.write({ createRequest: { prefix: b('articles/'), startRevision: first.header!.revision, prevKv: true, watchId: 7 } });
  stream.write({ createRequest: { key: b('other'), filters: ['NOPUT'] } });
  await waitFor(() => got.filter((r) => r.created).length === 2, 5000, 'both watches are created');
  const txnRes = await txn(c, {
    success: [{ put: { key: b('articles/1'), value: b('b') } }, { put: { key: b('articles/2'), value: b('c') } }, { put: { key: b('other'), value: b('y') } }],
  });
  await call(c.kv.Delete, c.kv, { key: b('other') });
  await waitFor(() => got.filter((r) => r.events.length > 0).length >= 3, 5000, 'events arrive');
  const w7 = got.filter((r) => r.watchId === 7).flatMap((r) => r.events);
  assert.deepEqual(
    w7.map((e) => [e.type, e.kv?.key.toString(), e.kv?.value.toString(), e.kv?.modRevision, e.prevKv?.value.toString()]),
    [
      ['PUT', 'articles/1', 'a', first.header!.revision, undefined],
      ['PUT', 'articles/1', 'b', txnRes.header!.revision, 'a'],
      ['PUT', 'articles/2', 'c', txnRes.header!.revision, undefined],
    ],
  );
  const otherId = got.find((r) => r.created && r.watchId !== 7)!.watchId;
  const other = got.filter((r) => r.watchId === otherId).flatMap((r) => r.events);
  assert.deepEqual(other.map((e) => e.type), ['DELETE'], 'NOPUT leaves the puts out');
  stream.write({ cancelRequest: { watchId: 7 } });
  await waitFor(() => got.some((r) => r.watchId === 7 && r.canceled), 5000, 'the cancel is confirmed');
  const before = got.length;
  await put(c, { key: b('articles/3'), value: b('d') });
  stream.write({ progressRequest: {} });
  await waitFor(() => got.some((r) => r.watchId === -1), 5000, 'a progress response');
  assert.ok(!got.slice(before).some((r) => r.watchId === 7 && r.events.length > 0), 'a cancelled watch sends nothing');
  stream.write({ createRequest: { key: b('x'), watchId: 9 } });
  stream.write({ createRequest: { key: b('x'), watchId: 9 } });
  await waitFor(() => got.some((r) => r.watchId === 9 && r.canceled), 5000, 'a duplicate id is refused');
  assert.match(got.find((r) => r.watchId === 9 && r.canceled)!.cancelReason, /already in use/);
});

test('KV.Watch: a start before the history window is refused with the compact revision', async (t) => {
  // A window of 5 revisions: room for an entry the node itself may append (member metadata) after the puts.
  const { clients: c } = await singleNode(t, { watchHistoryRevisions: 5 });
  // Revisions of the puts, by value: the node may append an entry of its own between two of them.
  const revisions: number[] = [];
  for (let i = 0; i < 10; i++) revisions.push((await put(c, { key: b('k'), value: b(String(i)) })).header!.revision);
  const last = revisions[9]!;
  const { stream, got } = openWatch(c);
  t.after(() => stream.cancel());
  stream.write({ createRequest: { key: b('k'), startRevision: 1 } });
  await waitFor(() => got.length > 0, 5000, 'an answer');
  assert.equal(got[0]!.canceled, true);
  assert.ok(got[0]!.compactRevision >= last - 5 && got[0]!.compactRevision < last - 2, `compact revision ${got[0]!.compactRevision}, last write ${last}`);
  assert.match(got[0]!.cancelReason, /compacted/);
  stream.write({ createRequest: { key: b('k'), startRevision: revisions[7]! } });
  await waitFor(() => got.some((r) => r.events.length > 0), 5000, 'events from inside the window');
  assert.deepEqual(got.flatMap((r) => r.events).map((e) => e.kv?.value.toString()), ['7', '8', '9']);
});

