import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestCluster } from './harness.js';

test('three nodes elect a leader, replicate and apply a proposal', () => {
  const c = new TestCluster(['n1', 'n2', 'n3']);
  c.elect('n1');
  assert.equal(c.leader(), 'n1');
  c.propose('n1', 'a', 'b');
  c.stabilize();
  for (const id of ['n1', 'n2', 'n3']) assert.deepEqual(c.appliedData(id), ['a', 'b']);
});
