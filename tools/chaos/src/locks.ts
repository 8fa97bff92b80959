// Lock holders beside the workload: a few SDK clients take turns holding one
// lock (client.lock), each recording when it got it, with which fencing token,
// and when it stopped believing it held it (release, or its lease's `lost`).
// While holding, each writes a fenced record: a transaction that succeeds only
// if the fence is below its token. src/checkers/locks.ts judges both.
import { type BellwetherClient, cmp, connect, op } from '@bellwether/client';
import type { LockHold } from './checkers/locks';
import type { Member } from './conn';
import type { Rng } from '@bellwether/raft';

const LOCK = 'lock/chaos';
const FENCE = 'lock-fence';
/** Tokens are revisions; zero-padded so that byte order is numeric order. */
const pad = (n: number) => String(n).padStart(16, '0');

export class ChaosLocks {
  readonly holds: LockHold[] = [];
  readonly #clients: BellwetherClient[] = [];
  readonly #stop = new AbortController();
  readonly #running: Promise<void>[] = [];

  static async start(members: Member[], holders: number, rng: Rng, now: () => number): Promise<ChaosLocks> {
    const l = new ChaosLocks();
    // A missing key's value compares false with everything: the fence starts at token 0.
    const setup = await connect({ endpoints: members.map((m) => m.address), deadlineMs: 30_000 });
    l.#clients.push(setup);
    await setup.put(FENCE, pad(0));
    for (let i = 0; i < holders; i++) {
      const client = await connect({ endpoints: members.map((m) => m.address), deadlineMs: 3000 });
      l.#clients.push(client);
      l.#running.push(l.#run(client, `holder-${i + 1}`, rng.derive(`lock-${i}`), now));
    }
    return l;
  }

  async #run(client: BellwetherClient, name: string, rng: Rng, now: () => number): Promise<void> {
    while (!this.#stop.signal.aborted) {
      let hold: LockHold | undefined;
      try {
        const lock = await client.lock(LOCK, { ttlMs: 1500, signal: this.#stop.signal });
        const h: LockHold = { holder: name, token: lock.revision, acquiredMs: now(), endMs: undefined, fenced: undefined };
        hold = h;
        this.holds.push(h);
        lock.lease.on('lost', () => {
          // The holder had to stop believing it held the lock when its lease ran out, not when it noticed.
          h.endMs ??= now() - Math.max(0, Date.now() - lock.lease.validUntil);
        });
        const r = await client
          .txn()
          .if(cmp.value(FENCE, '<', pad(lock.revision)))
          .then(op.put(FENCE, pad(lock.revision)))
          .else(op.get(FENCE))
          .commit();
        h.fenced = r.succeeded ? 'accepted' : 'refused';
        await new Promise((r) => setTimeout(r, rng.int(10, 200)));
        h.endMs ??= now();
        await lock.release();
      } catch {
        if (hold) hold.endMs ??= now();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async finish(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    await Promise.all(this.#running);
    await Promise.all(this.#clients.map((c) => c.close()));
  }
}
