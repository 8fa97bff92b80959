// Helpers for the SDK's tests against real `bellwether serve` clusters.
import { type BellwetherClient, type ClientOptions, connect } from '@bellwether/client';
import { type NodeProcess, TestCluster, waitFor } from './cluster';

interface TestContextLike {
  after(fn: () => Promise<void>): void;
  diagnostic(message: string): void;
}

/** Starts a real cluster stopped (by PID) when the test ends, and waits for its leader. */
export async function startSdkCluster(t: TestContextLike, size = 3, args: string[] = []): Promise<{ cluster: TestCluster; leader: NodeProcess }> {
  const cluster = await TestCluster.start({ size, args });
  t.after(async () => {
    await cluster.stop();
  });
  const leader = await cluster.waitForLeader(20_000);
  return { cluster, leader };
}

/** An SDK client closed when the test ends; quick probes so tests do not wait on defaults. */
export async function sdkClient(t: TestContextLike, endpoints: readonly string[], options: Partial<ClientOptions> = {}): Promise<BellwetherClient> {
  const client = await connect({ endpoints, heartbeatIntervalMs: 250, heartbeatTimeoutMs: 2000, ...options });
  t.after(async () => {
    await client.close();
  });
  return client;
}

/** Waits until the client follows `leaderId` and sees `up` members up. */
export function clientFollows(client: BellwetherClient, leaderId: string, up: number, timeoutMs = 20_000): Promise<true> {
  return waitFor(
    () => {
      const v = client.cluster();
      return v.leader?.id === leaderId && v.leader.reachable && v.members.filter((m) => m.state === 'up').length >= up ? true : undefined;
    },
    timeoutMs,
    `the client follows ${leaderId} with ${up} members up`,
  );
}

/** Ends when the promise does, or after `ms` (for diagnostics only, never asserted). */
export function elapsedSince(startedMs: number): string {
  return `${Date.now() - startedMs} ms`;
}
