import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Store } from '../src/index';
import { leasedPut, leaseEntry, putEntry, tempDir } from './helpers';

const b = (s: string) => Buffer.from(s);

test('a revoked lease deletes exactly its keys, at the revoke revision', async (t) => {
  const store = await Store.open(tempDir(t), { trackChanges: true });
  t.after(() => store.close());
  const out = await store.apply([
    leaseEntry(1, { op: 'lease-grant', ttlMs: 5000 }),
    leaseEntry(2, { op: 'lease-grant', id: 77, ttlMs: 1000 }),
    leasedPut(3, 'job/a', 'x', 1),
    leasedPut(4, 'job/b', 'y', 1),
    leasedPut(5, 'job/c', 'z', 77),
    leasedPut(6, 'nope', 'z', 999),
  ]);
  assert.deepEqual(out.leases.map((l) => [l.type, l.lease.id, l.lease.ttlMs]), [
    ['grant', 1, 5000],
    ['grant', 77, 1000],
  ]);
  assert.equal(out.results.get(6)?.refused, 'lease-not-found');
  assert.equal(await store.get(b('nope')), undefined);
  assert.equal((await store.get(b('job/a')))?.lease, 1);
  assert.deepEqual((await store.leaseKeys(1)).map(String), ['job/a', 'job/b']);
  // Rewriting job/b without a lease detaches it; revoking lease 1 then deletes only job/a.
  const revoke = await store.apply([putEntry(7, 'job/b', 'kept'), leasedPut(8, 'job/d', 'w', 1), leaseEntry(9, { op: 'lease-revoke', id: 1 })]);
  const r = revoke.results.get(9)!;
  assert.deepEqual([r.succeeded, r.deleted], [true, 2]);
  assert.equal(await store.get(b('job/a')), undefined);
  assert.equal(await store.get(b('job/d')), undefined, 'a key attached earlier in the same batch goes too');
  assert.equal((await store.get(b('job/b')))?.value.toString(), 'kept');
  assert.deepEqual(
    revoke.changes.filter((c) => c.revision === 9).map((c) => [c.type, c.kv.key.toString()]),
    [
      ['delete', 'job/a'],
      ['delete', 'job/d'],
    ],
  );
  assert.deepEqual((await store.leases()).map((l) => l.id), [77]);
  const again = await store.apply([leaseEntry(10, { op: 'lease-revoke', id: 1 })]);
  assert.equal(again.results.get(10)?.succeeded, false, 'an unknown lease');
});
