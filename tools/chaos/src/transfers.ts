// Transfers between accounts by transaction, beside the workload: each
// worker reads every account in one transaction (one revision: a snapshot),
// then moves a random amount from one account to another in a transaction
// that holds only if neither account changed since that read. Whatever the
// faults, every snapshot and the final state must add up to the total the
// accounts started with (src/checkers/transfers.ts).
import { type BellwetherClient, cmp, connect, op } from '@bellwether/client';
import type { TransferLog } from './checkers/transfers';
import type { Member } from './conn';
import type { Rng } from '@bellwether/raft';

const ACCOUNTS = ['acct/a', 'acct/b', 'acct/c'];
const INITIAL = 100;

async function snapshot(client: BellwetherClient): Promise<{ revision: number; balances: { value: number; modRevision: number }[] }> {
  const r = await client
    .txn()
    .then(...ACCOUNTS.map((a) => op.get(a)))
    .commit();
  if (!r.succeeded) throw new Error('a transaction without compares took its else branch');
  return { revision: r.revision, balances: r.results.map((g) => ({ value: Number(g.valueString ?? 'NaN'), modRevision: g.kv?.modRevision ?? 0 })) };
}

export class ChaosTransfers {
  readonly log: TransferLog = { total: INITIAL * ACCOUNTS.length, snapshots: [], transfers: { ok: 0, refused: 0, failed: 0 }, final: undefined, errors: [] };
  readonly #clients: BellwetherClient[] = [];
  readonly #stop = new AbortController();
  readonly #running: Promise<void>[] = [];

  static async start(members: Member[], workers: number, rng: Rng): Promise<ChaosTransfers> {
    const t = new ChaosTransfers();
    const endpoints = members.map((m) => m.address);
    const setup = await connect({ endpoints, deadlineMs: 30_000 });
    t.#clients.push(setup);
    await setup
      .txn()
      .then(...ACCOUNTS.map((a) => op.put(a, String(INITIAL))))
      .commit();
    for (let i = 0; i < workers; i++) {
      const client = await connect({ endpoints, deadlineMs: 2000 });
      t.#clients.push(client);
      t.#running.push(t.#run(client, rng.derive(`transfers-${i}`)));
    }
    return t;
  }

  async #run(client: BellwetherClient, rng: Rng): Promise<void> {
    while (!this.#stop.signal.aborted) {
      try {
        const s = await snapshot(client);
        this.log.snapshots.push({ revision: s.revision, balances: s.balances.map((b) => b.value) });
        const from = rng.int(0, ACCOUNTS.length - 1);
        const to = (from + rng.int(1, ACCOUNTS.length - 1)) % ACCOUNTS.length;
        const amount = rng.int(1, 10);
        const r = await client
          .txn()
          .if(cmp.modRevision(ACCOUNTS[from]!, '=', s.balances[from]!.modRevision), cmp.modRevision(ACCOUNTS[to]!, '=', s.balances[to]!.modRevision))
          .then(op.put(ACCOUNTS[from]!, String(s.balances[from]!.value - amount)), op.put(ACCOUNTS[to]!, String(s.balances[to]!.value + amount)))
          .commit();
        if (r.succeeded) this.log.transfers.ok++;
        else this.log.transfers.refused++;
      } catch {
        // Faults make calls fail; an unknown outcome is fine (the sum holds either way).
        this.log.transfers.failed++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Stops the transfers, reads the accounts once more (after the heal) and closes the clients. */
  async finish(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    await Promise.all(this.#running);
    for (let attempt = 0; attempt < 20 && !this.log.final; attempt++) {
      try {
        const s = await snapshot(this.#clients[0]!);
        this.log.final = { revision: s.revision, balances: s.balances.map((b) => b.value) };
      } catch (err) {
        if (attempt === 19) this.log.errors.push(`final read: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await Promise.all(this.#clients.map((c) => c.close()));
  }
}
