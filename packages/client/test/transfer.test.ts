// client.transferLeadership against fake members: sent to the leader, the
// request carries the target, errors come back typed, and the client follows
// the new leader.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { BellwetherError, InvalidArgument, NotFound, StatusCode } from '../src/index';
import { settled, until, withCluster } from './helpers/setup';

const t = withCluster(3);

test('transferLeadership goes to the leader, names the target, and the client follows the new leader', async () => {
  await settled(t.client, 3, 'm1');
  const result = await t.client.transferLeadership('m3');
  assert.equal(result.leaderId, 'm3');
  assert.equal(result.leaderAddress, t.cluster.member('m3').address);
  assert.equal(result.term, t.cluster.group.term);
  assert.equal(t.cluster.member('m1').calls.get('TransferLeadership'), 1, 'sent to the leader at once');
  await until(() => t.client.cluster().leader?.id === 'm3', 'the client follows m3');
  await t.client.put('after-transfer', 'v');
  assert.ok(t.cluster.member('m3').requests.Put.some((r) => r.key.toString() === 'after-transfer'));
});

test('transferLeadership: an unknown member is NOT_FOUND, an empty id is refused before sending', async () => {
  await until(() => t.client.cluster().leader?.reachable, 'a leader is known');
  const err = await t.client.transferLeadership('nobody').catch((e: unknown) => e);
  assert.ok(err instanceof BellwetherError, String(err));
  assert.equal(err.code, StatusCode.NOT_FOUND);
  await assert.rejects(t.client.transferLeadership(''), InvalidArgument);
});

test('removeMember retried after its lost answer resolves with the members (the retry\'s NOT_FOUND is the first attempt\'s own effect)', async () => {
  await settled(t.client, 3, t.cluster.group.leaderId!);
  const leader = t.cluster.group.leader!;
  const id = t.cluster.group.members.find((m) => m !== leader)!.memberId;
  leader.fail('RemoveMember', { kind: 'apply-then-status', code: grpc.status.UNAVAILABLE });
  const members = await t.client.removeMember(id);
  assert.deepEqual(members.map((m) => m.id).sort(), t.cluster.group.members.filter((m) => m.memberId !== id).map((m) => m.memberId).sort());
  assert.equal(leader.calls.get('RemoveMember'), 2, 'sent twice: the lost answer, then the retry');
  // A member that never existed still fails: nothing was sent before the refusal.
  await assert.rejects(t.client.removeMember('nobody'), NotFound);
  t.cluster.group.removed.clear();
});
