import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BugName } from '../sim/bugs.js';
import { FAULT_KINDS } from '../sim/faults.js';
import { runSeed } from '../sim/simulation.js';

/**
 * The deterministic simulation in CI: a bounded number of seeds over both
 * cluster sizes and every fault kind, plus proof that the checkers catch
 * known bugs. More seeds on demand: `pnpm --filter @bellwether/raft sim --seeds N`.
 */

const SEEDS = Number(process.env.RAFT_SIM_SEEDS ?? 500);

describe('simulation', () => {
  for (const nodes of [3, 5]) {
    test(`${SEEDS} seeds on ${nodes} nodes with all fault kinds: no violation`, () => {
      let ticks = 0;
      let confChangesPartitioned = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = runSeed({ seed, nodes, faults: FAULT_KINDS });
        ticks += r.stats.ticks;
        confChangesPartitioned += r.stats.confChangesPartitioned;
        if (!r.ok) assert.fail(`seed ${seed} (${nodes} nodes): ${r.violation}\n  setup: ${r.setup}\n  replay: pnpm --filter @bellwether/raft sim --seeds 1 --start ${seed} --nodes ${nodes} --trace`);
      }
      assert.ok(ticks > SEEDS * 300);
      // The checkers also see membership changes made while the network is split.
      assert.ok(confChangesPartitioned > SEEDS / 10, `only ${confChangesPartitioned} membership changes during partitions`);
    });
  }

  test('a seed replays exactly', () => {
    const a = runSeed({ seed: 4242, nodes: 5 });
    const b = runSeed({ seed: 4242, nodes: 5 });
    assert.deepEqual(a, b);
  });
});

describe('injected bugs are caught by the simulation', () => {
  const cases: Array<{ bug: BugName; firstSeed?: number; maxSeeds: number; sizes?: number[]; checkers: string[] }> = [
    { bug: 'skipLogUpToDate', maxSeeds: 200, checkers: ['leader-completeness', 'state-machine-safety', 'log-matching', 'raft-assertion'] },
    { bug: 'readWithoutQuorum', maxSeeds: 400, checkers: ['linearizable-read'] },
    // Figure 8 needs a rare interleaving, about one 3-node seed in thousands (seed 553 until heartbeat
    // answers stopped freeing window slots and changed the message schedule, 3483 until the check-quorum
    // window was drawn per seed, 875 since): CI scans the window around the known one;
    // `pnpm sim --bug commitPriorTerm --seeds 20000 --nodes 3` finds more.
    { bug: 'commitPriorTerm', firstSeed: 800, maxSeeds: 1000, sizes: [3], checkers: ['leader-completeness', 'state-machine-safety', 'committed-entry-lost', 'raft-assertion'] },
    // The after-persist rule: a crash inside a write's window must not take back a promise already sent.
    { bug: 'ackBeforePersist', maxSeeds: 100, checkers: ['committed-entry-lost', 'state-machine-safety', 'leader-completeness'] },
    // A crash inside a vote's write window during a split vote is rare: about one 3-node seed in
    // thousands (seed 344 before commit-only appends changed the message schedule, 5452 after,
    // 154 since heartbeat answers stopped freeing window slots). CI scans the window around the
    // known one; `pnpm sim --bug grantVoteBeforePersist --seeds 20000` finds more.
    { bug: 'grantVoteBeforePersist', firstSeed: 100, maxSeeds: 300, sizes: [3], checkers: ['election-safety', 'state-machine-safety', 'leader-completeness', 'raft-assertion'] },
  ];
  for (const { bug, firstSeed = 1, maxSeeds, sizes = [3, 5], checkers } of cases) {
    test(`${bug} is caught within seeds ${firstSeed}..${maxSeeds}, and the failing seed replays`, () => {
      for (let seed = firstSeed; seed <= maxSeeds; seed++) {
        for (const nodes of sizes) {
          const r = runSeed({ seed, nodes, bug });
          if (r.ok) continue;
          assert.ok(checkers.includes(r.checker!), `caught by ${r.checker}: ${r.violation}`);
          const again = runSeed({ seed, nodes, bug });
          assert.equal(again.violation, r.violation, 'replay reproduces the same violation');
          return;
        }
      }
      assert.fail(`${bug} was not caught in seeds ${firstSeed}..${maxSeeds}`);
    });
  }
});
