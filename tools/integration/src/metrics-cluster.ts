// A TestCluster whose members serve HTTP /metrics, /healthz, /readyz and the
// dashboard (--metrics-listen) on ephemeral ports.
import { type NodeProcess, TestCluster } from './cluster';

export interface MetricsCluster {
  cluster: TestCluster;
  /** host:port of a member's HTTP endpoints. */
  http(node: NodeProcess | string): string;
}

export async function startMetricsCluster(size: number, args: string[] = []): Promise<MetricsCluster> {
  const cluster = await TestCluster.start({ size, args, metricsPorts: true });
  return {
    cluster,
    http(node) {
      const address = (typeof node === 'string' ? cluster.node(node) : node).metricsAddress;
      if (!address) throw new Error(`no HTTP endpoints on ${typeof node === 'string' ? node : node.id}`);
      return address;
    },
  };
}

/** GET over HTTP; resolves with the status and body (rejects only when nothing answers). */
export async function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}
