// Fleet-scale behaviour against fake members: an idle client asks the
// cluster nothing on a timer, a member shedding new streams is given the
// pause it asked for, and a client's retries share a bounded budget.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metadata } from '@grpc/grpc-js';
import { connect, ResourceExhausted } from '../src/index';
import { CancelToken } from '../src/cancel';
import { fromGrpcError } from '../src/errors';
import { RetryBudget } from '../src/retry-budget';
import { FakeCluster, FakeKvServer } from './helpers/fake-server';
import { until } from './helpers/setup';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('idle costs nothing', () => {
  test('with default settings an idle client makes no call after start, holds one WatchLeader stream, and connects only to members it uses', async () => {
    const cluster = await FakeCluster.start(3);
    const client = await connect({ endpoints: cluster.addresses });
    try {
      await until(() => client.cluster().leader?.reachable && client.cluster().leader?.id === 'm1', 'the client follows m1');
      const count = () => cluster.members.map((m) => (m.calls.get('Status') ?? 0) + (m.calls.get('Members') ?? 0) + m.watchOpened);
      await sleep(200); // the start-up calls are answered
      const before = count();
      // Earlier versions probed every member each second: three probes per member in this window.
      await sleep(3000);
      assert.deepEqual(count(), before, 'no calls while idle');
      assert.equal(cluster.members.filter((m) => m.watchOpened > 0).length, 1, 'one member watched');
      const view = client.cluster().members;
      assert.equal(view.reduce((n, m) => n + m.streams, 0), 1, 'one long-lived stream in all');
      assert.ok(view.filter((m) => m.connected).length < 3, 'not connected to every member before using them');
      // Still following the cluster: an election is pushed.
      cluster.elect('m2');
      await until(() => client.cluster().leader?.id === 'm2', 'the client follows m2');
      assert.equal((await client.put('k', 'v')).header.memberId, 'm2');
    } finally {
      await client.close();
      await cluster.stop();
    }
  });
});

describe('shedding', () => {
  test('a KV.Stream refused with a retry-after is reopened no sooner than asked, and the call succeeds, applied once', async () => {
    const server = await FakeKvServer.start();
    const client = await connect({ endpoints: [server.address] });
    try {
      server.shedStreams = 1;
      server.shedRetryAfterMs = 400;
      const put = await client.put('shed', 'v');
      assert.ok(put.revision > 0);
      assert.ok(server.streamOpenedAt.length >= 2, 'the stream was opened again');
      const [first, second] = server.streamOpenedAt;
      assert.ok(second! - first! >= 400, `reopened ${second! - first!} ms after the refusal, asked for 400`);
      assert.equal(server.requests.Put.filter((r) => r.key.toString() === 'shed').length, 1);
    } finally {
      await client.close();
      await server.stop();
    }
  });

  test('RESOURCE_EXHAUSTED carries the retry-after hint; a malformed one is ignored', () => {
    const md = (v: string) => {
      const metadata = new Metadata();
      metadata.set('bellwether-retry-after-ms', v);
      return { code: 8, details: 'busy', metadata };
    };
    const ok = fromGrpcError(md('250'), { method: 'Put', kind: 'write', sent: true });
    assert.ok(ok instanceof ResourceExhausted);
    assert.equal(ok.retryAfterMs, 250);
    assert.equal(ok.mayHaveApplied, false);
    const bad = fromGrpcError(md('-3'), { method: 'Get', kind: 'read' });
    assert.ok(bad instanceof ResourceExhausted);
    assert.equal(bad.retryAfterMs, undefined);
  });
});

describe('retry budget', () => {
  test('at most `limit` slots are held; waiters get them in order as they are given back', async () => {
    const budget = new RetryBudget(2);
    const signal = new CancelToken();
    const far = Date.now() + 10_000;
    const a = await budget.acquire(signal, far);
    const b = await budget.acquire(signal, far);
    assert.ok(a && b);
    const order: string[] = [];
    const c = budget.acquire(signal, far).then((r) => {
      order.push('c');
      return r;
    });
    const d = budget.acquire(signal, far).then((r) => {
      order.push('d');
      return r;
    });
    await sleep(20);
    assert.equal(budget.inUse, 2);
    assert.deepEqual(order, []);
    a();
    a(); // twice is harmless
    (await c)!();
    b();
    (await d)!();
    assert.deepEqual(order, ['c', 'd']);
    assert.equal(budget.inUse, 0);
  });

  test('a waiter gives up at its deadline or when cancelled', async () => {
    const budget = new RetryBudget(1);
    const held = await budget.acquire(new CancelToken(), Date.now() + 10_000);
    assert.equal(await budget.acquire(new CancelToken(), Date.now() + 30), undefined);
    const cancel = new CancelToken();
    const waiting = budget.acquire(cancel, Date.now() + 10_000);
    cancel.abort();
    assert.equal(await waiting, undefined);
    held!();
    assert.equal(budget.inUse, 0);
    assert.ok(await budget.acquire(new CancelToken(), Date.now() + 10));
  });
});
