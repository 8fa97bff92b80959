import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LEADER_ADDRESS_METADATA, LEADER_ID_METADATA } from '@bellwether/proto';
import { status } from '@grpc/grpc-js';
import { toServiceError } from '../src/errors';
import { NotLeader, Overloaded, Unavailable } from '../src/replica-errors';

const leader = { id: 'n2', address: '127.0.0.1:7002' };

function hint(err: ReturnType<typeof toServiceError>): [string | undefined, string | undefined] {
  return [err.metadata?.get(LEADER_ID_METADATA)[0]?.toString(), err.metadata?.get(LEADER_ADDRESS_METADATA)[0]?.toString()];
}

test('NotLeader with a known leader is FAILED_PRECONDITION naming it in the message and the metadata', () => {
  const e = toServiceError(new NotLeader('n1', leader));
  assert.equal(e.code, status.FAILED_PRECONDITION);
  assert.equal(e.details, 'member n1 is not the leader; send writes to leader n2 at 127.0.0.1:7002');
  assert.deepEqual(hint(e), ['n2', '127.0.0.1:7002']);
});

test('NotLeader with no leader known is UNAVAILABLE, without a hint', () => {
  const e = toServiceError(new NotLeader('n1', undefined));
  assert.equal(e.code, status.UNAVAILABLE);
  assert.match(e.details!, /no leader is known yet; retry shortly/);
  assert.deepEqual(hint(e), [undefined, undefined]);
});

test('Overloaded is RESOURCE_EXHAUSTED; Unavailable is UNAVAILABLE with the leader hint when there is one', () => {
  const busy = toServiceError(new Overloaded('member n1: 10 writes already pending; back off and retry'));
  assert.equal(busy.code, status.RESOURCE_EXHAUSTED);
  assert.equal(busy.details, 'member n1: 10 writes already pending; back off and retry');
  const lost = toServiceError(new Unavailable('leadership changed before the write committed; it was not applied — retry', leader));
  assert.equal(lost.code, status.UNAVAILABLE);
  assert.deepEqual(hint(lost), ['n2', '127.0.0.1:7002']);
  assert.deepEqual(hint(toServiceError(new Unavailable('member n1 is shutting down'))), [undefined, undefined]);
});

test('anything else the node throws is INTERNAL with its message', () => {
  const e = toServiceError(new Error('disk on fire'));
  assert.equal(e.code, status.INTERNAL);
  assert.equal(e.details, 'disk on fire');
});
