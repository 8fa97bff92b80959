// pnpm bench:replace: replace a dead member under SDK write load, N times.
// Each repetition kills a follower (kill -9), removes it (RemoveMember), adds a
// new member with a new, empty data dir (AddMember, as a learner), starts it
// with --initial-cluster-state existing and promotes it as soon as the leader
// allows (it has caught up, by snapshot: the log is compacted short). Figures:
// RemoveMember → promoted, and new process started → promoted. At the end every
// acknowledged write is read back; a lost one fails the bench.
import { connect } from '@bellwether/client';
import { TestCluster } from '@bellwether/integration/cluster';
import { startAndPromote, WriteLoad } from '@bellwether/integration/membership-helpers';
import { machine, writeResult } from './results';
import { type FlagSpec, flagHelp, fmtMs, median, parseFlags, table, UsageError } from './util';

const FLAGS: Record<string, FlagSpec> = {
  reps: { kind: 'int', default: 5, help: 'replace a member this many times' },
  'settle-writes': { kind: 'int', default: 300, help: 'acknowledged writes before each kill, and again before the new member starts (it then needs a snapshot)' },
  out: { kind: 'string', help: 'JSON result path (default bench-results/replace-<time>.json at the repo root)' },
  help: { kind: 'bool', default: false, help: 'print this help' },
};

interface Rep {
  removed: string;
  added: string;
  removeToPromotedMs: number;
  startToPromotedMs: number;
}

async function main(argv: string[]): Promise<number> {
  const f = parseFlags(argv, FLAGS);
  if (f['help']) {
    console.log(flagHelp('pnpm bench:replace [flags]', FLAGS));
    return 0;
  }
  const reps = f['reps'] as number;
  const settle = f['settle-writes'] as number;
  // A short log, so every new member catches up through a snapshot.
  const cluster = await TestCluster.start({ size: 3, args: ['--log-retention-entries', '100', '--compact-every-entries', '100', '--log-level', 'warn'] });
  const client = await connect({ endpoints: cluster.nodes.map((n) => n.address), heartbeatIntervalMs: 250 });
  const results: Rep[] = [];
  try {
    const first = await cluster.waitForLeader(30_000);
    console.error(`3 members up, leader ${first.id}; ${reps} replacements under SDK writes`);
    const load = new WriteLoad(client, 'replace-bench');
    for (let i = 0; i < reps; i++) {
      await load.progress(settle, 120_000);
      const statuses = await Promise.all(cluster.nodes.filter((n) => n.running).map(async (n) => ({ n, st: await cluster.status(n).catch(() => undefined) })));
      const victim = statuses.find((s) => s.st && s.st.role !== 'ROLE_LEADER')!.n;
      await victim.kill9();
      const t0 = Date.now();
      await client.removeMember(victim.id, { deadlineMs: 30_000 });
      const id = `r${i + 1}`;
      const fresh = await cluster.newNode(id, ['--log-level', 'warn']);
      await client.addMember(id, fresh.address, { deadlineMs: 30_000 });
      await load.progress(settle, 120_000);
      const startToPromotedMs = await startAndPromote(client, fresh, 120_000);
      const rep = { removed: victim.id, added: id, removeToPromotedMs: Date.now() - t0, startToPromotedMs };
      results.push(rep);
      console.error(`  ${i + 1}/${reps}: ${victim.id} → ${id}: started → promoted ${fmtMs(startToPromotedMs)}`);
    }
    await load.stop();
    await load.verify();
    const starts = results.map((r) => r.startToPromotedMs);
    const totals = results.map((r) => r.removeToPromotedMs);
    console.log(
      table(
        ['replace a dead member (3 members, SDK writes)', 'median ms', 'max ms'],
        [
          ['new member started → promoted (caught up by snapshot)', fmtMs(median(starts)), fmtMs(Math.max(...starts))],
          ['RemoveMember → new member promoted', fmtMs(median(totals)), fmtMs(Math.max(...totals))],
        ],
      ),
    );
    console.log(`acknowledged writes: ${load.acked.length}, lost: 0, application-visible errors: ${load.errors.length}`);
    const path = writeResult('replace', { kind: 'bellwether-bench/replace', version: 1, createdAt: new Date().toISOString(), machine: machine(), config: { reps, settle }, results, acked: load.acked.length, errors: load.errors }, f['out'] as string | undefined);
    console.log(`result: ${path}`);
    return load.errors.length === 0 ? 0 : 1;
  } finally {
    await client.close();
    await cluster.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`replace: ${err.message} (see --help)`);
      process.exit(2);
    }
    console.error('replace: failed:', err);
    process.exit(1);
  },
);
