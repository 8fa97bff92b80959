import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestCluster, enc } from './harness.js';

const three = ['n1', 'n2', 'n3'];

test('heartbeatsNow: a leader waiting on its own persist can still reach its followers, and nothing else changes', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.propose('n1', 'a');
  c.stabilize();
  const leader = c.node('n1');
  leader.propose([enc('b')]);
  const rd = leader.ready(); // the append is out, its persist "in flight"
  const before = leader.status();
  const heartbeats = leader.heartbeatsNow();
  assert.deepEqual(heartbeats.map((m) => m.to).sort(), ['n2', 'n3']);
  for (const m of heartbeats) {
    assert.equal(m.type, 'heartbeat');
    assert.equal(m.from, 'n1');
    assert.equal(m.term, before.term);
    assert.ok(m.type === 'heartbeat' && m.commit <= before.commit && m.context === undefined);
  }
  assert.deepEqual(leader.status(), before, 'no state of the leader changed');
  for (const m of heartbeats) c.node(m.to).step(m);
  for (const id of ['n2', 'n3']) assert.equal(c.node(id).softState().leaderId, 'n1');
  assert.deepEqual(c.node('n2').heartbeatsNow(), [], 'a follower sends none');
  leader.advance(rd);
  c.stabilize();
  assert.equal(c.node('n3').status().commit, leader.status().commit);
});
