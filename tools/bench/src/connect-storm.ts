// A reconnect storm in miniature: N SDK clients, each on its own connection,
// make their first call (a put) to the leader of a settled local 3-node
// cluster at the same moment, as a fleet does after a leader change. Prints
// when each first put was answered and whether the leadership moved (the
// Raft term before and after).
//
//   pnpm --filter @bellwether/bench connect-storm [--clients 300] [--settle-ms 5000] [--rounds 3]
//
// The clients share this one process, so its event loop is part of what is
// measured; bench:fleet spreads clients over processes.
import { connect } from '@bellwether/client';
import { type BellwetherLocal, startLocal } from './clusters';
import { type FlagSpec, type FlagValues, fmtMs, runCommand, sleep, table, UsageError } from './util';

const FLAGS: Record<string, FlagSpec> = {
  clients: { kind: 'int', default: 300, help: 'clients that make their first call at once' },
  'settle-ms': { kind: 'int', default: 5000, help: 'wait after the cluster elected its first leader' },
  rounds: { kind: 'int', default: 3, help: 'storms, each on a fresh cluster' },
  help: { kind: 'bool', default: false, help: 'print this help' },
};

async function leaderTerm(local: BellwetherLocal): Promise<{ id: string; address: string; term: number }> {
  const leader = await local.cluster.waitForLeader(15_000);
  const st = await local.cluster.status(leader);
  return { id: leader.id, address: leader.address, term: st.term };
}

async function storm(clients: number, settleMs: number): Promise<string[]> {
  const local = (await startLocal('bellwether')) as BellwetherLocal;
  try {
    await sleep(settleMs);
    const before = await leaderTerm(local);
    const t0 = performance.now();
    const answered = await Promise.all(
      Array.from({ length: clients }, async (_, i) => {
        const c = await connect({ endpoints: [before.address], clientId: `storm-${i}`, channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
        try {
          await c.put(`storm/${i}`, 'v', { deadlineMs: 60_000 });
          return performance.now() - t0;
        } finally {
          await c.close();
        }
      }),
    );
    const after = await leaderTerm(local);
    const sorted = answered.sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return [fmtMs(at(0.5)), fmtMs(at(0.99)), fmtMs(sorted[sorted.length - 1]!), `${before.id} (term ${before.term})`, `${after.id} (term ${after.term})`];
  } finally {
    await local.stop();
  }
}

async function main(f: FlagValues): Promise<void> {
  const clients = f['clients'] as number;
  const rounds = f['rounds'] as number;
  if (clients < 1 || rounds < 1) throw new UsageError('--clients and --rounds: at least 1');
  const rows: string[][] = [];
  for (let r = 1; r <= rounds; r++) rows.push([String(r), ...(await storm(clients, f['settle-ms'] as number))]);
  console.log(`${clients} clients, each on its own connection, make their first put to the leader at once (ms after the storm began):`);
  console.log(table(['round', 'first put p50', 'p99', 'max', 'leader before', 'leader after'], rows));
}

runCommand('connect-storm', 'Usage: pnpm --filter @bellwether/bench connect-storm [flags]', FLAGS, main);
