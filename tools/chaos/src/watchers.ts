// SDK watchers running beside the workload, one per key prefix, each its own
// client, watching from revision 1 so that every change of the run is due to
// it wherever it (re)connects; their logs go to the watch checker.
import { type BellwetherClient, connect } from '@bellwether/client';
import type { WatchLog } from './checkers/watch';
import type { Member } from './conn';

export const WATCHED_PREFIXES = ['reg/', 'set/', 'ctr/'] as const;

export class ChaosWatchers {
  readonly logs: WatchLog[] = [];
  readonly #clients: BellwetherClient[] = [];
  readonly #stop = new AbortController();
  readonly #running: Promise<void>[] = [];

  static async start(members: Member[]): Promise<ChaosWatchers> {
    const w = new ChaosWatchers();
    for (const prefix of WATCHED_PREFIXES) {
      const client = await connect({ endpoints: members.map((m) => m.address), heartbeatIntervalMs: 250, heartbeatTimeoutMs: 1000 });
      w.#clients.push(client);
      const log: WatchLog = { name: `watch-${prefix.slice(0, -1)}`, prefix, events: [], caughtUpTo: 0, errors: [] };
      w.logs.push(log);
      w.#running.push(
        (async () => {
          try {
            for await (const ev of client.watch({ prefix }, { startRevision: 1, signal: w.#stop.signal, idleTimeoutMs: 2000 })) {
              log.events.push({ revision: ev.revision, key: ev.kv.keyString, type: ev.type, value: ev.kv.valueString });
            }
          } catch (err) {
            if (!w.#stop.signal.aborted) log.errors.push(String(err));
          }
        })(),
      );
    }
    return w;
  }

  /** Waits until every watcher has delivered the acknowledged writes up to `revision` (or `timeoutMs` passes), then stops them. */
  async finish(lastWrites: Map<string, number>, timeoutMs: number): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const until = Date.now() + timeoutMs;
    const due = (log: WatchLog) => {
      const last = [...lastWrites].filter(([key]) => key.startsWith(log.prefix)).reduce((m, [, rev]) => Math.max(m, rev), 0);
      return log.events.some((e) => e.revision >= last) || last === 0;
    };
    while (Date.now() < until && !this.logs.every(due)) await new Promise((r) => setTimeout(r, 100));
    // What each watcher has delivered is complete up to its last event's revision.
    for (const log of this.logs) log.caughtUpTo = log.events.reduce((m, e) => Math.max(m, e.revision), 0);
    this.#stop.abort();
    await Promise.all(this.#running);
    await Promise.all(this.#clients.map((c) => c.close()));
  }
}
