import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bwctl, bwctlJson, startBwctl } from '../src/bwctl';
import { TestCluster, waitFor } from '../src/cluster';

test('watch prints each change from a revision on; txn applies one branch atomically; a key put with a granted lease goes when it ends', async (t) => {
  const cluster = await TestCluster.start({ size: 3 });
  cluster.stopAfter(t);
  await cluster.waitForLeader();
  const endpoints = cluster.nodes.map((n) => n.address);

  const first = await bwctlJson<{ revision: number }>(['put', 'w/a', '1'], { endpoints });
  await bwctl(['put', 'other', 'x'], { endpoints });
  await bwctl(['put', 'w/b', '2'], { endpoints });
  await bwctl(['del', 'w/a'], { endpoints });
  const watched = await bwctl(['-w', 'json', 'watch', '--prefix', 'w/', '--rev', String(first.revision), '--count', '3'], { endpoints });
  assert.equal(watched.code, 0, `watch: ${watched.stderr}`);
  const events = watched.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; key: string; value?: string; revision: number });
  assert.deepEqual(events.map((e) => [e.type, e.key, e.value]), [['put', 'w/a', '1'], ['put', 'w/b', '2'], ['delete', 'w/a', undefined]]);
  assert.equal(events[0]!.revision, first.revision);
  assert.ok(events[0]!.revision < events[1]!.revision && events[1]!.revision < events[2]!.revision);
  const oneKey = await bwctl(['watch', 'w/b', '--rev', String(first.revision), '--count', '1'], { endpoints });
  assert.match(oneKey.stdout, /^PUT "w\/b" "2" rev=\d+\n$/);
  assert.equal((await bwctl(['watch', 'w/b', '--prefix', 'w/'], { endpoints })).code, 2);

  const stock = await bwctlJson<{ revision: number }>(['put', 'stock', '5'], { endpoints });
  const input = `mod("stock") = ${stock.revision}\nvalue("stock") = "5"\n\nput stock 4\nput "order 1" "stock"\n\nget stock\n`;
  const ok = await bwctl(['-w', 'json', 'txn'], { endpoints, input });
  assert.equal(ok.code, 0, `txn: ${ok.stderr}`);
  const okJson = JSON.parse(ok.stdout) as { succeeded: boolean; revision: number };
  assert.equal(okJson.succeeded, true);
  assert.equal((await bwctlJson<{ value: string; modRevision: number }>(['get', 'stock'], { endpoints })).modRevision, okJson.revision);
  assert.equal((await bwctlJson<{ value: string }>(['get', 'order 1'], { endpoints })).value, 'stock');
  const again = await bwctl(['txn'], { endpoints, input });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /\| FAILURE +\| REVISION +\| RESULT +\|/);
  assert.match(again.stdout, /\| get +\| \d+ +\| stock: 4 +\|/);
  const bad = await bwctl(['txn'], { endpoints, input: 'mod("stock") ~ 3\n\nput stock 1\n' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /txn line 1: .* is not a comparison/);

  // Long enough for two bwctl runs on a loaded machine, short enough to wait out.
  const lease = await bwctlJson<{ id: number; ttlSeconds: number }>(['lease', 'grant', '10'], { endpoints });
  assert.ok(lease.id > 0);
  const leased = await bwctlJson<{ revision: number }>(['put', 'leased', 'v', '--lease', String(lease.id)], { endpoints });
  const held = await bwctl(['get', 'leased', '--print-value-only', '--read-mode', 'any-follower'], { endpoints });
  assert.equal(held.stdout, 'v\n', `the leased key (revision ${leased.revision}) is there until the lease ends: ${held.stderr}`);
  // bwctl does not keep the lease alive: the key goes once the TTL has run out.
  await waitFor(async () => (await bwctl(['get', 'leased'], { endpoints })).code === 3 || undefined, 30_000, 'the leased key is deleted when the lease expires');
  const unknownLease = await bwctl(['put', 'x', 'v', '--lease', '999999'], { endpoints });
  assert.equal(unknownLease.code, 1, unknownLease.stdout);
});

test('lease keep-alive holds a lease granted elsewhere past its TTL; timetolive, list, keep-alive --once and revoke by id', async (t) => {
  const cluster = await TestCluster.start({ size: 3 });
  cluster.stopAfter(t);
  await cluster.waitForLeader();
  const endpoints = cluster.nodes.map((n) => n.address);

  const { id } = await bwctlJson<{ id: number }>(['lease', 'grant', '4'], { endpoints });
  await bwctl(['put', 'held', 'v', '--lease', String(id)], { endpoints });
  const keeper = startBwctl(['lease', 'keep-alive', String(id)], { endpoints });
  let keeperExited = false;
  t.after(() => {
    if (keeper.pid && !keeperExited) process.kill(keeper.pid, 'SIGKILL');
  });
  // Two TTLs: without the keeper the key would be gone.
  await new Promise((r) => setTimeout(r, 8_000));
  assert.equal((await bwctl(['get', 'held', '--print-value-only'], { endpoints })).stdout, 'v\n', 'kept alive past its TTL');
  const ttl = await bwctlJson<{ id: number; remainingMs: number; grantedTtlMs: number; keys: string[] }>(['lease', 'timetolive', String(id), '--keys'], { endpoints });
  assert.equal(ttl.grantedTtlMs, 4000);
  assert.ok(ttl.remainingMs > 0 && ttl.remainingMs <= 4000, `remaining ${ttl.remainingMs} ms`);
  assert.deepEqual(ttl.keys, ['held']);
  const listed = await bwctlJson<{ id: number; grantedTtlMs: number }[]>(['lease', 'list'], { endpoints });
  assert.ok(listed.some((l) => l.id === id && l.grantedTtlMs === 4000), JSON.stringify(listed));
  const once = await bwctlJson<{ id: number; ttlMs: number }>(['lease', 'keep-alive', String(id), '--once'], { endpoints });
  assert.equal(once.ttlMs, 4000);

  const revoked = await bwctlJson<{ deleted: number; revision: number }>(['lease', 'revoke', String(id)], { endpoints });
  assert.equal(revoked.deleted, 1);
  assert.equal((await bwctl(['get', 'held'], { endpoints })).code, 3, 'the key went with the lease');
  // The keeper hears that the lease is gone and fails.
  const kept = await keeper.done;
  keeperExited = true;
  assert.equal(kept.code, 1, kept.stderr);
  assert.match(kept.stderr, new RegExp(`lease ${id} lost`));
  for (const args of [['revoke'], ['timetolive'], ['keep-alive', '--once'], ['keep-alive']]) {
    const gone = await bwctl(['lease', args[0]!, String(id), ...args.slice(1)], { endpoints });
    assert.equal(gone.code, 3, `lease ${args.join(' ')} of a revoked lease: ${gone.stdout}${gone.stderr}`);
  }
});
