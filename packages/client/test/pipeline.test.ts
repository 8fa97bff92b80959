// The call pipeline's extension points: a retry policy and a router slot in
// without touching the client, and a retried write keeps its (clientId,
// sequence), so the server applies it once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { PutRequest } from '@bellwether/proto';
import { NotLeader, Unavailable } from '../src/index';
import { MemberPool } from '../src/member';
import { type CallContext, Invoker, type Operation, type RetryPolicy, type Router, SingleEndpointRouter } from '../src/pipeline';
import { FakeKvServer } from './helpers/fake-server';

let server: FakeKvServer;
let pool: MemberPool;
before(async () => {
  server = await FakeKvServer.start();
  pool = new MemberPool({ credentials: grpc.credentials.createInsecure(), channelOptions: {} });
});
after(async () => {
  pool.close();
  await server.stop();
});

const ctx = (): CallContext => ({ deadline: Date.now() + 5000, signal: new AbortController().signal });
const retryOnce: RetryPolicy = { nextDelayMs: (e, _op, attempt) => (e instanceof Unavailable && attempt < 3 ? 10 : undefined) };

test('a retried write resends the same (clientId, sequence) and is applied once', async () => {
  const invoker = new Invoker(new SingleEndpointRouter(pool, server.address), retryOnce, () => {});
  const request: PutRequest = { key: Buffer.from('once'), value: Buffer.from('v'), clientId: 'c1', sequence: 1 };
  const op: Operation<'Put'> = { method: 'Put', kind: 'write', request, clientId: 'c1', sequence: 1 };
  const first = await invoker.run(op, ctx());
  // The answer to the first attempt was "lost": the server applied it, the client saw UNAVAILABLE.
  server.fail('Put', { kind: 'status', code: grpc.status.UNAVAILABLE, details: 'connection reset' });
  const again = await invoker.run(op, ctx());
  const sent = server.requests.Put.slice(-3);
  assert.deepEqual(
    sent.map((r) => [r.clientId, r.sequence]),
    [
      ['c1', 1],
      ['c1', 1],
      ['c1', 1],
    ],
  );
  assert.equal(again.header?.revision, first.header?.revision); // deduplicated, not applied twice
  assert.equal(server.revision, first.header?.revision);
});

test('a router learns from NOT_LEADER hints and routes the next attempt there', async () => {
  const other = await FakeKvServer.start({ memberId: 'm2' });
  try {
    server.fail('Put', {
      kind: 'status',
      code: grpc.status.FAILED_PRECONDITION,
      metadata: { 'bellwether-leader-id': 'm2', 'bellwether-leader-address': other.address },
    });
    let leader = server.address;
    const router: Router = {
      route: () => pool.get(leader),
      observe: () => {},
      observeError: (_m, e) => {
        if (e instanceof NotLeader && e.leaderAddress) leader = e.leaderAddress;
      },
    };
    const followHint: RetryPolicy = { nextDelayMs: (e, _op, attempt) => (e instanceof NotLeader && attempt < 3 ? 0 : undefined) };
    const invoker = new Invoker(router, followHint, () => {});
    const request: PutRequest = { key: Buffer.from('routed'), value: Buffer.from('v'), clientId: 'c2', sequence: 1 };
    const res = await invoker.run({ method: 'Put', kind: 'write', request, clientId: 'c2', sequence: 1 }, ctx());
    assert.equal(res.header?.memberId, 'm2');
    assert.equal(other.requests.Put.length, 1);
  } finally {
    await other.stop();
  }
});
