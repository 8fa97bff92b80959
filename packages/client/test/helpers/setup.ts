import { after, before } from 'node:test';
import { type BellwetherClient, type ClientOptions, connect } from '../../src/index';
import { FakeKvServer, type FakeOptions } from './fake-server';

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
