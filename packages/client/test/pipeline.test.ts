// The attempt chain's extension points: a retry policy and a router slot in
// without touching the client, and a retried write keeps its (clientId,
// sequence), so the server applies it once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PutRequest } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { CancelToken } from '../src/cancel';
import { NotLeader, Unavailable } from '../src/index';
import { MemberPool } from '../src/member';
import { attemptChain } from '../src/attempts';
import type { CallContext, Operation, RetryPolicy, Router } from '../src/pipeline';
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

const ctx = (): CallContext => ({ deadline: Date.now() + 5000, signal: new CancelToken() });
const retryOnce: RetryPolicy = { nextDelayMs: (e, _op, attempt) => (e instanceof Unavailable && attempt < 3 ? 10 : undefined) };

test('a retried write resends the same (clientId, sequence) and is applied once', async () => {
  const oneMember: Router = { route: () => pool.get(server.address), observe: () => {}, observeError: () => {} };
  const run = attemptChain(oneMember, retryOnce);
  const request: PutRequest = { key: Buffer.from('once'), value: Buffer.from('v'), clientId: 'c1', sequence: 1 };
  const op: Operation<'Put'> = { method: 'Put', kind: 'write', request, clientId: 'c1', sequence: 1 };
  const first = (await run(op, ctx())).response;
  // The answer to the first attempt was "lost": the server applied it, the client saw UNAVAILABLE.
  server.fail('Put', { kind: 'status', code: grpc.status.UNAVAILABLE, details: 'connection reset' });
  const again = (await run(op, ctx())).response;
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
  // The retries are log entries of their own, answered from the session table; the key was written once.
  assert.equal(server.group.applied.filter((a) => a.key === 'once').length, 1);
  assert.equal((await server.group.store.get(Buffer.from('once')))?.modRevision, Number(first.header?.revision));
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
    const run = attemptChain(router, followHint);
    const request: PutRequest = { key: Buffer.from('routed'), value: Buffer.from('v'), clientId: 'c2', sequence: 1 };
    const { header } = await run({ method: 'Put', kind: 'write', request, clientId: 'c2', sequence: 1 }, ctx());
    assert.equal(header.memberId, 'm2');
    assert.equal(other.requests.Put.length, 1);
  } finally {
    await other.stop();
  }
});

test('the cluster retry policy: hints at once, back-off with jitter, never what will fail again', async () => {
  const { ClusterRetryPolicy } = await import('../src/routing');
  const { Aborted, InvalidArgument, Internal, ResourceExhausted } = await import('../src/index');
  const policy = new ClusterRetryPolicy({ retryWrites: true, retryReads: true, attemptTimeoutMs: 3000, backoff: { initialMs: 100, maxMs: 400 } });
  const write: Operation = { method: 'Put', kind: 'write', request: { key: Buffer.from('k') }, clientId: 'c', sequence: 1 };
  const read: Operation = { method: 'Get', kind: 'read', request: { key: Buffer.from('k') }, readMode: 'read-your-writes' };
  const call = (hint?: string) => ({ startedAt: Date.now(), tried: new Set<string>(), hintAddress: hint, consecutiveHints: hint ? 1 : 0, lastAddress: undefined });
  const c = ctx();
  assert.equal(policy.nextDelayMs(new NotLeader('x', { leaderAddress: 'a:1' }), write, 1, c, call('a:1')), 0);
  const loopingHints = { ...call('a:1'), consecutiveHints: 3 };
  const d = policy.nextDelayMs(new NotLeader('x'), write, 2, c, loopingHints)!;
  assert.ok(d >= 100 && d <= 200, `a hint loop backs off (${d})`);
  for (let attempt = 1; attempt <= 6; attempt++) {
    const delay = policy.nextDelayMs(new Unavailable('x', { mayHaveApplied: true }), write, attempt, c, call())!;
    const ceiling = Math.min(400, 100 * 2 ** (attempt - 1));
    assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${attempt}: ${delay} in [${ceiling / 2}, ${ceiling}]`);
  }
  assert.equal(policy.nextDelayMs(new Unavailable('x'), read, 1, c, call()), 0, 'a read tries another member at once');
  assert.ok(policy.nextDelayMs(new ResourceExhausted('x'), read, 1, c, call())! > 0, 'an overloaded member gets a back-off');
  assert.equal(policy.nextDelayMs(new InvalidArgument('x'), write, 1, c, call()), undefined);
  assert.equal(policy.nextDelayMs(new Aborted('x'), write, 1, c, call()), undefined);
  assert.ok(policy.nextDelayMs(new Internal('x'), write, 1, c, call())! > 0);
  assert.equal(policy.nextDelayMs(new Internal('x'), write, 3, c, call()), undefined, 'INTERNAL is retried a few times only');
  const off = new ClusterRetryPolicy({ retryWrites: false, retryReads: false, attemptTimeoutMs: 3000, backoff: { initialMs: 100, maxMs: 400 } });
  assert.equal(off.nextDelayMs(new Unavailable('x'), write, 1, c, call()), undefined);
  assert.equal(off.attemptTimeoutMs(write), undefined, 'one attempt gets the whole deadline');
  assert.equal(policy.attemptTimeoutMs(write), 3000);
});
