import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry, Message } from '../src/index.js';
import { TestCluster } from './harness.js';

const three = ['n1', 'n2', 'n3'];
const payload = (i: number) => `value-${String(i).padStart(3, '0')}-${'x'.repeat(40)}`;

test('the log keeps at most maxLogMemoryBytes of applied entry data; evicted entries keep their index and term', () => {
  const c = new TestCluster(three, { maxLogMemoryBytes: 200 });
  c.elect('n1');
  for (let i = 0; i < 20; i++) c.propose('n1', payload(i));
  c.stabilize();
  for (const id of three) {
    const st = c.node(id).status();
    assert.equal(st.applied, st.lastIndex);
    assert.ok(st.logMemoryBytes <= 200, `${id} holds ${st.logMemoryBytes} bytes of entry data`);
    // The size of what storage holds is still known for retention by bytes.
    assert.ok(st.logBytes > 20 * payload(0).length, `${id} log size ${st.logBytes}`);
    // Terms of evicted entries are still known (log matching needs them).
    for (let i = st.firstIndex; i <= st.lastIndex; i++) assert.equal(typeof c.node(id).log.term(i), 'number');
  }
  assert.deepEqual(c.appliedData('n2'), c.appliedData('n1'));
});

test('without maxLogMemoryBytes nothing is evicted', () => {
  const c = new TestCluster(three);
  c.elect('n1');
  for (let i = 0; i < 20; i++) c.propose('n1', payload(i));
  c.stabilize();
  assert.ok(c.node('n1').status().logMemoryBytes >= 20 * payload(0).length);
});

test('a follower that is behind gets evicted entries as stubs; filled from the leader\'s storage, it applies the same data', () => {
  const c = new TestCluster(three, { maxLogMemoryBytes: 100 });
  c.elect('n1');
  c.crash('n3');
  for (let i = 0; i < 30; i++) c.propose('n1', payload(i));
  c.stabilize();
  let stubs = 0;
  // The caller's part (the node reads them back from LevelDB): fill stubs from the sender's stored log.
  c.transform = (m: Message) => {
    if (m.type !== 'append' || !m.entries.some((e) => e.evictedBytes !== undefined)) return m;
    const disk = c.disks.get(m.from)!;
    const base = disk.snapshot?.index ?? 0;
    const entries = m.entries.map((e): Entry => {
      if (e.evictedBytes === undefined) return e;
      stubs++;
      assert.equal(e.data.byteLength, 0);
      const stored = disk.entries[e.index - base - 1]!;
      assert.equal(stored.term, e.term);
      assert.equal(stored.data.byteLength, e.evictedBytes);
      return { index: e.index, term: e.term, type: e.type, data: stored.data };
    });
    return { ...m, entries };
  };
  c.restart('n3');
  c.tickAll();
  c.stabilize();
  assert.ok(stubs >= 25, `only ${stubs} entries were read back`);
  assert.deepEqual(c.appliedData('n3'), c.appliedData('n1'));
  assert.equal(c.appliedData('n3').length, 30);
});

test('compactionPointForBytes keeps at most the given bytes of applied entries', () => {
  const c = new TestCluster(three, { maxLogMemoryBytes: 0 });
  c.elect('n1');
  for (let i = 0; i < 10; i++) c.propose('n1', payload(i));
  c.stabilize();
  const n1 = c.node('n1');
  const size = payload(0).length + 24;
  const applied = n1.status().applied;
  const point = n1.compactionPointForBytes(3 * size);
  assert.equal(point, applied - 3);
  n1.compact(point);
  assert.equal(n1.status().logBytes, 3 * size);
  assert.equal(n1.compactionPointForBytes(10 * size), point);
});
