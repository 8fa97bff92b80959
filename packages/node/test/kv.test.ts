import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeleteResponse__Output, GetResponse__Output, PutResponse__Output, RangeResponse__Output } from '@bellwether/proto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { call, type Clients, singleNode, waitFor } from './helpers';

const b = (s: string) => Buffer.from(s);

function put(c: Clients, req: Record<string, unknown>) {
  return call<Record<string, unknown>, PutResponse__Output>(c.kv.Put, c.kv, req);
}
function get(c: Clients, req: Record<string, unknown>) {
  return call<Record<string, unknown>, GetResponse__Output>(c.kv.Get, c.kv, req);
}
function del(c: Clients, req: Record<string, unknown>) {
  return call<Record<string, unknown>, DeleteResponse__Output>(c.kv.Delete, c.kv, req);
}
function range(c: Clients, req: Record<string, unknown>) {
  return call<Record<string, unknown>, RangeResponse__Output>(c.kv.Range, c.kv, req);
}

async function rejectsWith(p: Promise<unknown>, code: status, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: ServiceError) => {
    assert.equal(err.code, code, `code ${err.code} (${err.details})`);
    assert.match(err.details, message);
    return true;
  });
}

test('put, get, delete and range over gRPC, with revisions and versions', async (t) => {
  const { clients: c, node } = await singleNode(t);
  const p1 = await put(c, { key: b('a'), value: b('1') });
  assert.ok(p1.succeeded);
  assert.ok(p1.header);
  assert.equal(p1.header.memberId, 'n1');
  assert.equal(p1.header.leaderId, 'n1');
  assert.equal(p1.header.clusterId, node.clusterId);
  assert.ok(p1.header.revision > 0);
  const p2 = await put(c, { key: b('a'), value: b('2'), prevKv: true });
  assert.equal(p2.prevKv?.value.toString(), '1');
  assert.ok(p2.header!.revision > p1.header.revision);

  for (const mode of ['READ_MODE_UNSPECIFIED', 'READ_MODE_LINEARIZABLE', 'READ_MODE_READ_YOUR_WRITES', 'READ_MODE_ANY_FOLLOWER']) {
    const g = await get(c, { key: b('a'), read: { mode, minIndex: p2.header!.revision } });
    assert.equal(g.kv?.value.toString(), '2', mode);
    assert.equal(g.kv?.version, 2);
    assert.equal(g.kv?.createRevision, p1.header.revision);
    assert.equal(g.kv?.modRevision, p2.header!.revision);
    assert.ok(g.header!.appliedIndex >= p2.header!.revision);
  }
  const missing = await get(c, { key: b('nope') });
  assert.equal(missing.kv, null);

  const d = await del(c, { key: b('a'), prevKv: true });
  assert.equal(d.deleted, 1);
  assert.equal(d.prevKv?.value.toString(), '2');
  assert.equal((await get(c, { key: b('a') })).kv, null);
  const d2 = await del(c, { key: b('a') });
  assert.equal(d2.deleted, 0);
});

test('compare-and-swap on put and delete', async (t) => {
  const { clients: c } = await singleNode(t);
  const created = await put(c, { key: b('k'), value: b('v1'), expectedModRevision: 0 });
  assert.ok(created.succeeded);
  const again = await put(c, { key: b('k'), value: b('v2'), expectedModRevision: 0 });
  assert.equal(again.succeeded, false);
  assert.equal(again.prevKv?.value.toString(), 'v1', 'a failed compare reports the current value');
  const swapped = await put(c, { key: b('k'), value: b('v2'), expectedModRevision: created.header!.revision });
  assert.ok(swapped.succeeded);
  const stale = await del(c, { key: b('k'), expectedModRevision: created.header!.revision });
  assert.equal(stale.succeeded, false);
  assert.equal(stale.deleted, 0);
  const gone = await del(c, { key: b('k'), expectedModRevision: swapped.header!.revision });
  assert.equal(gone.deleted, 1);
});

test('a retried (client_id, sequence) is answered with the first result', async (t) => {
  const { clients: c } = await singleNode(t);
  const first = await put(c, { key: b('x'), value: b('1'), clientId: 'app-1', sequence: 1 });
  const retry = await put(c, { key: b('x'), value: b('1'), clientId: 'app-1', sequence: 1 });
  assert.equal(retry.header!.revision, first.header!.revision);
  const g = await get(c, { key: b('x') });
  assert.equal(g.kv?.version, 1, 'applied once');
});

test('range by prefix and by [start, end), paged with continuation', async (t) => {
  const { clients: c } = await singleNode(t);
  for (const k of ['user/1', 'user/2', 'user/3', 'user/4', 'user/5', 'users', 'v']) await put(c, { key: b(k), value: b(`val-${k}`) });
  const keys: string[] = [];
  let continuation: Buffer = Buffer.alloc(0);
  let pages = 0;
  for (;;) {
    const page = await range(c, { prefix: b('user/'), limit: 2, continuation });
    pages++;
    keys.push(...page.kvs.map((kv) => kv.key.toString()));
    if (!page.more) {
      assert.equal(page.continuation.length, 0);
      break;
    }
    continuation = page.continuation;
  }
  assert.deepEqual(keys, ['user/1', 'user/2', 'user/3', 'user/4', 'user/5']);
  assert.equal(pages, 3);
  const between = await range(c, { start: b('user/2'), end: b('user/4') });
  assert.deepEqual(
    between.kvs.map((kv) => kv.key.toString()),
    ['user/2', 'user/3'],
  );
  const open = await range(c, { start: b('users'), keysOnly: true });
  assert.deepEqual(
    open.kvs.map((kv) => [kv.key.toString(), kv.value.length]),
    [
      ['users', 0],
      ['v', 0],
    ],
  );
  const all = await range(c, {});
  assert.equal(all.kvs.length, 7);
});

test('bad input gets INVALID_ARGUMENT naming the field and limit, and harms nothing', async (t) => {
  const { clients: c } = await singleNode(t, { maxValueBytes: 1024 });
  await put(c, { key: b('keep'), value: b('safe') });
  await rejectsWith(put(c, { key: b(''), value: b('v') }), status.INVALID_ARGUMENT, /key: must be 1\.\.4096 bytes, got 0/);
  await rejectsWith(put(c, { key: Buffer.alloc(4097, 1), value: b('v') }), status.INVALID_ARGUMENT, /key: must be 1\.\.4096 bytes, got 4097/);
  await rejectsWith(put(c, { key: b('keep'), value: Buffer.alloc(1025) }), status.INVALID_ARGUMENT, /value: must be at most 1024 bytes, got 1025/);
  await rejectsWith(get(c, { key: b('') }), status.INVALID_ARGUMENT, /key: must be 1\.\.4096 bytes/);
  await rejectsWith(get(c, { key: b('keep'), read: { mode: 9 } }), status.INVALID_ARGUMENT, /read\.mode: unknown read mode/);
  await rejectsWith(del(c, { key: b('') }), status.INVALID_ARGUMENT, /key/);
  await rejectsWith(put(c, { key: b('keep'), value: b('x'), sequence: 3 }), status.INVALID_ARGUMENT, /client_id: required when sequence is set/);
  await rejectsWith(put(c, { key: b('keep'), value: b('x'), clientId: 'c' }), status.INVALID_ARGUMENT, /sequence: must be >= 1/);
  await rejectsWith(put(c, { key: b('keep'), value: b('x'), clientId: 'c'.repeat(129), sequence: 1 }), status.INVALID_ARGUMENT, /client_id: must be at most 128 bytes/);
  await rejectsWith(range(c, { prefix: b('a'), start: b('a') }), status.INVALID_ARGUMENT, /either prefix or start\/end/);
  await rejectsWith(range(c, { start: b('b'), end: b('a') }), status.INVALID_ARGUMENT, /start must be less than end/);
  await rejectsWith(range(c, { limit: 10001 }), status.INVALID_ARGUMENT, /limit: must be at most 10000/);
  await rejectsWith(range(c, { prefix: b('a'), continuation: b('zzz') }), status.INVALID_ARGUMENT, /continuation/);
  const g = await get(c, { key: b('keep') });
  assert.equal(g.kv?.value.toString(), 'safe');
  assert.equal(g.kv?.version, 1);
});

test('Status, Members and WatchLeader describe the single-member cluster', async (t) => {
  const { clients: c, node } = await singleNode(t);
  await put(c, { key: b('a'), value: b('1') });
  const st = await call<Record<string, never>, { memberId: string; role: string; leaderId: string; leaderAddress: string; commitIndex: number; appliedIndex: number; term: number }>(
    c.cluster.Status,
    c.cluster,
    {},
  );
  assert.equal(st.memberId, 'n1');
  assert.equal(st.role, 'ROLE_LEADER');
  assert.equal(st.leaderId, 'n1');
  assert.equal(st.leaderAddress, `127.0.0.1:${node.port}`);
  assert.ok(st.term >= 1);
  assert.ok(st.appliedIndex >= 2 && st.commitIndex >= st.appliedIndex);
  type Members = { members: { id: string; address: string; voter: boolean; role: string; incarnation: string }[] };
  // The leader records its own incarnation in the membership right after it is elected.
  let members = await call<Record<string, never>, Members>(c.cluster.Members, c.cluster, {});
  for (let i = 0; i < 200 && !members.members[0]?.incarnation; i++) {
    await new Promise((r) => setTimeout(r, 25));
    members = await call<Record<string, never>, Members>(c.cluster.Members, c.cluster, {});
  }
  const [m] = members.members;
  assert.match(m?.incarnation ?? '', /^[0-9a-f]{16}$/);
  assert.deepEqual(members.members, [{ id: 'n1', address: `127.0.0.1:${node.port}`, voter: true, role: 'MEMBER_ROLE_VOTER', incarnation: m?.incarnation }]);
  const stream = c.cluster.WatchLeader({});
  const first = await new Promise<{ leaderId: string; term: number }>((resolve, reject) => {
    stream.once('data', resolve);
    stream.once('error', reject);
  });
  assert.equal(first.leaderId, 'n1');
  stream.cancel();
});

test('WatchLeader streams by the dozen all hear a leader change, and Node warns of no listener leak', async (t) => {
  const { clients: c, node } = await singleNode(t);
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const streams = Array.from({ length: 30 }, () => c.cluster.WatchLeader({}));
  const events = streams.map(() => 0);
  const errors: string[] = [];
  streams.forEach((s, i) => {
    s.on('data', () => {
      events[i]!++;
    });
    s.on('error', (e: Error) => errors.push(e.message));
  });
  const heard = (n: number) => waitFor(() => errors.length > 0 || events.every((e) => e >= n), 5000, `every stream has ${n} event(s)`);
  await heard(1);
  // What the replica says on an election, as a single member cannot lose its place.
  node.replica.emit('leaderChange', { leaderId: 'n1', term: node.replica.currentTerm });
  await heard(2);
  assert.deepEqual(errors, []);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(warnings, []);
  for (const s of streams) s.cancel();
});

test('Stream multiplexes calls with the unary semantics and errors', async (t) => {
  const { clients: c, node } = await singleNode(t);
  const stream = c.kv.Stream();
  const results = new Map<number, Record<string, unknown>>();
  let waiting: (() => void) | undefined;
  stream.on('data', (msg: { results: Record<string, unknown>[] }) => {
    for (const r of msg.results) results.set(Number(r['id']), r);
    waiting?.();
  });
  const until = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (results.size >= n ? resolve() : (waiting = check));
      check();
    });
  const calls = [];
  for (let i = 1; i <= 50; i++) calls.push({ id: i, put: { key: b(`s${i}`), value: b(`v${i}`) } });
  stream.write({ calls });
  await until(50);
  const revisions = calls.map((call) => (results.get(call.id)!['put'] as PutResponse__Output).header!.revision);
  assert.equal(new Set(revisions).size, 50, 'each write got its own revision');
  stream.write({
    calls: [
      { id: 51, timeoutMs: 1000, get: { key: b('s7'), read: { mode: 'READ_MODE_LINEARIZABLE' } } },
      { id: 52, put: { key: b(''), value: b('x') } },
      { id: 53, range: { prefix: b('s1'), limit: 3 } },
      { id: 54, delete: { key: b('s2') } },
      { id: 55 },
    ],
  });
  await until(55);
  assert.equal((results.get(51)!['get'] as GetResponse__Output).kv?.value.toString(), 'v7');
  const err = results.get(52)!['error'] as { code: number; message: string };
  assert.equal(err.code, status.INVALID_ARGUMENT);
  assert.match(err.message, /key: must be 1\.\.4096 bytes, got 0/);
  assert.equal((results.get(53)!['range'] as RangeResponse__Output).kvs.length, 3);
  assert.equal((results.get(54)!['delete'] as DeleteResponse__Output).deleted, 1);
  assert.equal((results.get(55)!['error'] as { code: number }).code, status.INVALID_ARGUMENT);
  assert.equal(node.replica.isLeader, true);
  stream.end();
  await new Promise<void>((resolve) => stream.on('end', resolve).resume());
});

test('Stream splits replies into messages a stock gRPC client accepts', { timeout: 30_000 }, async (t) => {
  const { clients: c } = await singleNode(t);
  const big = Buffer.alloc(1024 * 1024 - 64, 7);
  for (let i = 0; i < 6; i++) {
    await new Promise<void>((resolve, reject) => c.kv.Put({ key: b(`big${i}`), value: big }, (err: Error | null) => (err ? reject(err) : resolve())));
  }
  // The test's client keeps gRPC's default 4 MiB receive limit: one 6 MiB reply would fail the stream.
  const stream = c.kv.Stream();
  const sizes: number[] = [];
  const results = new Map<number, GetResponse__Output>();
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (msg: { results: { id: number | string; get?: GetResponse__Output }[] }) => {
      sizes.push(msg.results.length);
      for (const r of msg.results) results.set(Number(r.id), r.get!);
      if (results.size === 6) resolve();
    });
    stream.on('error', reject);
  });
  stream.write({ calls: Array.from({ length: 6 }, (_, i) => ({ id: i + 1, get: { key: b(`big${i}`), read: { mode: 'READ_MODE_ANY_FOLLOWER' } } })) });
  await done;
  assert.ok(sizes.length >= 2, `6 MiB of results came in ${sizes.length} message(s)`);
  assert.ok(Math.max(...sizes) <= 3, 'no message carries more than ~4 MiB');
  for (let i = 1; i <= 6; i++) assert.equal(results.get(i)?.kv?.value.length, big.length);
  stream.end();
  await new Promise<void>((resolve) => stream.on('end', resolve).resume());
});

test('a read-your-writes min_index far beyond anything written is refused at once on the leader, not parked', async (t) => {
  const { clients: c } = await singleNode(t);
  await put(c, { key: b('a'), value: b('1') });
  await rejectsWith(get(c, { key: b('a'), read: { mode: 'READ_MODE_READ_YOUR_WRITES', minIndex: 2 ** 40 } }), status.INVALID_ARGUMENT, /min_index 1099511627776: no write of this cluster has that index/);
});
