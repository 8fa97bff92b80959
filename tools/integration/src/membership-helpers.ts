// Helpers for membership tests: cluster calls, incarnation waits, and a
// steady SDK write load whose acknowledged writes are checked afterwards.
import { type BellwetherClient, FailedPrecondition } from '@bellwether/client';
import type { GetResponse__Output, MembersResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { clientsFor, type NodeProcess, type TestCluster, unary, waitFor } from './cluster';

export const clusterApi = (n: NodeProcess) => clientsFor(n.address).cluster as unknown as grpc.Client;
export const kvApi = (n: NodeProcess) => clientsFor(n.address).kv as unknown as grpc.Client;

export const members = (n: NodeProcess) => unary<MembersResponse__Output>(clusterApi(n), 'Members', {}, 1000);

/** Waits until every running node has recorded every member's incarnation; returns them by id. */
export async function waitForIncarnations(c: TestCluster, timeoutMs = 20_000): Promise<Map<string, string>> {
  let seen = new Map<string, string>();
  await waitFor(
    async () => {
      for (const n of c.nodes.filter((x) => x.running)) {
        const res = await members(n);
        if (res.members.some((m) => !m.incarnation)) return undefined;
        seen = new Map(res.members.map((m) => [m.id, m.incarnation]));
      }
      return true;
    },
    timeoutMs,
    'every node knows every member incarnation',
  );
  return seen;
}

/** Reads `key` on `n` from its local state, waiting until it is there. */
export function readLocal(n: NodeProcess, key: string, timeoutMs = 20_000): Promise<GetResponse__Output> {
  return waitFor(
    async () => {
      const r = await unary<GetResponse__Output>(kvApi(n), 'Get', { key: Buffer.from(key), read: { mode: 'READ_MODE_ANY_FOLLOWER' } }, 2000);
      return r.kv ? r : undefined;
    },
    timeoutMs,
    `${n.id} holds ${key}`,
  );
}

/** The running node that says it leads (in the highest term), if any. */
export async function leaderNow(c: TestCluster): Promise<NodeProcess | undefined> {
  const running = c.nodes.filter((n) => n.running);
  const statuses = await Promise.all(running.map((n) => c.status(n).catch(() => undefined)));
  let best: { n: NodeProcess; term: number } | undefined;
  running.forEach((n, i) => {
    const st = statuses[i];
    if (st?.role === 'ROLE_LEADER' && (!best || st.term > best.term)) best = { n, term: st.term };
  });
  return best?.n;
}

/** Retries a Cluster call on whichever node leads now, until it succeeds. */
export async function onLeader<Res>(c: TestCluster, method: string, req: object, timeoutMs = 30_000): Promise<Res> {
  let last: unknown;
  try {
    return await waitFor(
      async () => {
        const leader = await leaderNow(c);
        if (!leader) return undefined;
        return unary<Res>(clusterApi(leader), method, req, 5000).catch((err: unknown) => {
          last = err;
          return undefined;
        });
      },
      timeoutMs,
      `${method} ${JSON.stringify(req)} succeeds on the leader`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last error: ${String((last as Error | undefined)?.message ?? last)}`);
  }
}

/** Sequential SDK writes until stopped; every acknowledged key is remembered. */
export class WriteLoad {
  readonly acked: string[] = [];
  readonly errors: string[] = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly client: BellwetherClient,
    private readonly prefix: string,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const key = `${this.prefix}/${i}`;
      try {
        await this.client.put(key, `v${i}`, { deadlineMs: 20_000 });
        this.acked.push(key);
      } catch (err) {
        this.errors.push(`${key}: ${(err as Error).message}`);
        // A failing write (a closed client after a failed test) must not spin the loop.
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Waits for `n` more acknowledged writes (the load is moving). */
  async progress(n = 20, timeoutMs = 30_000): Promise<void> {
    const target = this.acked.length + n;
    await waitFor(() => (this.acked.length >= target ? true : undefined), timeoutMs, `${n} more writes are acknowledged`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** Stops the load and checks it: no application-visible error, nothing lost, and `holder` has the first and the last write. */
  async stopAndCheck(holder: NodeProcess): Promise<void> {
    await this.stop();
    if (this.errors.length > 0) throw new Error(`application-visible errors: ${this.errors.slice(0, 5).join('; ')}`);
    await this.verify();
    await readLocal(holder, this.acked[0]!);
    await readLocal(holder, this.acked.at(-1)!);
  }

  /** Every acknowledged write is readable (linearizably) through the SDK. */
  async verify(): Promise<void> {
    for (const key of this.acked) {
      const got = await this.client.get(key);
      if (!got.kv) throw new Error(`acknowledged write ${key} is lost`);
    }
  }
}

/**
 * Starts a node added with AddMember (an empty learner) and promotes it once
 * it has caught up (PromoteMember is refused until then); resolves with the
 * milliseconds from its start to its promotion.
 */
export async function startAndPromote(client: BellwetherClient, node: NodeProcess, timeoutMs = 60_000, startArgs: string[] = []): Promise<number> {
  const startedMs = Date.now();
  node.start(startArgs);
  await waitFor(
    () =>
      client.promoteMember(node.id).then(
        () => true,
        (err: unknown) => {
          if (!(err instanceof FailedPrecondition)) throw err;
          return undefined;
        },
      ),
    timeoutMs,
    `${node.id} is promoted`,
  );
  const promotedMs = Date.now() - startedMs;
  const m = (await client.members()).members.find((x) => x.id === node.id);
  if (m?.role !== 'voter' || !/^[0-9a-f]{16}$/.test(m.incarnation)) throw new Error(`${node.id} promoted but shows as ${JSON.stringify(m)}`);
  return promotedMs;
}
