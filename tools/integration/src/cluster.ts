// Real `bellwether serve` processes on 127.0.0.1 for tests: ephemeral ports,
// temp data dirs, and stopping exactly the processes started (by PID).
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClusterClient, type KVClient, loadPublicApi, type StatusResponse__Output, unary } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { ServeProcess } from '@bellwether/server/process';

export const SERVER_BIN = fileURLToPath(new URL('../../../apps/server/dist/bin.js', import.meta.url));

/** Ports free right now on 127.0.0.1 (the OS picks them). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = createServer();
      s.listen(0, '127.0.0.1');
      await once(s, 'listening');
      return s;
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** One `bellwether serve` process of this checkout's build. */
export class NodeProcess extends ServeProcess {
  constructor(
    id: string,
    address: string,
    dataDir: string,
    args: string[],
    logDir: string,
    /** The peer port's address, when peers have a port of their own. */
    readonly peerAddress?: string,
    /** The HTTP endpoints' address (--metrics-listen), when the cluster gave it one. */
    readonly metricsAddress?: string,
  ) {
    // Extra Node.js flags for the servers, e.g. BELLWETHER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
    super(id, address, dataDir, logDir, SERVER_BIN, args, (process.env['BELLWETHER_NODE_FLAGS'] ?? '').split(' ').filter(Boolean));
  }
}

export interface Clients {
  kv: KVClient;
  cluster: ClusterClient;
}

const clientCache = new Map<string, Clients>();

/** Cached clients for a node; pass `credentials` for a TLS client port (cached apart from plaintext ones). */
export function clientsFor(address: string, credentials?: grpc.ChannelCredentials): Clients {
  const cacheKey = credentials ? `${address}#tls` : address;
  let c = clientCache.get(cacheKey);
  if (!c) {
    const api = loadPublicApi();
    // Nodes start slowly on a loaded machine: keep reconnect backoff short, or
    // an early "connection refused" leaves the channel backing off for seconds.
    const options = { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 250 };
    c = {
      kv: new api.bellwether.kv.v1.KV(address, credentials ?? grpc.credentials.createInsecure(), options),
      cluster: new api.bellwether.cluster.v1.Cluster(address, credentials ?? grpc.credentials.createInsecure(), options),
    };
    clientCache.set(cacheKey, c);
  }
  return c;
}

export function closeClients(): void {
  for (const c of clientCache.values()) {
    c.kv.close();
    c.cluster.close();
  }
  clientCache.clear();
}

export { unary };

export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${lastErr ? ` (last error: ${String(lastErr)})` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface ClusterOptions {
  size: number;
  /** Extra flags for every node. */
  args?: string[];
  clusterId?: string;
  /** Extra flags for one node, given every member's id and address (e.g. `--peer-dial` through proxies). */
  nodeArgs?: (member: ClusterMember, members: ClusterMember[]) => string[];
  /** Give each node a peer port of its own (--peer-listen); --peers then names those. */
  peerPorts?: boolean;
  /** Give each node HTTP endpoints on a port of their own (--metrics-listen). */
  metricsPorts?: boolean;
  /** How the harness itself (status, waitForLeader) reaches the client ports, e.g. TLS. */
  credentials?: grpc.ChannelCredentials;
}

export interface ClusterMember {
  id: string;
  address: string;
  peerAddress?: string;
  metricsAddress?: string;
}

/** How many times {@link TestCluster.start} picks new ports when a member finds one taken. */
const PORT_ATTEMPTS = 3;
/** How long {@link TestCluster.start} waits for the members to answer (or exit) before it lets the test go on. */
const STARTUP_WAIT_MS = 20_000;

export class TestCluster {
  private constructor(
    readonly nodes: NodeProcess[],
    readonly root: string,
    readonly credentials?: grpc.ChannelCredentials,
    private readonly baseArgs: string[] = [],
  ) {}

  /**
   * Starts the members and waits until each answers or exits. A port is free
   * when chosen but may be taken by another process before the member binds
   * it; a member that exits for that reason makes the cluster start again on
   * new ports, so such a race does not fail a test.
   */
  static async start(opts: ClusterOptions): Promise<TestCluster> {
    for (let attempt = 1; ; attempt++) {
      const cluster = await TestCluster.spawn(opts);
      const taken = await cluster.portTakenAtStartup();
      if (!taken || attempt === PORT_ATTEMPTS) return cluster;
      console.error(`cluster start: ${taken} found its port taken; starting again on new ports`);
      await cluster.stop();
    }
  }

  private static async spawn(opts: ClusterOptions): Promise<TestCluster> {
    const root = mkdtempSync(join(tmpdir(), 'bellwether-cluster-'));
    const perNode = 1 + (opts.peerPorts ? 1 : 0) + (opts.metricsPorts ? 1 : 0);
    const ports = (await freePorts(perNode * opts.size)).map((p) => `127.0.0.1:${p}`);
    const members: ClusterMember[] = Array.from({ length: opts.size }, (_, i) => {
      const own = ports.slice(i * perNode, (i + 1) * perNode);
      return {
        id: `n${i + 1}`,
        address: own.shift()!,
        ...(opts.peerPorts ? { peerAddress: own.shift()! } : {}),
        ...(opts.metricsPorts ? { metricsAddress: own.shift()! } : {}),
      };
    });
    const peers = members.map((m) => `${m.id}=${m.peerAddress ?? m.address}`).join(',');
    const nodes = members.map((m) => {
      const dataDir = join(root, m.id);
      mkdirSync(dataDir, { recursive: true });
      const args = ['--id', m.id, '--listen', m.address, '--data-dir', dataDir, '--peers', peers, '--log-level', 'info', ...(opts.args ?? [])];
      if (opts.clusterId) args.push('--cluster-id', opts.clusterId);
      if (m.peerAddress) args.push('--peer-listen', m.peerAddress);
      if (m.metricsAddress) args.push('--metrics-listen', m.metricsAddress);
      if (opts.nodeArgs) args.push(...opts.nodeArgs(m, members));
      return new NodeProcess(m.id, m.address, dataDir, args, root, m.peerAddress, m.metricsAddress);
    });
    for (const n of nodes) n.start();
    return new TestCluster(nodes, root, opts.credentials, opts.args ?? []);
  }

  /** The id of a member that exited because a port was in use, once every member answers or has exited. */
  private async portTakenAtStartup(): Promise<string | undefined> {
    const pending = new Set(this.nodes);
    const check = async (): Promise<{ taken?: string } | undefined> => {
      for (const n of pending) {
        if (!n.running) {
          await n.waitExit();
          if (/EADDRINUSE|port in use/.test(n.log())) return { taken: n.id };
          pending.delete(n);
        } else if (await this.answers(n)) pending.delete(n);
      }
      return pending.size === 0 ? {} : undefined;
    };
    // Members still silent after the wait: the test goes on and finds out itself.
    const outcome = await waitFor(check, STARTUP_WAIT_MS, 'every member answers or has exited').catch(() => undefined);
    return outcome?.taken;
  }

  /** Whether every port of `n` answers (any answer, an auth error too: a listener is there). */
  private async answers(n: NodeProcess): Promise<boolean> {
    const grpcAnswers = await this.status(n, 500).then(
      () => true,
      (e: grpc.ServiceError) => e.code !== grpc.status.UNAVAILABLE && e.code !== grpc.status.DEADLINE_EXCEEDED,
    );
    if (!grpcAnswers || !n.metricsAddress) return grpcAnswers;
    return fetch(`http://${n.metricsAddress}/healthz`, { signal: AbortSignal.timeout(500) }).then(
      () => true,
      () => false,
    );
  }

  /**
   * A node not started yet, for a member to be added with Cluster.AddMember:
   * its own port and empty data dir, `--initial-cluster-state existing` and
   * the current members as `--peers`. It is stopped with the cluster.
   */
  async newNode(id: string, extraArgs: string[] = []): Promise<NodeProcess> {
    const [port] = await freePorts(1);
    const address = `127.0.0.1:${port}`;
    const dataDir = join(this.root, `${id}-${Date.now()}`);
    mkdirSync(dataDir, { recursive: true });
    const peers = [...this.nodes.filter((n) => n.running && n.id !== id), { id, address }].map((m) => `${m.id}=${m.address}`).join(',');
    const args = ['--id', id, '--listen', address, '--data-dir', dataDir, '--peers', peers, '--initial-cluster-state', 'existing', '--log-level', 'info', ...this.baseArgs, ...extraArgs];
    const node = new NodeProcess(id, address, dataDir, args, this.root);
    this.nodes.push(node);
    return node;
  }

  node(id: string): NodeProcess {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Metadata on the harness's own calls (e.g. an auth token once auth is enabled). */
  callMetadata: () => grpc.Metadata = () => new grpc.Metadata();

  async status(n: NodeProcess, deadlineMs = 1000): Promise<StatusResponse__Output> {
    return unary<StatusResponse__Output>(clientsFor(n.address, this.credentials).cluster as unknown as grpc.Client, 'Status', {}, deadlineMs, this.callMetadata());
  }

  /** Waits until `member` has applied everything `leader` has committed. */
  async waitForCatchUp(leader: NodeProcess, member: NodeProcess, timeoutMs: number): Promise<void> {
    await waitFor(
      async () => {
        const [ls, ms] = await Promise.all([this.status(leader), this.status(member)]);
        return Number(ms.appliedIndex) >= Number(ls.commitIndex) ? true : undefined;
      },
      timeoutMs,
      `${member.id} caught up with the leader`,
    );
  }

  /** Waits until every running node agrees on one leader (among the running ones). */
  async waitForLeader(timeoutMs = 30_000): Promise<NodeProcess> {
    let seen = '';
    try {
      return await waitFor(
        async () => {
          const running = this.nodes.filter((n) => n.running);
          const statuses = await Promise.all(running.map((n) => this.status(n).catch((e: Error) => e)));
          seen = running.map((n, i) => {
            const s = statuses[i];
            return s instanceof Error ? `${n.id}: ${s.message.slice(0, 80)}` : `${n.id}: ${s?.role} term ${s?.term} leader ${s?.leaderId || '-'}`;
          }).join('; ');
          const ok = statuses.filter((s): s is StatusResponse__Output => !(s instanceof Error));
          if (ok.length !== running.length) return undefined;
          const leaders = new Set(ok.map((s) => s.leaderId));
          if (leaders.size !== 1) return undefined;
          const id = [...leaders][0];
          const leader = running.find((n) => n.id === id);
          if (!leader) return undefined;
          const st = ok[running.indexOf(leader)];
          return st?.role === 'ROLE_LEADER' ? leader : undefined;
        },
        timeoutMs,
        'the running nodes agree on a leader',
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last seen: ${seen}`);
    }
  }

  followers(leader: NodeProcess): NodeProcess[] {
    return this.nodes.filter((n) => n !== leader && n.running);
  }

  /**
   * Freezes every follower of `leader` (SIGSTOP), so nothing commits until
   * they go on: the returned function resumes them, and so does the end of
   * test `t` at the latest.
   */
  pauseFollowers(leader: NodeProcess, t: TestHooks): () => void {
    const followers = this.followers(leader);
    for (const f of followers) f.signal('SIGSTOP');
    const resume = () => {
      for (const f of followers) if (f.running) f.signal('SIGCONT');
    };
    t.after(async () => resume());
    return resume;
  }

  /** Stops every process this cluster started, by PID, and removes its data. */
  async stop(keepData = false): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    closeClients();
    if (!keepData) rmSync(this.root, { recursive: true, force: true });
  }

  logs(): string {
    return this.nodes.map((n) => `--- ${n.id}\n${n.log().split('\n').slice(-30).join('\n')}`).join('\n');
  }

  /**
   * Stops the cluster after test `t`. If the test failed, the tail of every
   * member's log is printed first: a failure in CI can then be explained
   * from its output alone (the data dirs and logs go with the cluster).
   */
  stopAfter(t: TestHooks): void {
    t.after(async () => {
      if (t.passed === false) console.error(`members' logs after the failed test "${t.name ?? ''}":\n${this.logs()}`);
      await this.stop();
    });
  }
}

/** What {@link TestCluster.stopAfter} needs of node:test's TestContext. */
export interface TestHooks {
  after(fn: () => Promise<void>): void;
  readonly passed?: boolean;
  readonly name?: string;
}
