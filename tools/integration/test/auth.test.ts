// Users, roles and permissions on a real 3-node cluster: enforced on every
// member (follower reads included), on every call inside KV.Stream, for
// Status and admin; tokens expire, die with their user, and never reach logs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cmp, connect, FailedPrecondition, op, PermissionDenied, Unauthenticated } from '@bellwether/client';
import { AUTHORIZATION_METADATA, type GetResponse__Output, type ReadMode } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { AuthAdmin } from '../src/auth-admin';
import { clientsFor, type NodeProcess, TestCluster, waitFor } from '../src/cluster';

const ROOT = { name: 'root', password: 'root-secret-Pw1' };
const ALICE = { name: 'alice', password: 'alice-secret-Pw2' };
const TTL_SECONDS = 3;

function getWithToken(n: NodeProcess, key: string, token: string | undefined, mode: ReadMode = 'READ_MODE_ANY_FOLLOWER'): Promise<GetResponse__Output> {
  const md = new grpc.Metadata();
  if (token) md.set(AUTHORIZATION_METADATA, `Bearer ${token}`);
  const kv = clientsFor(n.address).kv;
  return new Promise((resolve, reject) => kv.Get({ key: Buffer.from(key), read: { mode } }, md, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res!))));
}

const code = (c: grpc.status) => (err: grpc.ServiceError) => err.code === c;

test('auth: READWRITE on app/ allows app/x and refuses other/x on every member, in KV.Stream and unary; admin is root only; tokens expire and die with their user', async (t) => {
  const cluster = await TestCluster.start({ size: 3, args: ['--auth-token-ttl', String(TTL_SECONDS)] });
  const admin = new AuthAdmin();
  t.after(async () => {
    admin.close();
    await cluster.stop();
  });
  const leader = await cluster.waitForLeader();
  const at = leader.address;

  // Set up through the SDK (client.auth), starting at a follower: changes follow the leader hint.
  const endpoints = [...cluster.followers(leader).map((n) => n.address), at];
  const setup = await connect({ endpoints });
  t.after(() => setup.close());
  await assert.rejects(setup.auth.enable(), (e: Error) => e instanceof FailedPrecondition && /"root" user holding the "root" role/.test(e.message));
  await setup.auth.userAdd(ROOT.name, ROOT.password);
  await setup.auth.userGrantRole('root', 'root');
  await setup.auth.enable();
  assert.equal(await setup.auth.enabled(), true);
  // From now on admin needs root.
  await assert.rejects(setup.auth.userAdd(ALICE.name, ALICE.password), (e: Error) => e instanceof Unauthenticated);
  await assert.rejects(admin.call(at, 'UserAdd', ALICE), code(grpc.status.UNAUTHENTICATED));
  const rootClient = await connect({ endpoints, auth: { username: ROOT.name, password: ROOT.password } });
  t.after(() => rootClient.close());
  await rootClient.auth.userAdd(ALICE.name, ALICE.password);
  await rootClient.auth.roleAdd('app');
  await rootClient.auth.roleGrantPermission('app', { prefix: 'app/' }, 'readwrite');
  await rootClient.auth.userGrantRole('alice', 'app');
  assert.deepEqual(await rootClient.auth.userGet('alice'), ['app']);
  assert.deepEqual((await rootClient.auth.roleGet('app')).map((p) => [p.type, Buffer.from(p.start).toString(), Buffer.from(p.end).toString()]), [['readwrite', 'app/', 'app0']]);
  await assert.rejects(admin.call(at, 'UserList', {}, ALICE), code(grpc.status.PERMISSION_DENIED));
  assert.deepEqual(await rootClient.auth.userList(), ['alice', 'root']);
  await assert.rejects(admin.call(at, 'UserAdd', ALICE, ROOT), code(grpc.status.ALREADY_EXISTS));

  // Without a token nothing is served, not even Status.
  await assert.rejects(getWithToken(leader, 'app/x', undefined), code(grpc.status.UNAUTHENTICATED));
  await assert.rejects(cluster.status(leader), code(grpc.status.UNAUTHENTICATED));
  await assert.rejects(connect({ endpoints: [at], auth: { username: 'alice', password: 'wrong' } }), (e: Error) => e instanceof Unauthenticated);

  for (const transport of ['stream', 'unary'] as const) {
    const alice = await connect({ endpoints: cluster.nodes.map((n) => n.address), auth: { username: ALICE.name, password: ALICE.password }, transport });
    t.after(() => alice.close());
    await alice.put('app/x', `v-${transport}`);
    await assert.rejects(alice.put('other/x', 'no'), (e: Error) => e instanceof PermissionDenied && /no WRITE permission on key "other\/x"/.test(e.message));
    for (const mode of ['linearizable', 'read-your-writes', 'any-follower'] as const) {
      assert.equal((await alice.get('app/x', { mode })).kv?.valueString, `v-${transport}`);
      await assert.rejects(alice.get('other/x', { mode }), (e: Error) => e instanceof PermissionDenied, `${transport} ${mode}`);
    }
    assert.ok((await alice.range({ prefix: 'app/' })).kvs.some((kv) => kv.keyString === 'app/x'));
    await assert.rejects(alice.range({ prefix: '' }), (e: Error) => e instanceof PermissionDenied && /outside its roles/.test(e.message));
    const st = await alice.status();
    assert.ok(st.leaderId);
    // A Txn is checked on every key it compares or touches, in both branches.
    const ok = await alice.txn().if(cmp.version('app/x', '>', 0)).then(op.put('app/y', 'txn')).else(op.get('app/x')).commit();
    assert.equal(ok.succeeded, true);
    await assert.rejects(alice.txn().if(cmp.version('app/x', '>', 0)).then(op.put('other/y', 'no')).commit(), (e: Error) => e instanceof PermissionDenied);
    // A watch on keys outside the user's roles is refused, not retried.
    await assert.rejects(
      (async () => {
        for await (const _ of alice.watch({ prefix: 'other/' })) break;
      })(),
      (e: Error) => e instanceof PermissionDenied,
    );
  }

  // Every member enforces it on its own state (follower reads over raw gRPC).
  const aliceToken = await admin.token(at, ALICE.name, ALICE.password);
  for (const n of cluster.nodes) {
    await waitFor(async () => (await getWithToken(n, 'app/x', aliceToken)).kv !== null, 10_000, `${n.id} serves app/x to alice`);
    await assert.rejects(getWithToken(n, 'other/x', aliceToken), code(grpc.status.PERMISSION_DENIED));
  }

  // A token expires; the SDK refreshes its own before that.
  const sdk = await connect({ endpoints: [at], auth: { username: ALICE.name, password: ALICE.password } });
  t.after(() => sdk.close());
  await sdk.put('app/before-expiry', '1');
  await new Promise((r) => setTimeout(r, (TTL_SECONDS + 1) * 1000));
  await assert.rejects(getWithToken(leader, 'app/x', aliceToken), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED && /expired/.test(e.details));
  await sdk.put('app/after-expiry', '2');
  assert.equal((await sdk.get('app/after-expiry')).kv?.valueString, '2');

  // A password change, then a deletion, kill the user's tokens on every member.
  const before = await admin.token(at, ALICE.name, ALICE.password);
  await admin.call(at, 'UserChangePassword', { name: 'alice', password: 'alice-new-Pw3' }, ROOT);
  for (const n of cluster.nodes) await waitFor(() => getWithToken(n, 'app/x', before).then(() => undefined, (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED), 10_000, `${n.id} refuses the old token`);
  const fresh = await admin.token(at, 'alice', 'alice-new-Pw3');
  await admin.call(at, 'UserDelete', { name: 'alice' }, ROOT);
  for (const n of cluster.nodes) await waitFor(() => getWithToken(n, 'app/x', fresh).then(() => undefined, (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED), 10_000, `${n.id} refuses the deleted user's token`);
  await assert.rejects(sdk.put('app/gone', 'x'), (e: Error) => e instanceof Unauthenticated);

  // Secrets never reach the members' logs.
  for (const n of cluster.nodes) {
    const log = n.log();
    for (const secret of [ROOT.password, ALICE.password, 'alice-new-Pw3', aliceToken, fresh]) assert.ok(!log.includes(secret), `${n.id}'s log holds a secret`);
  }

  // Disabling auth (root only) opens everything again.
  await admin.call(at, 'AuthDisable', {}, ROOT);
  await waitFor(async () => (await getWithToken(leader, 'app/x', undefined)).kv !== null, 10_000, 'reads need no token');
});
