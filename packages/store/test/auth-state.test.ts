import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AuthCommand, encodeCommand, type LogEntry, Store } from '../src/index';
import { putEntry, tempDir } from './helpers';

const entry = (index: number, auth: AuthCommand): LogEntry => ({ index, term: 1, type: 'normal', data: encodeCommand({ op: 'auth', auth }) });
const salt = Buffer.alloc(16, 1);
const hash = Buffer.alloc(32, 2);

test('auth commands apply in log order alongside key-value writes, survive a reopen, and refuse what does not apply', async (t) => {
  const dir = tempDir(t);
  let store = await Store.open(dir);
  const { results } = await store.apply([
    entry(1, { kind: 'enable', tokenKey: Buffer.alloc(32, 9) }),
    entry(2, { kind: 'userAdd', name: 'root', salt, hash }),
    entry(3, { kind: 'userGrantRole', name: 'root', role: 'root' }),
    putEntry(4, 'k', 'v'),
    entry(5, { kind: 'enable', tokenKey: Buffer.alloc(32, 7) }),
    entry(6, { kind: 'roleAdd', name: 'app' }),
    entry(7, { kind: 'roleGrantPermission', name: 'app', perm: { type: 'readwrite', start: Buffer.from('app/'), end: Buffer.from('app0') } }),
    entry(8, { kind: 'userAdd', name: 'root', salt, hash }),
  ]);
  assert.match(results.get(1)!.authRefusal ?? '', /before a "root" user holding the "root" role exists/);
  assert.equal(results.get(5)!.succeeded, true);
  assert.equal(results.get(8)!.succeeded, false);
  assert.match(results.get(8)!.authRefusal ?? '', /already exists/);
  assert.equal((await store.get(Buffer.from('k')))?.value.toString(), 'v');
  const check = (s: Store) => {
    const a = s.authState;
    assert.equal(a.enabled, true);
    assert.deepEqual(a.tokenKey, Buffer.alloc(32, 7));
    assert.deepEqual(a.users.get('root')?.roles, ['root']);
    assert.equal(a.users.get('root')?.revision, 2);
    assert.deepEqual(a.roles.get('app'), [{ type: 'readwrite', start: Buffer.from('app/'), end: Buffer.from('app0') }]);
  };
  check(store);
  await store.close();
  store = await Store.open(dir);
  t.after(() => store.close());
  check(store);
  await store.apply([entry(9, { kind: 'userChangePassword', name: 'root', salt, hash: Buffer.alloc(32, 3) }), entry(10, { kind: 'roleDelete', name: 'root' })]);
  assert.equal(store.authState.users.get('root')?.revision, 9, 'a password change moves the revision, so older tokens die');
  assert.ok(store.authState.roles.has('root'), 'the root role stays while auth is enabled');
});

test('the auth state travels in a state snapshot', async (t) => {
  const leader = await Store.open(tempDir(t));
  const follower = await Store.open(tempDir(t));
  t.after(async () => {
    await leader.close();
    await follower.close();
  });
  await leader.apply([entry(1, { kind: 'userAdd', name: 'alice', salt, hash }), entry(2, { kind: 'roleAdd', name: 'app' }), entry(3, { kind: 'userGrantRole', name: 'alice', role: 'app' })]);
  const reader = leader.snapshotReader();
  const installer = await follower.beginSnapshotInstall();
  for await (const chunk of reader.chunks()) await installer.write(chunk);
  assert.equal(await installer.finish(reader.appliedIndex, {}), true);
  assert.deepEqual(follower.authState.users.get('alice')?.roles, ['app']);
  assert.ok(follower.authState.roles.has('app'));
});
