import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../src/index.js';
import { TestCluster } from './harness.js';

const three = ['n1', 'n2', 'n3'];

test('compact drops entries up to an applied index and records the config at that index', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  for (let i = 0; i < 5; i++) c.propose('n1', `x${i}`);
  c.stabilize();
  const n1 = c.node('n1');
  const applied = n1.status().applied;
  assert.throws(() => n1.compact(applied + 1), UsageError);
  const meta = n1.compact(applied - 1);
  assert.equal(meta.index, applied - 1);
  assert.equal(meta.term, n1.log.term(applied - 1));
  assert.deepEqual([...meta.config.voters].sort(), three);
  assert.equal(n1.status().firstIndex, applied);
});

test('a follower that needs compacted entries gets a snapshot message; restoring it catches it up (§7)', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.crash('n3');
  for (let i = 0; i < 10; i++) c.propose('n1', `x${i}`);
  c.stabilize();
  const n1 = c.node('n1');
  const meta = n1.compact(n1.status().applied);
  c.propose('n1', 'after');
  c.stabilize();
  c.restart('n3');
  const sent: string[] = [];
  c.filter = (m) => {
    sent.push(m.type);
    return true;
  };
  c.tickAll();
  c.stabilize();
  assert.ok(sent.includes('snapshot'), `expected a snapshot message, saw ${sent.join(',')}`);
  // The harness installed it (TestCluster.process writes Ready.snapshot to disk); the node layer reports success.
  n1.reportSnapshot('n3', true);
  c.tickAll();
  c.stabilize();
  const st3 = c.node('n3').status();
  assert.equal(st3.firstIndex, meta.index + 1);
  assert.equal(st3.commit, n1.status().commit);
  assert.deepEqual(c.appliedData('n3'), ['after'], 'only entries after the snapshot are applied as entries');
  assert.equal(n1.status().progress!['n3']!.state, 'replicate');
});

test('a failed snapshot transfer returns the follower to probe', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.crash('n3');
  for (let i = 0; i < 4; i++) c.propose('n1', `x${i}`);
  c.stabilize();
  c.node('n1').compact(c.node('n1').status().applied);
  c.restart('n3');
  c.filter = (m) => m.type !== 'snapshot';
  c.tickAll();
  c.stabilize();
  assert.equal(c.node('n1').status().progress!['n3']!.state, 'snapshot');
  c.node('n1').reportSnapshot('n3', false);
  assert.equal(c.node('n1').status().progress!['n3']!.state, 'probe');
});

test('a stale snapshot (at or below commit) is ignored: no Ready.snapshot', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  c.propose('n1', 'a');
  c.stabilize();
  const n2 = c.node('n2');
  const st = n2.status();
  n2.step({ type: 'snapshot', from: 'n1', to: 'n2', term: st.term, snapshot: { index: st.commit - 1, term: 1, config: { voters: three, learners: [] } } });
  const rd = n2.ready();
  assert.equal(rd.snapshot, undefined);
  n2.advance(rd);
});

test('restart from a compacted disk: snapshot meta + later entries', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  for (let i = 0; i < 3; i++) c.propose('n1', `x${i}`);
  c.stabilize();
  const n2 = c.node('n2');
  const meta = n2.compact(n2.status().applied - 1);
  const disk = c.disks.get('n2')!;
  disk.snapshot = meta;
  disk.entries = disk.entries.filter((e) => e.index > meta.index);
  c.crash('n2');
  c.restart('n2');
  const st = c.node('n2').status();
  assert.equal(st.firstIndex, meta.index + 1);
  assert.deepEqual([...st.config.voters].sort(), three);
  c.propose('n1', 'y');
  c.stabilize();
  assert.equal(c.node('n2').status().commit, c.node('n1').status().commit);
});
