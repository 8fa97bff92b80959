import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterClient, type KVClient, loadPublicApi } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { DEFAULTS, type NodeConfig, type StartedNode, startNode } from '../src/index';

export function tempDir(t: { after(fn: () => void | Promise<void>): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-node-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function singleNodeConfig(dataDir: string, overrides: Partial<NodeConfig> = {}): NodeConfig {
  return {
    id: 'n1',
    listen: '127.0.0.1:0',
    dataDir,
    peers: new Map([['n1', '127.0.0.1:0']]),
    ...DEFAULTS,
    ...overrides,
  };
}

export interface Clients {
  kv: KVClient;
  cluster: ClusterClient;
  close(): void;
}

export function clientsFor(port: number): Clients {
  const api = loadPublicApi();
  const addr = `127.0.0.1:${port}`;
  const kv = new api.bellwether.kv.v1.KV(addr, grpc.credentials.createInsecure());
  const cluster = new api.bellwether.cluster.v1.Cluster(addr, grpc.credentials.createInsecure());
  return {
    kv,
    cluster,
    close() {
      kv.close();
      cluster.close();
    },
  };
}

/** Starts a single in-process node and its clients; both stop after the test. */
export async function singleNode(
  t: { after(fn: () => void | Promise<void>): void },
  overrides: Partial<NodeConfig> = {},
): Promise<{ node: StartedNode; clients: Clients; dataDir: string }> {
  const dataDir = tempDir(t);
  const node = await startNode(singleNodeConfig(dataDir, overrides), pino({ level: 'silent' }));
  const clients = clientsFor(node.port);
  t.after(async () => {
    clients.close();
    await node.stop();
  });
  await waitFor(() => node.replica.isLeader, 5000, 'the single node elects itself');
  return { node, clients, dataDir };
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Promisifies a unary grpc-js call; rejects with the ServiceError. */
export function call<Req, Res>(
  fn: (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  self: unknown,
  req: Req,
  deadlineMs = 5000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn.call(self, req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}
