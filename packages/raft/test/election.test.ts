import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, type Message, type RaftConfig, RawNode } from '../src/index.js';
import { TestCluster, seededRandom } from './harness.js';

const three = ['n1', 'n2', 'n3'];
/** Index, term and type of the conf entries a founder of `three` starts with. */
const BOOTSTRAP_ENTRIES = [
  [1, 1, 'conf'],
  [2, 1, 'conf'],
  [3, 1, 'conf'],
];

function baseConfig(over: Partial<RaftConfig> = {}): RaftConfig {
  return {
    id: 'n1',
    electionTimeoutTicks: 10,
    heartbeatTicks: 1,
    random: seededRandom(1),
    preVote: false,
    checkQuorum: false,
    maxInflightMsgs: 4,
    maxSizePerMsgBytes: 1024,
    initial: { hardState: { term: 0, vote: null, commit: 0 }, config: { voters: three, learners: [] }, entries: [] },
    ...over,
  };
}

describe('configuration is validated at construction', () => {
  const cases: Array<[string, Partial<RaftConfig>]> = [
    ['heartbeat >= election timeout', { heartbeatTicks: 10 }],
    ['empty id', { id: '' }],
    ['zero inflight', { maxInflightMsgs: 0 }],
    ['check-quorum window shorter than the election timeout', { checkQuorumTicks: 9 }],
    ['not a member when bootstrapping', { id: 'n9' }],
    [
      'commit beyond last index',
      { initial: { hardState: { term: 2, vote: null, commit: 5 }, config: { voters: [], learners: [] }, entries: [] } },
    ],
    [
      'non-contiguous entries',
      {
        initial: {
          hardState: { term: 2, vote: null, commit: 0 },
          config: { voters: [], learners: [] },
          entries: [
            { index: 1, term: 1, type: 'noop', data: new Uint8Array() },
            { index: 3, term: 1, type: 'noop', data: new Uint8Array() },
          ],
        },
      },
    ],
    ['voter listed twice', { initial: { hardState: { term: 0, vote: null, commit: 0 }, config: { voters: ['n1', 'n1'], learners: [] }, entries: [] } }],
  ];
  for (const [name, over] of cases) {
    test(name, () => assert.throws(() => new RawNode(baseConfig(over)), ConfigError));
  }
  test('a valid config passes validate()', () => {
    const n = new RawNode(baseConfig());
    n.validate();
  });
});

test('bootstrap: the initial membership becomes committed conf entries 1..k of term 1', () => {
  const n = new RawNode(baseConfig());
  const rd = n.ready();
  assert.deepEqual(
    rd.entries.map((e) => [e.index, e.term, e.type]),
    BOOTSTRAP_ENTRIES,
  );
  assert.deepEqual(rd.hardState, { term: 1, vote: null, commit: 3 });
  assert.equal(rd.committedEntries.length, 3);
  n.advance(rd);
  assert.equal(n.status().applied, 3);
});

test('a bootstrap whose first write a crash tore (only conf entry 1 on disk) is redone: the founder does not restart as a cluster of itself', () => {
  const first = new RawNode(baseConfig()).ready();
  // What a torn append leaves: the hard state (written first) and the first entry; the commit clamped to the log's end.
  const torn = new RawNode(baseConfig({ initial: { hardState: { term: 1, vote: null, commit: 1 }, config: { voters: three, learners: [] }, entries: first.entries.slice(0, 1) } }));
  const rd = torn.ready();
  assert.deepEqual(
    rd.entries.map((e) => [e.index, e.term, e.type]),
    BOOTSTRAP_ENTRIES,
  );
  assert.deepEqual(rd.hardState, { term: 1, vote: null, commit: 3 });
  torn.advance(rd);
  assert.deepEqual([...torn.status().config.voters].sort(), three);
  // Alone, it cannot win: an election needs a second vote.
  for (let i = 0; i < 40; i++) torn.tick();
  assert.notEqual(torn.status().role, 'leader');

  // A log that went on past the bootstrap (a vote cast) is a restart like any other.
  const voted = new RawNode(baseConfig({ initial: { hardState: { term: 2, vote: 'n2', commit: 1 }, config: { voters: three, learners: [] }, entries: first.entries.slice(0, 1) } }));
  assert.equal(voted.status().term, 2);
  assert.deepEqual(voted.ready().entries, []);
});

test('randomised election timeout lies in [T, 2T) and a follower campaigns after it (§5.2)', () => {
  for (let seed = 1; seed < 30; seed++) {
    const n = new RawNode(baseConfig({ random: seededRandom(seed) }));
    let ticks = 0;
    while (n.status().role === 'follower') {
      n.tick();
      ticks++;
      assert.ok(ticks < 20, 'campaigned before 2T');
    }
    assert.ok(ticks >= 10, `campaigned after ${ticks} ticks, before T`);
    assert.equal(n.status().role, 'candidate');
    assert.equal(n.status().term, 2);
  }
});

describe('vote granting (§5.2, §5.4.1) as a table', () => {
  // The voter's log: bootstrap entries 1..3 (term 1) plus a noop at 4 of term 2.
  const rows: Array<{ name: string; logTerm: number; index: number; term: number; grant: boolean }> = [
    { name: 'candidate with a higher last term wins', logTerm: 3, index: 2, term: 5, grant: true },
    { name: 'same last term and longer log wins', logTerm: 2, index: 5, term: 5, grant: true },
    { name: 'same last term and equal length wins', logTerm: 2, index: 4, term: 5, grant: true },
    { name: 'same last term but shorter log loses', logTerm: 2, index: 3, term: 5, grant: false },
    { name: 'lower last term loses however long', logTerm: 1, index: 100, term: 5, grant: false },
    { name: 'stale term is ignored (no grant)', logTerm: 9, index: 9, term: 1, grant: false },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const c = new TestCluster(three);
      c.elect('n1');
      c.stabilize();
      const n2 = c.node('n2');
      assert.equal(n2.log.lastTerm(), 2);
      n2.step({ type: 'vote', from: 'n3', to: 'n2', term: row.term, logTerm: row.logTerm, index: row.index });
      const rd = n2.ready();
      assert.equal(rd.messages.find((m) => m.type === 'voteResp'), undefined, 'a vote response waits for the persist');
      const resp = rd.messagesAfterPersist.find((m) => m.type === 'voteResp');
      if (row.grant) {
        assert.equal(resp?.type === 'voteResp' && resp.reject, false);
        assert.equal(rd.hardState?.vote, 'n3', 'the vote is persisted with the response');
      } else assert.ok(resp === undefined || (resp.type === 'voteResp' && resp.reject));
      n2.advance(rd);
    });
  }
  test('one vote per term: a second candidate in the same term is refused', () => {
    const n = new RawNode(baseConfig({ id: 'n2' }));
    n.advance(n.ready());
    n.step({ type: 'vote', from: 'n1', to: 'n2', term: 2, logTerm: 1, index: 3 });
    n.step({ type: 'vote', from: 'n3', to: 'n2', term: 2, logTerm: 1, index: 3 });
    const msgs = n.ready().messagesAfterPersist as Message[];
    assert.deepEqual(
      msgs.map((m) => [m.to, m.type === 'voteResp' && m.reject]),
      [
        ['n1', false],
        ['n3', true],
      ],
    );
  });
});

test('a leader appends a no-op entry of its term on election', () => {
  const c = new TestCluster(three);
  c.elect('n2');
  const st = c.node('n2').status();
  assert.equal(st.role, 'leader');
  const last = c.node('n2').log.entry(st.lastIndex)!;
  assert.equal(last.type, 'noop');
  assert.equal(last.term, st.term);
  assert.equal(st.commit, st.lastIndex, 'the no-op commits once a majority has it');
});

test('pre-vote: a partitioned node does not inflate terms and does not disrupt the leader on rejoin (§9.6)', () => {
  const c = new TestCluster(three, { preVote: true, checkQuorum: false });
  c.elect('n1');
  const term = c.node('n1').status().term;
  c.isolate('n3');
  for (let i = 0; i < 100; i++) {
    c.tickAll();
    c.deliver();
  }
  assert.equal(c.node('n3').status().term, term, 'pre-votes failed, so the term stayed');
  assert.equal(c.node('n3').status().role, 'preCandidate');
  c.heal();
  for (let i = 0; i < 5; i++) {
    c.tickAll();
    c.deliver();
  }
  assert.equal(c.leader(), 'n1');
  assert.equal(c.node('n1').status().term, term);
  assert.equal(c.node('n3').status().leaderId, 'n1');
});

test('without pre-vote, the same partition bumps the term and deposes the leader', () => {
  const c = new TestCluster(three, { preVote: false, checkQuorum: false });
  c.elect('n1');
  const term = c.node('n1').status().term;
  c.isolate('n3');
  for (let i = 0; i < 100; i++) {
    c.tickAll();
    c.deliver();
  }
  assert.ok(c.node('n3').status().term > term + 2);
  c.heal();
  c.tickAll();
  c.stabilize();
  assert.ok(c.node('n1').status().term > term, 'the old leader saw the higher term');
});

test('check-quorum: a leader that hears no majority for an election timeout steps down', () => {
  const c = new TestCluster(three, { checkQuorum: true });
  c.elect('n1');
  c.isolate('n1');
  for (let i = 0; i < 25 && c.node('n1').status().role === 'leader'; i++) {
    c.tickAll();
    c.deliver();
  }
  assert.equal(c.node('n1').status().role, 'follower');
  assert.equal(c.node('n1').status().leaderId, null);
});

test('check-quorum: a leader keeps its place through a stall of its followers shorter than checkQuorumTicks, and steps down after it', () => {
  const c = new TestCluster(three, { checkQuorum: true, checkQuorumTicks: 40 });
  c.elect('n1');
  const term = c.node('n1').status().term;
  // The followers stall (a slow disk, a starved CPU): they neither tick nor answer.
  const run = (ticks: number) => {
    for (let i = 0; i < ticks; i++) {
      c.tickAll();
      c.deliver();
    }
  };
  c.crash('n2');
  c.crash('n3');
  run(35);
  assert.equal(c.node('n1').status().role, 'leader', 'three election timeouts of silence are within the 40-tick window');
  c.down.clear();
  run(100);
  assert.equal(c.leader(), 'n1');
  assert.equal(c.node('n1').status().term, term, 'no election happened');
  c.isolate('n1');
  let ticks = 0;
  while (c.node('n1').status().role === 'leader' && ticks < 200) {
    c.tick('n1');
    c.deliver();
    ticks++;
  }
  assert.equal(c.node('n1').status().role, 'follower');
  assert.ok(ticks > 0 && ticks <= 80, `stepped down within two windows of silence (after ${ticks} ticks)`);
});

test('check-quorum lease: followers that hear from the leader ignore a higher-term vote request', () => {
  const c = new TestCluster(three, { checkQuorum: true });
  c.elect('n1');
  const term = c.node('n1').status().term;
  c.node('n2').step({ type: 'vote', from: 'n3', to: 'n2', term: term + 1, logTerm: 9, index: 99 });
  assert.equal(c.node('n2').status().term, term, 'term unchanged: the request was ignored');
  // A transfer-forced vote bypasses the lease.
  c.node('n2').step({ type: 'vote', from: 'n3', to: 'n2', term: term + 1, logTerm: 9, index: 99, transfer: true });
  assert.equal(c.node('n2').status().term, term + 1);
  assert.equal(c.node('n2').status().vote, 'n3');
});

test('a single-voter cluster elects itself at once', () => {
  const c = new TestCluster(['solo']);
  c.node('solo').campaign();
  c.process();
  assert.equal(c.node('solo').status().role, 'leader');
  c.propose('solo', 'x');
  assert.deepEqual(c.appliedData('solo'), ['x']);
});

test('a restarted node keeps its term and vote (persisted before the vote was sent)', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  const st = c.node('n2').status();
  c.crash('n2');
  c.restart('n2');
  const again = c.node('n2').status();
  assert.equal(again.term, st.term);
  assert.equal(again.vote, 'n1');
  assert.equal(again.commit, st.commit);
});
