import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotLeaderError } from '../src/index.js';
import { TestCluster, enc } from './harness.js';

const three = ['n1', 'n2', 'n3'];

test('leadership transfer to an up-to-date follower via TimeoutNow (§3.10)', () => {
  const c = new TestCluster(three, { checkQuorum: true, preVote: true });
  c.elect('n1');
  const term = c.node('n1').status().term;
  c.node('n1').transferLeadership('n3');
  c.stabilize();
  assert.equal(c.leader(), 'n3');
  assert.equal(c.node('n3').status().term, term + 1);
});

test('a transfer to a lagging follower first catches it up; proposals are refused meanwhile', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.filter = (m) => m.to !== 'n3';
  c.propose('n1', 'a');
  c.stabilize();
  c.heal();
  c.node('n1').transferLeadership('n3');
  assert.throws(
    () => c.node('n1').propose([enc('b')]),
    (e: unknown) => e instanceof NotLeaderError && e.reason === 'transferring' && e.leaderId === 'n3',
  );
  c.stabilize();
  assert.equal(c.leader(), 'n3');
  assert.deepEqual(c.appliedData('n3'), ['a']);
});

test('a transfer request on a follower is forwarded to the leader', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.node('n2').transferLeadership('n2');
  c.stabilize();
  assert.equal(c.leader(), 'n2');
});

test('a transfer that cannot finish is abandoned after an election timeout', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.crash('n3');
  c.node('n1').transferLeadership('n3');
  assert.equal(c.node('n1').status().leadTransferee, 'n3');
  for (let i = 0; i < 12; i++) {
    c.tickAll();
    c.deliver();
  }
  assert.equal(c.node('n1').status().leadTransferee, null);
  c.propose('n1', 'ok');
});
