import { after, before } from 'node:test';
import { type BellwetherClient, type ClientOptions, connect } from '../../src/index';
import { FakeCluster, FakeKvServer, type FakeOptions } from './fake-server';

/** Both transports, for tests that must hold for each. */
export const TRANSPORTS = ['stream', 'unary'] as const;

/** Starts a fake server and a client on it for the enclosing test file or suite. */
export function withServer(fakeOptions: FakeOptions = {}, clientOptions: Partial<ClientOptions> = {}) {
  const ctx = {} as { server: FakeKvServer; client: BellwetherClient };
  before(async () => {
    ctx.server = await FakeKvServer.start(fakeOptions);
    ctx.client = await connect({ endpoints: [ctx.server.address], ...clientOptions });
  });
  after(async () => {
    await ctx.client.close();
    await ctx.server.stop();
  });
  return ctx;
}

export const text = (s: string) => new TextEncoder().encode(s);

/** Starts a fake cluster of `size` members (m1 leads) and a client seeded with the first member only. */
export function withCluster(size: number, clientOptions: Partial<ClientOptions> = {}) {
  const ctx = {} as { cluster: FakeCluster; client: BellwetherClient };
  before(async () => {
    ctx.cluster = await FakeCluster.start(size);
    ctx.client = await connect({ endpoints: [ctx.cluster.members[0]!.address], heartbeatIntervalMs: 200, heartbeatTimeoutMs: 2000, ...clientOptions });
  });
  after(async () => {
    await ctx.client.close();
    await ctx.cluster.stop();
  });
  return ctx;
}

/** Polls `check` until it returns a truthy value (never a timed assertion: the limit only ends a hung test). */
export async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, limitMs = 20_000): Promise<T> {
  const stop = Date.now() + limitMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > stop) throw new Error(`gave up waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until the client knows every member of the cluster up and follows `leaderId`. */
export function settled(client: BellwetherClient, size: number, leaderId: string): Promise<true> {
  return until(() => {
    const view = client.cluster();
    return view.leader?.id === leaderId && view.leader.reachable && view.members.filter((m) => m.state === 'up').length === size;
  }, `the client sees ${size} members up and ${leaderId} leading`);
}
