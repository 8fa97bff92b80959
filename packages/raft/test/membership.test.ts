import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfChangeError,
  type ConfChange,
  NotLeaderError,
  RawNode,
  decodeConfChange,
  encodeConfChange,
} from '../src/index.js';
import { TestCluster, seededRandom } from './harness.js';

const three = ['n1', 'n2', 'n3'];

function addNode(c: TestCluster, id: string): void {
  c.disks.set(id, { hardState: { term: 0, vote: null, commit: 0 }, entries: [], applied: 0 });
  c.applied.set(id, []);
  c.readStates.set(id, []);
  c.nodes.set(
    id,
    new RawNode({
      id,
      electionTimeoutTicks: 10,
      heartbeatTicks: 1,
      random: seededRandom(9),
      preVote: false,
      checkQuorum: false,
      maxInflightMsgs: 16,
      maxSizePerMsgBytes: 1 << 20,
    }),
  );
}

function change(c: TestCluster, leader: string, cc: ConfChange): void {
  c.node(leader).proposeConfChange(cc);
  c.stabilize();
}

test('conf changes round-trip through their encoding, context included', () => {
  const cc: ConfChange = { kind: 'addLearner', nodeId: 'n-ü', context: new Uint8Array([1, 2, 3]) };
  assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
  assert.deepEqual(decodeConfChange(encodeConfChange({ kind: 'removeNode', nodeId: 'x' })), { kind: 'removeNode', nodeId: 'x' });
});

test('add a learner, let it catch up, promote it; it then counts for quorum', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.propose('n1', 'a');
  c.stabilize();
  addNode(c, 'n4');
  change(c, 'n1', { kind: 'addLearner', nodeId: 'n4' });
  assert.deepEqual(c.node('n1').status().config.learners, ['n4']);
  c.tickAll();
  c.stabilize();
  assert.deepEqual(c.appliedData('n4'), ['a'], 'the learner replicates');
  assert.equal(c.node('n1').status().progress!['n4']!.isLearner, true);
  // A learner never campaigns.
  for (let i = 0; i < 50; i++) c.node('n4').tick();
  assert.equal(c.node('n4').status().role, 'follower');
  change(c, 'n1', { kind: 'promoteLearner', nodeId: 'n4' });
  assert.deepEqual([...c.node('n1').status().config.voters].sort(), ['n1', 'n2', 'n3', 'n4']);
  // With 4 voters, n1 + one follower is no longer a majority.
  c.filter = (m) => !['n3', 'n4'].includes(m.to) && !['n3', 'n4'].includes(m.from);
  const before = c.node('n1').status().commit;
  c.propose('n1', 'b');
  c.stabilize();
  assert.equal(c.node('n1').status().commit, before);
  c.heal();
  c.tickAll();
  c.stabilize();
  assert.equal(c.node('n1').status().commit, before + 1);
});

test('a configuration takes effect on append, before it commits (§4.1)', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.filter = () => false;
  c.node('n1').proposeConfChange({ kind: 'removeNode', nodeId: 'n3' });
  assert.deepEqual([...c.node('n1').status().config.voters].sort(), ['n1', 'n2']);
});

test('only one change at a time, and none before the leader commits its no-op', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.filter = () => false;
  c.node('n1').proposeConfChange({ kind: 'addLearner', nodeId: 'n4' });
  assert.throws(() => c.node('n1').proposeConfChange({ kind: 'addLearner', nodeId: 'n5' }), ConfChangeError);
  const d = new TestCluster(three);
  d.filter = (m) => m.type !== 'append';
  d.elect('n2');
  assert.equal(d.node('n2').status().role, 'leader');
  assert.throws(() => d.node('n2').proposeConfChange({ kind: 'addLearner', nodeId: 'n4' }), ConfChangeError);
});

test('invalid changes are refused with a reason', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  const bad: ConfChange[] = [
    { kind: 'addVoter', nodeId: 'n2' },
    { kind: 'promoteLearner', nodeId: 'n2' },
    { kind: 'removeNode', nodeId: 'n9' },
    { kind: 'removeNode', nodeId: 'n1' },
    { kind: 'addLearner', nodeId: 'n3' },
  ];
  for (const cc of bad) assert.throws(() => c.node('n1').proposeConfChange(cc), ConfChangeError, JSON.stringify(cc));
  assert.throws(() => c.node('n2').proposeConfChange({ kind: 'addLearner', nodeId: 'n4' }), NotLeaderError);
});

test('remove a voter: the rest keep committing without it', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  change(c, 'n1', { kind: 'removeNode', nodeId: 'n3' });
  c.crash('n3');
  c.propose('n1', 'x');
  c.stabilize();
  assert.deepEqual(c.appliedData('n2'), ['x']);
  assert.deepEqual(c.node('n2').status().config.voters.sort(), ['n1', 'n2']);
});

test('a truncated conf entry rolls the configuration back', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  // n1 appends a conf change that reaches only n2's log... no: reaches nobody.
  c.filter = () => false;
  c.node('n1').proposeConfChange({ kind: 'removeNode', nodeId: 'n3' });
  c.process();
  c.queue = [];
  c.heal();
  c.elect('n2');
  c.propose('n2', 'y');
  c.tickAll();
  c.stabilize();
  assert.deepEqual([...c.node('n1').status().config.voters].sort(), three, 'n1 dropped its uncommitted change');
});

test('a memberMetadata change replicates its context and leaves voters and learners as they are', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  const before = c.node('n1').status().config;
  const context = new TextEncoder().encode('{"incarnations":{"n2":"abc"}}');
  const { index } = c.node('n1').proposeConfChange({ kind: 'memberMetadata', nodeId: 'n1', context });
  c.stabilize();
  for (const id of three) {
    assert.deepEqual(c.node(id).status().config, before);
    assert.ok(c.node(id).status().commit >= index);
  }
  assert.deepEqual(decodeConfChange(encodeConfChange({ kind: 'memberMetadata', nodeId: 'n1', context })), { kind: 'memberMetadata', nodeId: 'n1', context });
  assert.throws(() => c.node('n1').proposeConfChange({ kind: 'memberMetadata', nodeId: 'n9' }), ConfChangeError, 'only about a member');
});
