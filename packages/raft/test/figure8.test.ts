import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Message, type RaftConfig, RawNode } from '../src/index.js';
import { TestCluster } from './harness.js';

/**
 * Raft paper §5.4.2, Figure 8: a leader must not commit an entry of an earlier
 * term by counting replicas, or a later leader may overwrite it.
 */

class CommitPriorTermByCounting extends RawNode {
  protected override mayCommitByCounting(index: number): boolean {
    return this.log.term(index) !== undefined;
  }
}

const ids = ['s1', 's2', 's3', 's4', 's5'];

function runFigure8(factory: (c: RaftConfig) => RawNode) {
  // One entry per append message so the scenario can deliver entries one by one.
  const c = new TestCluster(ids, { maxSizePerMsgBytes: 1 }, factory);
  // (a) s1 leads term 2 and replicates the entry at index 7 only to s2.
  c.elect('s1');
  assert.equal(c.leader(), 's1');
  const noop = c.node('s1').status().lastIndex;
  c.filter = (m) => !(m.from === 's1' && m.type === 'append' && m.to !== 's2');
  const { firstIndex: x } = c.propose('s1', 'from-term-2');
  assert.equal(x, noop + 1);
  c.stabilize();
  c.heal();
  // (b) s1 crashes; s5 wins term 3 with s3, s4 and appends its own entry at index 7, then crashes.
  c.crash('s1');
  c.filter = (m) => !(m.from === 's5' && m.type === 'append');
  c.elect('s5');
  assert.equal(c.node('s5').status().role, 'leader');
  assert.equal(c.node('s5').status().term, 3);
  c.propose('s5', 'from-term-3');
  c.stabilize();
  c.crash('s5');
  c.heal();
  // (c) s1 restarts and wins term 4; the entry at index 7 (term 2) reaches s3, but
  // s1's own term-4 entries reach nobody (appends are trimmed to index <= 7).
  c.restart('s1');
  c.transform = (m: Message) =>
    m.type === 'append' ? { ...m, entries: m.entries.filter((e) => e.index <= x) } : m;
  c.node('s1').campaign();
  c.stabilize();
  if (c.node('s1').status().role !== 'leader') {
    c.node('s1').campaign();
    c.stabilize();
  }
  const s1 = c.node('s1').status();
  assert.equal(s1.role, 'leader');
  assert.equal(s1.term, 4);
  assert.equal(c.node('s3').log.term(x), 2, 'the term-2 entry is now on a majority (s1, s2, s3)');
  const committedPriorTerm = s1.commit >= x;
  // (d) s1 crashes; s5 (last entry term 3) can win term 5 with s2, s3, s4 and overwrite index 7.
  c.crash('s1');
  c.heal();
  c.restart('s5');
  for (let i = 0; i < 3 && c.node('s5').status().role !== 'leader'; i++) {
    c.node('s5').campaign();
    // Bounded: with the bug, followers that committed the overwritten entry
    // and the new leader disagree forever.
    for (let r = 0; r < 30; r++) c.deliver();
  }
  assert.equal(c.node('s5').status().role, 'leader');
  const appliedAt = (id: string) => c.applied.get(id)!.find((e) => e.index === x);
  return { committedPriorTerm, s1Applied: appliedAt('s1'), s5Applied: appliedAt('s5'), s5TermAtX: c.node('s5').log.term(x) };
}

test('Figure 8: an entry from an earlier term is not committed by counting replicas (§5.4.2)', () => {
  const r = runFigure8((cfg) => new RawNode(cfg));
  assert.equal(r.committedPriorTerm, false);
  assert.equal(r.s1Applied, undefined, 's1 never applied the term-2 entry');
  assert.equal(r.s5Applied?.term, 3, 'the term-3 entry is what got committed at index 7');
});

test('Figure 8 with the rule removed: a committed entry is missing from a later leader', () => {
  const r = runFigure8((cfg) => new CommitPriorTermByCounting(cfg));
  assert.equal(r.committedPriorTerm, true);
  assert.equal(r.s1Applied?.term, 2, 's1 applied the term-2 entry at index 7');
  assert.equal(r.s5TermAtX, 3, 'yet the term-5 leader holds a different entry there (leader completeness broken)');
});
