import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterSampler, type Observe } from './cluster-sampler';
import { ConfigError, parseAddress } from './config';
import type { NodeMetrics } from './metrics';
import type { Replica } from './replica';

/** /readyz fails while this member's applied index trails what it knows is committed by more than this. */
export const READY_MAX_APPLY_LAG_ENTRIES = 1000;

export interface HttpEndpointsOptions {
  listen: string;
  clusterId: string;
  replica: Replica;
  metrics: NodeMetrics;
  /** Asks a member about itself for the dashboard (see ClusterSampler). */
  observe: Observe;
}

export interface HttpEndpoints {
  /** The bound port (useful when listening on port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Static files of the dashboard: ours (dashboard/) and uPlot's, from its package. */
function staticFiles(): Map<string, { path: string; type: string }> {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/ and src/ both sit one level below the package root.
  const dashboard = join(here, '..', 'dashboard');
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  return new Map([
    ['/', { path: join(dashboard, 'index.html'), type: 'text/html; charset=utf-8' }],
    ['/dashboard.js', { path: join(dashboard, 'dashboard.js'), type: 'text/javascript; charset=utf-8' }],
    ['/dashboard.css', { path: join(dashboard, 'dashboard.css'), type: 'text/css; charset=utf-8' }],
    ['/vendor/uPlot.iife.min.js', { path: join(uplot, 'dist', 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' }],
    ['/vendor/uPlot.min.css', { path: join(uplot, 'dist', 'uPlot.min.css'), type: 'text/css; charset=utf-8' }],
  ]);
}

/**
 * Whether this member can serve: it knows a leader and has applied what it
 * knows is committed (within {@link READY_MAX_APPLY_LAG_ENTRIES}).
 */
export function readiness(replica: Replica): { ready: boolean; reason: string } {
  if (replica.fatalError) return { ready: false, reason: `stopped after a storage failure: ${replica.fatalError.message}` };
  if (!replica.leaderId) return { ready: false, reason: 'no leader known' };
  const commit = replica.raftStatus().commit;
  const behind = commit - replica.appliedIndex;
  if (behind > READY_MAX_APPLY_LAG_ENTRIES) return { ready: false, reason: `applied index ${replica.appliedIndex} is ${behind} entries behind commit ${commit}` };
  return { ready: true, reason: `leader ${replica.leaderId}, applied ${replica.appliedIndex} of commit ${commit}` };
}

/**
 * The node's HTTP side, on its own port (--metrics-listen): /metrics
 * (Prometheus text format), /healthz (the process answers), /readyz (see
 * {@link readiness}), and the dashboard at / with its data at /api/cluster.
 */
export async function startHttpEndpoints(opts: HttpEndpointsOptions): Promise<HttpEndpoints> {
  const { host, port: wanted } = parseAddress('--metrics-listen', opts.listen);
  const files = staticFiles();
  const sampler = new ClusterSampler(opts.clusterId, opts.replica, opts.observe);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'only GET and HEAD\n');
    if (path === '/metrics') return send(res, 200, opts.metrics.contentType, await opts.metrics.text());
    if (path === '/healthz') return send(res, 200, 'text/plain', 'ok\n');
    if (path === '/readyz') {
      const r = readiness(opts.replica);
      return send(res, r.ready ? 200 : 503, 'text/plain', `${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`);
    }
    if (path === '/api/cluster') return send(res, 200, 'application/json', JSON.stringify(await sampler.snapshot()), { 'cache-control': 'no-store' });
    const file = files.get(path);
    if (file) return send(res, 200, file.type, await readFile(file.path));
    return send(res, 404, 'text/plain', `no such page: ${path}\n`);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) send(res, 500, 'text/plain', `${err.message}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConfigError(`--metrics-listen ${opts.listen}: cannot listen (${err.code ?? err.message}); is the port in use?`)),
    );
    server.listen({ host: host.replace(/^\[|\]$/g, ''), port: wanted, exclusive: true }, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        sampler.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, code: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
