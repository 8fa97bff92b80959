import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppendMsg, Message } from '../src/index.js';
import { TestCluster } from './harness.js';

const three = ['n1', 'n2', 'n3'];
const appendsTo = (queue: Message[], to: string) => queue.filter((m): m is AppendMsg => m.type === 'append' && m.to === to);

/** Delivers the queued messages one round at a time, recording every message sent. */
function stabilizeRecording(c: TestCluster): Message[] {
  const seen: Message[] = [];
  for (let round = 0; round < 100; round++) {
    c.process();
    if (c.queue.length === 0) break;
    seen.push(...c.queue);
    c.deliver();
  }
  return seen;
}

test('the commit index of a write reaches followers on a commit-only append, which they do not answer', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.stabilize();
  const { firstIndex } = c.propose('n1', 'x');
  const seen = stabilizeRecording(c);
  for (const f of ['n2', 'n3']) {
    const appends = appendsTo(seen, f);
    assert.equal(appends.length, 2, `n1 sends ${f} the entry, then its commit`);
    assert.equal(appends[0]!.entries.length, 1);
    assert.ok(!appends[0]!.commitOnly, 'an append carrying entries is answered');
    assert.equal(appends[1]!.entries.length, 0);
    assert.equal(appends[1]!.commit, firstIndex);
    assert.equal(appends[1]!.commitOnly, true);
    const answers = seen.filter((m) => m.type === 'appendResp' && m.from === f);
    assert.equal(answers.length, 1, `${f} answers the entry only, not the commit-only append`);
    assert.equal(c.node(f).status().commit, firstIndex, `${f} learned the commit index`);
    assert.deepEqual(c.appliedData(f), c.appliedData('n1'));
  }
});

test('the commit index rides on the next append that carries entries (still answered)', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.stabilize();
  const first = c.propose('n1', 'a');
  // The followers store `a`; their answers reach n1, which commits it.
  c.process();
  c.deliver();
  c.process();
  c.deliver();
  c.process();
  assert.equal(c.node('n1').status().commit, first.firstIndex);
  // The commit-only appends are lost; the next write's append carries the commit.
  c.queue = c.queue.filter((m) => !(m.type === 'append' && m.commitOnly));
  c.propose('n1', 'b');
  const next = appendsTo(c.queue, 'n2');
  assert.equal(next.length, 1);
  assert.equal(next[0]!.entries.length, 1);
  assert.equal(next[0]!.commit, first.firstIndex);
  assert.ok(!next[0]!.commitOnly);
  c.deliver();
  c.process();
  assert.equal(c.node('n2').status().commit, first.firstIndex, 'n2 learned the earlier commit from the new append');
  assert.ok(c.queue.some((m) => m.type === 'appendResp' && m.from === 'n2'), 'n2 answers the append carrying entries');
});

test('a follower still answers a commit-only append it must reject', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.stabilize();
  const n2 = c.node('n2');
  const st = n2.status();
  // An append claiming an entry n2 does not hold (a leader whose view of n2 is wrong).
  n2.step({ type: 'append', from: 'n1', to: 'n2', term: st.term, index: st.lastIndex + 5, logTerm: st.term, entries: [], commit: st.commit, commitOnly: true });
  const rd = n2.ready();
  const answers = rd.messagesAfterPersist.filter((m) => m.type === 'appendResp');
  assert.equal(answers.length, 1);
  assert.equal(answers[0]!.type === 'appendResp' && answers[0]!.reject, true);
  n2.advance(rd);
});

test('an empty append to a follower the leader is still probing is not commit-only (the probe needs its answer)', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.stabilize();
  c.node('n1').reportUnreachable('n2');
  c.tick('n1');
  c.process();
  // A heartbeat answer makes the leader probe n2 again; that append must be answered.
  c.node('n1').step({ type: 'heartbeatResp', from: 'n2', to: 'n1', term: c.node('n1').status().term });
  c.node('n1').propose([new Uint8Array([1])]);
  const rd = c.node('n1').ready();
  for (const m of rd.messages) if (m.type === 'append' && m.to === 'n2') assert.ok(!m.commitOnly, 'no commit-only append to a probed follower');
  c.node('n1').advance(rd);
});
