// The watch fan-out figure of `pnpm bench --workload watch`: many watchers of
// every key (SDK watches, spread over a few clients) count the events
// delivered to them while the put workload writes.
import { type BellwetherClient, connect } from '@bellwether/client';

export interface FanOut {
  /** Events delivered to all watchers so far. */
  readonly events: number;
  /** Resolves once every watcher has been created and delivered something (or `timeoutMs` passed). */
  ready(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** Starts `watchers` watches of every key, over `clients` SDK clients. */
export async function startFanOut(members: readonly string[], watchers: number, clients = 4): Promise<FanOut> {
  const conns: BellwetherClient[] = [];
  for (let i = 0; i < clients; i++) conns.push(await connect({ endpoints: [...members.slice(i % members.length), ...members.slice(0, i % members.length)] }));
  const stop = new AbortController();
  const counts = new Array<number>(watchers).fill(0);
  const running = counts.map(async (_, i) => {
    try {
      // Every key from "\0" on.
      for await (const _ev of conns[i % clients]!.watch({ start: Buffer.from([0]) }, { signal: stop.signal, mode: 'any-follower' })) counts[i]!++;
    } catch {
      // Counted as what it delivered.
    }
  });
  return {
    get events() {
      return counts.reduce((a, b) => a + b, 0);
    },
    async ready(timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        if (counts.every((c) => c > 0)) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    },
    async stop() {
      stop.abort();
      await Promise.all(running);
      await Promise.all(conns.map((c) => c.close()));
    },
  };
}
