// Short seeded chaos runs against real 3-node clusters (about 2 minutes in
// all): the real cluster must show no violation, and the cluster started with the injected bug
// (--unsafe-follower-linearizable-reads) must be caught.
// Nothing here asserts on timing: runs last as long as they last, and only
// their verdicts are checked.
// Each run is its own `pnpm chaos` process, so nothing a run leaves behind
// (a gRPC channel to a member killed last) can keep this file's process busy
// or alive after its verdicts; a run that does not finish in RUN_LIMIT_MS is
// stopped and fails its test, instead of holding up CI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseHistory } from '../src/history';
import { FAULT_NAMES } from '../src/nemesis';

const dir = mkdtempSync(join(tmpdir(), 'bellwether-chaos-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CLEAN_SEED = 20_241;
const BUG_SEED = 7;
const RUN_LIMIT_MS = 8 * 60_000;
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

interface CliRun {
  code: number | null;
  output: string;
}

/** Runs the chaos CLI; past RUN_LIMIT_MS it is interrupted (it then stops its cluster), and killed 30 s later. */
function runCli(args: string[]): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  let overdue = false;
  const interrupt = setTimeout(() => {
    overdue = true;
    child.kill('SIGINT');
  }, RUN_LIMIT_MS);
  const kill = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS + 30_000);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(interrupt);
      clearTimeout(kill);
      if (overdue) output += `\n(the run did not finish within ${RUN_LIMIT_MS / 1000} s and was stopped)\n`;
      resolve({ code: overdue ? null : code, output });
    });
  });
}

describe('chaos against a real cluster', () => {
  const cleanHistory = join(dir, 'clean.jsonl');
  let clean: CliRun | undefined;

  before(async () => {
    clean = await runCli(['--time', '60', '--faults', FAULT_NAMES.join(','), '--seed', String(CLEAN_SEED), '--out', cleanHistory]);
  });

  it('runs every fault kind and records every operation (seeded, 60 s)', (t) => {
    const { output } = clean!;
    for (const line of output.split('\n')) t.diagnostic(line);
    const recorded = parseHistory(readFileSync(cleanHistory, 'utf8'));
    assert.ok(recorded.ops.filter((op) => op.outcome === 'ok').length > 100, 'the workload made progress');
    assert.ok(recorded.faults.length > 0, 'faults were injected');
    const counted = /^operations: (\d+) on \d+ keys$/m.exec(output);
    assert.ok(counted, 'the summary counts the operations');
    assert.equal(recorded.ops.length, Number(counted[1]), 'every operation of the run is in the history file');
  });

  it('finds no violation', () => {
    const { code, output } = clean!;
    // Exit 0: every checker passed (1 is a violation, 3 a checker that could not decide).
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`no violation \\(seed ${CLEAN_SEED}\\)`));
    assert.doesNotMatch(output, /^ {2}\S+ +(FAIL|UNDECIDED)/m, output);
  });

  it('catches followers serving linearizable reads from local state (--unsafe-follower-linearizable-reads)', async (t) => {
    const out = join(dir, 'bug.jsonl');
    const args = ['--time', '30', '--faults', 'partition,pause', '--seed', String(BUG_SEED), '--follower-reads', '0.8'];
    args.push('--unsafe-follower-linearizable-reads', '--out', out);
    const { code, output } = await runCli(args);
    for (const line of output.split('\n')) t.diagnostic(line);
    assert.equal(code, 1, 'the run exits 1: a violation');
    assert.match(output, new RegExp(`VIOLATION found with seed ${BUG_SEED}`));
    assert.match(output, /linearizable +FAIL/);
    // The excerpt is small and shows a linearizable read served by a follower.
    const excerpt = output.split('\n').filter((l) => /^ {4}\[/.test(l));
    assert.ok(excerpt.length > 0 && excerpt.length <= 12, `excerpt of ${excerpt.length} lines`);
    assert.ok(
      excerpt.some((l) => /get \S+ \(linearizable\)/.test(l)),
      'the excerpt holds the stale linearizable read',
    );
  });
});
