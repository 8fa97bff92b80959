import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDefinition, loadPublicApi, PUBLIC_PROTO_FILES, ReadMode } from '../src/index';

test('the public services load with the documented names', () => {
  const api = loadPublicApi();
  const kv = Object.keys(api.bellwether.kv.v1.KV.service).sort();
  assert.deepEqual(kv, ['Delete', 'Get', 'Put', 'Range', 'Stream', 'Txn', 'Watch']);
  const lease = Object.keys(api.bellwether.lease.v1.Lease.service).sort();
  assert.deepEqual(lease, ['Grant', 'KeepAlive', 'List', 'Revoke', 'TimeToLive']);
  const cluster = Object.keys(api.bellwether.cluster.v1.Cluster.service).sort();
  assert.deepEqual(cluster, ['AddMember', 'Members', 'PromoteMember', 'RemoveMember', 'Status', 'TransferLeadership', 'WatchLeader']);
  const auth = Object.keys(api.bellwether.auth.v1.Auth.service).sort();
  assert.deepEqual(auth, [
    'AuthDisable',
    'AuthEnable',
    'AuthStatus',
    'Authenticate',
    'RoleAdd',
    'RoleDelete',
    'RoleGet',
    'RoleGrantPermission',
    'RoleList',
    'RoleRevokePermission',
    'UserAdd',
    'UserChangePassword',
    'UserDelete',
    'UserGet',
    'UserGrantRole',
    'UserList',
    'UserRevokeRole',
  ]);
});

test('messages round-trip with the loader options every process uses', () => {
  const def = loadDefinition(PUBLIC_PROTO_FILES);
  const put = def['bellwether.kv.v1.PutRequest'];
  assert.ok(put && 'serialize' in put);
  const svc = def['bellwether.kv.v1.KV'] as unknown as Record<string, { requestSerialize(v: unknown): Buffer; requestDeserialize(b: Buffer): unknown }>;
  const method = svc['Put'];
  assert.ok(method);
  const bytes = method.requestSerialize({ key: Buffer.from('k'), value: Buffer.from('v'), sequence: 7 });
  const back = method.requestDeserialize(bytes) as Record<string, unknown>;
  assert.deepEqual(back['key'], Buffer.from('k'));
  assert.equal(back['sequence'], 7);
  // The one-field oneof `compare`: unset stays distinguishable from 0.
  assert.equal(back['expectedModRevision'], undefined);
  const withZero = method.requestDeserialize(method.requestSerialize({ key: Buffer.from('k'), expectedModRevision: 0 })) as Record<string, unknown>;
  assert.equal(withZero['expectedModRevision'], 0);
  assert.equal(ReadMode.READ_MODE_LINEARIZABLE, 'READ_MODE_LINEARIZABLE');
});
