import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AppendMsg, type Message, NotLeaderError } from '../src/index.js';
import { TestCluster, enc } from './harness.js';

const three = ['n1', 'n2', 'n3'];

test('propose appends all items as consecutive entries in one batch and returns the first index', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  const last = c.node('n1').status().lastIndex;
  const r = c.propose('n1', 'a', 'b', 'c');
  assert.equal(r.firstIndex, last + 1);
  assert.equal(c.node('n1').status().lastIndex, last + 3);
  const appends = c.queue.filter((m): m is AppendMsg => m.type === 'append' && m.to === 'n2');
  assert.equal(appends.length, 1, 'one append message carries the batch');
  assert.deepEqual(
    appends[0]!.entries.map((e) => e.index),
    [last + 1, last + 2, last + 3],
  );
});

test('a follower refuses proposals with NotLeaderError naming the leader', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  assert.throws(
    () => c.node('n2').propose([enc('x')]),
    (e: unknown) => e instanceof NotLeaderError && e.leaderId === 'n1',
  );
});

test('messages of a Ready are only those whose entries are in the same or an earlier Ready', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  const n1 = c.node('n1');
  n1.propose([enc('x')]);
  const rd = n1.ready();
  const maxSent = Math.max(...rd.messages.filter((m): m is AppendMsg => m.type === 'append').flatMap((m) => m.entries.map((e) => e.index)));
  assert.ok(rd.entries.some((e) => e.index === maxSent), 'the entry sent is persisted by the same Ready');
  assert.equal(rd.mustSync, true);
  n1.advance(rd);
});

test('the leader counts its own entry toward commit only once it is persisted (advance)', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  const n1 = c.node('n1');
  const { firstIndex } = n1.propose([enc('x')]);
  const rd = n1.ready();
  assert.ok(rd.entries.some((e) => e.index === firstIndex));
  assert.ok(rd.messages.some((m) => m.type === 'append'), "the leader's appends may leave before its own write");
  // n2's acknowledgement arrives while n1's own write is still in flight.
  n1.step({ type: 'appendResp', from: 'n2', to: 'n1', term: n1.status().term, index: firstIndex, reject: false, rejectHint: 0, logTerm: 0 });
  assert.ok(n1.status().commit < firstIndex, 'one durable copy of three is not a majority');
  n1.advance(rd);
  assert.equal(n1.status().commit, firstIndex, 'its own durable copy makes two');
});

test('append responses and vote grants wait for the persist; appends and heartbeats do not', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  const n2 = c.node('n2');
  const term = n2.status().term;
  const last = n2.status().lastIndex;
  n2.step({ type: 'append', from: 'n1', to: 'n2', term, index: last, logTerm: n2.log.lastTerm(), commit: last, entries: [{ index: last + 1, term, type: 'normal', data: enc('y') }] });
  n2.step({ type: 'heartbeat', from: 'n1', to: 'n2', term, commit: last });
  const rd = n2.ready();
  assert.deepEqual(rd.messagesAfterPersist.map((m) => m.type), ['appendResp']);
  assert.deepEqual(rd.messages.map((m) => m.type), ['heartbeatResp']);
  n2.advance(rd);
});

test('commit needs a majority: with both followers cut off nothing commits, one follower suffices', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  const before = c.node('n1').status().commit;
  c.filter = (m) => m.from !== 'n1';
  c.propose('n1', 'x');
  c.stabilize();
  assert.equal(c.node('n1').status().commit, before);
  c.filter = (m) => m.to !== 'n3' && m.from !== 'n3';
  c.tickAll();
  c.stabilize();
  assert.equal(c.node('n1').status().commit, before + 1);
  assert.deepEqual(c.appliedData('n1'), ['x']);
});

/** n1 leads with a window of 3 one-entry appends per follower, and has 10 entries to send. */
function windowOfThree(): TestCluster {
  const c = new TestCluster(three, { maxInflightMsgs: 3, maxSizePerMsgBytes: 1, maxInflightBytes: 1 << 20 });
  c.elect('n1');
  assert.equal(c.node('n1').status().progress!['n2']!.state, 'replicate');
  for (let i = 0; i < 10; i++) c.node('n1').propose([enc(`e${i}`)]);
  c.process();
  return c;
}

test('pipelining: a follower in replicate state has several appends in flight, bounded by maxInflightMsgs', () => {
  const c = windowOfThree();
  const toN2 = c.queue.filter((m) => m.type === 'append' && m.to === 'n2');
  assert.equal(toN2.length, 3, 'three one-entry appends, then the window is full');
  assert.equal(c.node('n1').status().progress!['n2']!.inflight, 3);
  c.stabilize();
  const st = c.node('n1').status();
  assert.equal(st.progress!['n2']!.match, st.lastIndex);
  assert.equal(st.progress!['n2']!.inflight, 0);
  assert.equal(c.appliedData('n3').length, 10);
});

/** A leader whose window to n2 (3 one-entry appends) is full, those appends taken off the wire. */
function fullWindowToN2(): { c: TestCluster; held: Message[] } {
  const c = windowOfThree();
  const held = c.queue.filter((m) => m.type === 'append' && m.to === 'n2');
  c.queue = c.queue.filter((m) => !held.includes(m));
  assert.equal(held.length, 3);
  return { c, held };
}

test('heartbeat answers do not widen a full window: the leader asks with an empty append whether its appends arrived', () => {
  // n2 answers heartbeats while its appends are still on their way (or on their way to its disk).
  const { c, held } = fullWindowToN2();
  const asked: AppendMsg[] = [];
  c.filter = (m) => {
    if (m.type !== 'append' || m.to !== 'n2') return true;
    asked.push(m);
    return false;
  };
  for (let i = 0; i < 5; i++) {
    c.tick('n1');
    c.stabilize();
  }
  assert.ok(asked.length > 0, 'the leader asked n2 about its window');
  assert.deepEqual(
    asked.filter((m) => m.entries.length > 0).map((m) => m.entries.map((e) => e.index)),
    [],
    'no entries past the window while its appends go unanswered',
  );
  assert.equal(c.node('n1').status().progress!['n2']!.inflight, 3);
  // The appends arrive, then the question: its answer frees the window and the rest follows.
  c.filter = () => true;
  for (const m of [...held, ...asked]) c.node('n2').step(m);
  c.stabilize();
  const st = c.node('n1').status();
  assert.equal(st.progress!['n2']!.match, st.lastIndex);
  assert.equal(st.progress!['n2']!.inflight, 0);
  assert.equal(c.appliedData('n2').length, 10);
});

test('a window of appends lost without a word: the empty append is refused and the leader sends them again', () => {
  const { c } = fullWindowToN2();
  c.tick('n1');
  c.stabilize();
  const st = c.node('n1').status();
  assert.equal(st.progress!['n2']!.match, st.lastIndex);
  assert.equal(c.appliedData('n2').length, 10);
});

test('fast backtracking: a follower with a long divergent tail is repaired in a few round trips (§5.3)', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  // n1 writes 50 entries nobody receives, then loses leadership.
  c.filter = (m) => m.from !== 'n1' && m.to !== 'n1';
  for (let i = 0; i < 50; i++) c.propose('n1', `lost${i}`);
  c.stabilize();
  c.elect('n2');
  for (let i = 0; i < 5; i++) c.propose('n2', `kept${i}`);
  c.stabilize();
  c.heal();
  // Count the rejections n1 sends while being repaired.
  let rejects = 0;
  c.filter = (m: Message) => {
    if (m.type === 'appendResp' && m.from === 'n1' && m.reject) rejects++;
    return true;
  };
  c.tickAll();
  c.stabilize();
  assert.ok(rejects <= 2, `needed ${rejects} rejections for a 50-entry conflict`);
  assert.deepEqual(c.appliedData('n1'), ['kept0', 'kept1', 'kept2', 'kept3', 'kept4']);
  assert.equal(c.node('n1').status().lastIndex, c.node('n2').status().lastIndex);
});

test('progress states: probe after a rejection, replicate after a match', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.crash('n3');
  for (let i = 0; i < 3; i++) c.propose('n1', `x${i}`);
  c.stabilize();
  c.restart('n3');
  c.elect('n2');
  const pr = c.node('n2').status().progress!;
  assert.equal(pr['n1']!.state, 'replicate');
  assert.equal(pr['n3']!.state, 'replicate');
  assert.equal(pr['n3']!.match, c.node('n2').status().lastIndex);
});

test('the in-flight window is also bounded by bytes', () => {
  const c = new TestCluster(three, { maxInflightMsgs: 100, maxSizePerMsgBytes: 1, maxInflightBytes: 60 });
  c.elect('n1');
  for (let i = 0; i < 10; i++) c.node('n1').propose([enc(`e${i}`)]);
  c.process();
  // Each one-entry append is ~26 bytes: the third one reaches the 60-byte budget.
  assert.equal(c.queue.filter((m) => m.type === 'append' && m.to === 'n2').length, 3);
  c.stabilize();
  assert.equal(c.appliedData('n2').length, 10);
});

test('reportUnreachable moves a replicating follower back to probe', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.node('n1').reportUnreachable('n2');
  assert.equal(c.node('n1').status().progress!['n2']!.state, 'probe');
});

test('a crashed follower loses only unpersisted state and catches up after restart', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.propose('n1', 'a');
  c.stabilize();
  // n3 receives 'b' but crashes before its Ready is processed: nothing of it is on disk.
  c.propose('n1', 'b');
  c.process();
  const toN3 = c.queue.filter((m) => m.to === 'n3');
  c.queue = c.queue.filter((m) => m.to !== 'n3');
  for (const m of toN3) c.node('n3').step(m);
  c.crash('n3');
  c.stabilize();
  c.restart('n3');
  assert.deepEqual(c.appliedData('n3'), ['a']);
  c.tickAll();
  c.stabilize();
  assert.deepEqual(c.appliedData('n3'), ['a', 'b']);
});
