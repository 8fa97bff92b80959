import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GetResponse__Output, LeaseClient, LeaseGrantResponse__Output, LeaseKeepAliveResponse__Output, LeaseTimeToLiveResponse__Output } from '@bellwether/proto';
import { loadPublicApi } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { call, type Clients, singleNode } from './helpers';

const b = (s: string) => Buffer.from(s);

function leaseClient(t: { after(fn: () => void): void }, port: number): LeaseClient {
  const c = new (loadPublicApi().bellwether.lease.v1.Lease)(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.after(() => c.close());
  return c;
}

const get = (c: Clients, key: string) => call<Record<string, unknown>, GetResponse__Output>(c.kv.Get, c.kv, { key: b(key) });

test('Lease: keys attached to a lease live while it is kept alive and vanish through the log when it expires', async (t) => {
  const { clients: c, node } = await singleNode(t);
  const lease = leaseClient(t, node.port);
  const granted = await call<Record<string, unknown>, LeaseGrantResponse__Output>(lease.Grant, lease, { ttlMs: 1000 });
  assert.ok(granted.id > 0);
  assert.equal(granted.ttlMs, 1000);
  await call(c.kv.Put, c.kv, { key: b('job/1'), value: b('x'), lease: granted.id });
  assert.equal((await get(c, 'job/1')).kv?.lease, granted.id);
  await assert.rejects(call(c.kv.Put, c.kv, { key: b('job/2'), value: b('x'), lease: 12345 }), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
  // Keep it alive for three TTLs.
  const ka = lease.KeepAlive();
  const replies: LeaseKeepAliveResponse__Output[] = [];
  ka.on('data', (r: LeaseKeepAliveResponse__Output) => replies.push(r));
  ka.on('error', () => {});
  const start = Date.now();
  let lastSent = 0;
  while (Date.now() - start < 2500) {
    lastSent = Date.now();
    ka.write({ id: granted.id });
    await new Promise((r) => setTimeout(r, 150));
    assert.ok((await get(c, 'job/1')).kv, 'alive while kept alive');
  }
  ka.end();
  assert.ok(replies.length > 5 && replies.every((r) => r.ttlMs === 1000));
  const ttl = await call<Record<string, unknown>, LeaseTimeToLiveResponse__Output>(lease.TimeToLive, lease, { id: granted.id, keys: true });
  assert.deepEqual(ttl.keys.map(String), ['job/1']);
  let gone = 0;
  for (const until = Date.now() + 10_000; !gone && Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    if (!(await get(c, 'job/1')).kv) gone = Date.now();
  }
  assert.ok(gone, 'the key is deleted');
  // The leader restarted the clock when it received the last keep-alive, after it was sent.
  assert.ok(gone - lastSent >= 1000, `deleted ${gone - lastSent} ms after the last keep-alive was sent, not before its TTL`);
  const after = await call<Record<string, unknown>, LeaseTimeToLiveResponse__Output>(lease.TimeToLive, lease, { id: granted.id });
  assert.equal(after.ttlMs, -1);
  await assert.rejects(call(lease.Revoke, lease, { id: granted.id }), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
  await assert.rejects(call(lease.Grant, lease, { ttlMs: 5 }), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /ttl_ms/.test(err.details));
});

test('Lease: revoke deletes the keys at one revision', async (t) => {
  const { clients: c, node } = await singleNode(t);
  const lease = leaseClient(t, node.port);
  const { id } = await call<Record<string, unknown>, LeaseGrantResponse__Output>(lease.Grant, lease, { ttl: 60 });
  for (const k of ['a', 'b', 'c']) await call(c.kv.Put, c.kv, { key: b(`l/${k}`), value: b('v'), lease: id });
  const revoked = await call<Record<string, unknown>, { deleted: number }>(lease.Revoke, lease, { id });
  assert.equal(revoked.deleted, 3);
  for (const k of ['a', 'b', 'c']) assert.equal((await get(c, `l/${k}`)).kv, null);
});
