import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writer } from '@bellwether/store';
import { admitPeer, checkExpectedIncarnation, decodeIncarnations, encodeIncarnations, recordIncarnations } from '../src/incarnation';
import { decodeMembers, encodeMembers, type MemberInfo } from '../src/membership';

const m = (id: string, incarnation = '', voter = true): MemberInfo => ({ id, address: `127.0.0.1:700${id.slice(1)}`, voter, incarnation });

test('a new cluster (nothing recorded) counts every member as it first presents itself', () => {
  assert.deepEqual(admitPeer([m('n1'), m('n2')], 'n1', 'n2', 'aaaa'), { kind: 'count' });
});

test('the recorded incarnation counts; any other is refused with the replace procedure', () => {
  const members = [m('n1', 'i1'), m('n2', 'i2')];
  assert.deepEqual(admitPeer(members, 'n1', 'n2', 'i2'), { kind: 'count' });
  for (const presented of ['other', '']) {
    const a = admitPeer(members, 'n1', 'n2', presented);
    assert.equal(a.kind, 'refuse');
    assert.match(a.kind === 'refuse' ? a.reason : '', /member n1 refuses n2: the cluster knows n2 as incarnation i2.*RemoveMember\(id: "n2"\).*AddMember\(id: "n2", peer_address: "127\.0\.0\.1:7002"\).*--initial-cluster-state existing/);
  }
  assert.equal(admitPeer(members, 'n1', 'n9', 'x').kind, 'refuse', 'not a member');
});

test('an unrecorded voter, once others are recorded, is listened to but its votes and acks do not count', () => {
  const members = [m('n1', 'i1'), m('n2', 'i2'), m('n3')];
  assert.deepEqual(admitPeer(members, 'n1', 'n3', 'i3'), { kind: 'listen' });
  assert.deepEqual(admitPeer([...members.slice(0, 2), m('n3', '', false)], 'n1', 'n3', 'i3'), { kind: 'count' }, 'a learner never counts anyway');
});

test('a member learns it is refused when a peer expects another incarnation of it', () => {
  assert.equal(checkExpectedIncarnation([m('n2', 'i2')], 'n2', 'i2', 'n1', 'i2'), undefined);
  assert.match(checkExpectedIncarnation([m('n2', 'i2')], 'n2', 'new', 'n1', 'i2') ?? '', /member n2 \(this process\) is refused by n1/);
});

test('a record only fills an unrecorded member; replacing needs remove and add', () => {
  const members = new Map([['n1', m('n1', 'i1')], ['n2', m('n2')]]);
  recordIncarnations(members, decodeIncarnations(encodeIncarnations({ n1: 'x', n2: 'i2', n9: 'y' })));
  assert.equal(members.get('n1')?.incarnation, 'i1');
  assert.equal(members.get('n2')?.incarnation, 'i2');
  assert.equal(members.has('n9'), false);
  assert.deepEqual(decodeIncarnations(Buffer.from('not json')), {});
});

test('the membership encoding carries incarnations and still reads the older encoding without them', () => {
  const list = [m('n1', 'i1'), m('n2', '', false)];
  assert.deepEqual(decodeMembers(encodeMembers(list)), list);
  const old = new Writer().uint(1).string('n1').string('127.0.0.1:7001').bool(true).finish();
  assert.deepEqual(decodeMembers(old), [{ id: 'n1', address: '127.0.0.1:7001', voter: true, incarnation: '' }]);
});
