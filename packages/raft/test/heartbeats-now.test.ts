import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../src/index.js';
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

test('answerHeartbeatNow: a follower waiting on its persist answers its leader at once, once, and still takes the commit', () => {
  const c = new TestCluster(three, { checkQuorum: true });
  c.elect('n1');
  c.propose('n1', 'a');
  c.stabilize();
  const follower = c.node('n2');
  // n2 gets an append and starts persisting it; a heartbeat with a read context arrives meanwhile.
  c.node('n1').propose([enc('b')]);
  c.process();
  for (const m of c.queue.filter((m) => m.to === 'n2')) follower.step(m);
  c.queue = c.queue.filter((m) => m.to !== 'n2');
  const rd = follower.ready();
  assert.ok(rd.entries.length > 0, 'n2 has entries to persist');
  const before = follower.status();
  const heartbeat: Message = { type: 'heartbeat', from: 'n1', to: 'n2', term: before.term, commit: before.commit, context: enc('read-1') };
  const answer = follower.answerHeartbeatNow(heartbeat);
  assert.deepEqual(answer, { type: 'heartbeatResp', from: 'n2', to: 'n1', term: before.term, context: enc('read-1') });
  assert.deepEqual(follower.status(), before, 'answering changes no Raft state');
  // Stepped later, it moves the commit but is not answered a second time.
  follower.step(heartbeat);
  follower.advance(rd);
  const answers: Message[] = [];
  while (follower.hasReady()) {
    const next = follower.ready();
    answers.push(...next.messages, ...next.messagesAfterPersist);
    follower.advance(next);
  }
  assert.deepEqual(answers.filter((m) => m.type === 'heartbeatResp'), []);
  // Only a follower answers, only its leader, only in its term.
  assert.equal(c.node('n1').answerHeartbeatNow({ ...heartbeat, from: 'n2', to: 'n1' }), undefined, 'a leader does not');
  assert.equal(follower.answerHeartbeatNow({ ...heartbeat, from: 'n3' }), undefined, 'not from a member other than the leader');
  assert.equal(follower.answerHeartbeatNow({ ...heartbeat, term: before.term + 1 }), undefined, 'not from a newer term (it must be persisted first)');
  assert.equal(follower.answerHeartbeatNow({ ...heartbeat, type: 'append', index: 0, logTerm: 0, entries: [] } as Message), undefined, 'only heartbeats');
  c.stabilize();
  assert.equal(follower.status().commit, c.node('n1').status().commit);
});
