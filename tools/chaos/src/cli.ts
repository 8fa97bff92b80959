// pnpm chaos --time 60 --faults kill,pause,partition --seed 42
// Exit code: 0 no violation, 1 a violation, 2 bad arguments or a failed run, 3 a checker could not decide.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FAULT_NAMES, type FaultName } from './nemesis';
import { checkAll } from './checkers/index';
import { parseHistory } from './history';
import { runChaos } from './run';
import { formatSummary, formatVerdicts, operationsTable } from './summary';

const HELP = `Usage: pnpm chaos [flags]

Starts a real Bellwether cluster on 127.0.0.1 with every peer link behind a TCP
proxy, runs concurrent clients (registers in every read mode, unique-value
appends, counters by compare-and-swap) while injecting faults, heals, reads
every key back, checks the history and prints a summary.

Flags:
  --time S            seconds of workload under faults (default 60)
  --faults LIST       comma-separated: ${FAULT_NAMES.join(', ')}, or all, or none (default all)
  --seed N            seed of every random choice (default: random; printed)
  --clients N         concurrent clients (default 10)
  --nodes N           cluster size (default 3)
  --out FILE          history file, JSON lines (default runs/seed-<N>-<time>.jsonl)
  --unsafe-follower-linearizable-reads
                      start the nodes with the debug flag that breaks
                      linearizable follower reads (the checker must catch it)
  --follower-reads P  probability that a read goes to a follower (default 0.6)
  --any-follower-monotonic
                      treat backward any-follower reads within a session as
                      violations (only if the SDK promises monotonic reads)
  --check FILE        re-check a recorded history file instead of running
  --help
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    fail((err as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.check) {
    const { ops, faults } = parseHistory(readFileSync(values.check, 'utf8'));
    const t0 = Date.now();
    const reports = checkAll(ops, { anyFollowerMonotonic: !!values['any-follower-monotonic'] });
    process.stdout.write(`${values.check}: ${ops.length} operations, ${faults.filter((f) => f.action === 'start').length} faults\n`);
    process.stdout.write(`${operationsTable(ops)}\n${formatVerdicts(reports, Date.now() - t0, faults)}\n`);
    process.exitCode = reports.some((r) => r.valid === false) ? 1 : reports.some((r) => r.valid === 'unknown') ? 3 : 0;
    return;
  }
  const timeS = Number(values.time ?? 60);
  if (!Number.isFinite(timeS) || timeS <= 0) fail(`--time: expected a positive number of seconds, got ${values.time}`);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) fail(`--seed: expected a non-negative integer, got ${values.seed}`);
  const faultsArg = values.faults ?? 'all';
  const faults: FaultName[] =
    faultsArg === 'all' ? [...FAULT_NAMES] : faultsArg === 'none' || faultsArg === '' ? [] : (faultsArg.split(',').map((s) => s.trim()) as FaultName[]);
  for (const f of faults) if (!FAULT_NAMES.includes(f)) fail(`--faults: unknown fault "${f}"; known: ${FAULT_NAMES.join(', ')}`);
  const clients = Number(values.clients ?? 10);
  const nodes = Number(values.nodes ?? 3);
  if (!Number.isInteger(clients) || clients < 1) fail(`--clients: expected a positive integer, got ${values.clients}`);
  if (!Number.isInteger(nodes) || nodes < 1) fail(`--nodes: expected a positive integer, got ${values.nodes}`);
  const followerReads = values['follower-reads'] === undefined ? undefined : Number(values['follower-reads']);
  if (followerReads !== undefined && !(followerReads >= 0 && followerReads <= 1)) fail('--follower-reads: expected a probability in 0..1');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const historyPath = resolve(values.out ?? `runs/seed-${seed}-${stamp}.jsonl`);

  const commandLine = `pnpm chaos --time ${timeS} --faults ${faults.join(',') || 'none'} --seed ${seed} --clients ${clients} --nodes ${nodes}${
    values['unsafe-follower-linearizable-reads'] ? ' --unsafe-follower-linearizable-reads' : ''
  }${followerReads !== undefined ? ` --follower-reads ${followerReads}` : ''}`;
  const abort = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('interrupted: stopping the workload, then cleaning up and checking what was recorded\n');
    abort.abort();
  });
  const result = await runChaos({
    timeS,
    faults,
    seed,
    clients,
    nodes,
    historyPath,
    unsafeFollowerReads: !!values['unsafe-follower-linearizable-reads'],
    anyFollowerMonotonic: !!values['any-follower-monotonic'],
    workload: followerReads === undefined ? undefined : { followerReads },
    log: (line) => process.stdout.write(`${line}\n`),
    signal: abort.signal,
  });
  const code = result.valid === true ? 0 : result.valid === false ? 1 : 3;
  // Exit explicitly once the summary is out: a gRPC channel to a member that
  // was killed last can keep the event loop alive for minutes after the run.
  process.stdout.write(`${formatSummary(result, commandLine)}\n`, () => process.exit(code));
}

function parse() {
  return parseArgs({
    options: {
      time: { type: 'string' },
      faults: { type: 'string' },
      seed: { type: 'string' },
      clients: { type: 'string' },
      nodes: { type: 'string' },
      out: { type: 'string' },
      'unsafe-follower-linearizable-reads': { type: 'boolean' },
      'follower-reads': { type: 'string' },
      'any-follower-monotonic': { type: 'boolean' },
      check: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
