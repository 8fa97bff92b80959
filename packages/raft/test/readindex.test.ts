import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestCluster, enc } from './harness.js';

const three = ['n1', 'n2', 'n3'];

test('leader ReadIndex: answered with the commit index after a heartbeat quorum (§6.4)', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.propose('n1', 'a');
  c.stabilize();
  const commit = c.node('n1').status().commit;
  c.node('n1').readIndex(enc('r1'));
  c.process();
  assert.deepEqual(c.readStates.get('n1'), [], 'not before the heartbeat round');
  assert.ok(c.queue.some((m) => m.type === 'heartbeat' && m.context !== undefined));
  c.stabilize();
  assert.deepEqual(c.readStates.get('n1'), [{ index: commit, ctx: 'r1' }]);
});

test('a partitioned leader cannot answer a read', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.isolate('n1');
  c.node('n1').readIndex(enc('r1'));
  c.stabilize();
  assert.deepEqual(c.readStates.get('n1'), []);
});

test('follower ReadIndex is forwarded to the leader and answered with its read index', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.propose('n1', 'a');
  c.stabilize();
  c.node('n3').readIndex(enc('f1'));
  c.stabilize();
  assert.deepEqual(c.readStates.get('n3'), [{ index: c.node('n1').status().commit, ctx: 'f1' }]);
});

test('a follower with no known leader reports the read as failed', () => {
  const c = new TestCluster(three);
  const n2 = c.node('n2');
  n2.readIndex(enc('x'));
  const rd = n2.ready();
  assert.deepEqual(
    rd.readStatesFailed.map((b) => new TextDecoder().decode(b)),
    ['x'],
  );
  n2.advance(rd);
});

test('a new leader serves no read before its no-op commits', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.propose('n1', 'a');
  c.stabilize();
  // n2 becomes leader, but its no-op reaches nobody yet.
  c.filter = (m) => !(m.type === 'append');
  c.elect('n2');
  assert.equal(c.node('n2').status().role, 'leader');
  c.node('n2').readIndex(enc('early'));
  c.stabilize();
  assert.deepEqual(c.readStates.get('n2'), [], 'held back');
  c.heal();
  c.tickAll();
  c.stabilize();
  const st = c.node('n2').status();
  assert.equal(c.node('n2').log.term(st.commit), st.term, 'the no-op committed');
  assert.equal(c.readStates.get('n2')!.length, 1);
  assert.ok(c.readStates.get('n2')![0]!.index >= st.commit - 0);
});

test('reads pending on a leader that steps down are reported failed', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.isolate('n1');
  const n1 = c.node('n1');
  n1.readIndex(enc('lost'));
  c.process();
  n1.step({ type: 'heartbeat', from: 'n2', to: 'n1', term: n1.status().term + 1, commit: 0 });
  const rd = n1.ready();
  assert.deepEqual(
    rd.readStatesFailed.map((b) => new TextDecoder().decode(b)),
    ['lost'],
  );
  n1.advance(rd);
});

test('forwarded reads are bounded: beyond maxPendingReads the oldest is reported failed', () => {
  const c = new TestCluster(three, { maxPendingReads: 1 });
  c.elect('n1');
  const n2 = c.node('n2');
  n2.readIndex(enc('old'));
  n2.readIndex(enc('new'));
  const rd = n2.ready();
  assert.deepEqual(
    rd.readStatesFailed.map((b) => new TextDecoder().decode(b)),
    ['old'],
  );
  n2.advance(rd);
});
