// The stream transport: calls of one event-loop turn share a StreamRequest,
// replies are matched by id, each call keeps the unary semantics (errors and
// leader hints, its own deadline, AbortSignal), a broken stream fails its calls
// so that writes are retried with the same sequence, memory stays bounded, and
// a member without KV.Stream is served by unary calls.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CancelToken } from '../src/cancel';
import { Aborted, type BellwetherError, Cancelled, connect, DeadlineExceeded, InvalidArgument, OutcomeUnknown } from '../src/index';
import { MemberPool } from '../src/member';
import { FakeKvServer } from './helpers/fake-server';
import { until, withServer } from './helpers/setup';

const LEADER = { 'bellwether-leader-id': 'm2', 'bellwether-leader-address': '127.0.0.1:7002' };

describe('stream transport', () => {
  const t = withServer({ maxValueBytes: 64 }, { transport: 'stream' });

  test('concurrent calls leave as a few StreamRequests, and each gets its own reply', async () => {
    await t.client.put('warm-up', 'v');
    const before = { ...t.server.stream };
    const puts = Array.from({ length: 200 }, (_, i) => t.client.put(`batch/${i}`, `value-${i}`));
    const results = await Promise.all(puts);
    const after1 = { ...t.server.stream };
    assert.equal(after1.callsIn - before.callsIn, 200);
    assert.ok(after1.messagesIn - before.messagesIn <= 3, `${after1.messagesIn - before.messagesIn} messages for 200 calls`);
    assert.ok(after1.messagesOut - before.messagesOut < 200, `${after1.messagesOut - before.messagesOut} reply messages for 200 calls`);
    for (let i = 0; i < 200; i++) {
      const applied = t.server.group.applied.find((a) => a.key === `batch/${i}`);
      assert.equal(results[i]!.revision, applied?.revision, `batch/${i} got its own reply`);
    }
    const gets = await Promise.all(Array.from({ length: 200 }, (_, i) => t.client.get(`batch/${i}`)));
    for (const [i, g] of gets.entries()) assert.equal(g.valueString, `value-${i}`);
    assert.equal(t.server.stream.opened, 1, 'one long-lived stream');
  });

  test('errors per call in one batch: the failing calls fail, the others succeed', async () => {
    const c = await connect({ endpoints: [t.server.address], retryWrites: false, transport: 'stream' });
    try {
      await c.put('warm-up', 'v');
      // (A leader hint would move the other writes to the hinted leader: see the parity test for hints.)
      t.server.fail('Put', { kind: 'status', code: grpc.status.ABORTED, details: 'sequence too old' });
      const before = t.server.stream.messagesIn;
      const settled = await Promise.allSettled([
        c.put('e/0', 'v'),
        c.put('e/1', 'x'.repeat(65)),
        ...Array.from({ length: 10 }, (_, i) => c.put(`e/ok/${i}`, 'v')),
      ]);
      assert.ok(t.server.stream.messagesIn - before <= 2);
      const aborted = settled.filter((r) => r.status === 'rejected' && r.reason instanceof Aborted);
      const invalid = settled.filter((r) => r.status === 'rejected' && r.reason instanceof InvalidArgument);
      assert.equal(aborted.length, 1);
      assert.equal(invalid.length, 1);
      assert.equal(settled.filter((r) => r.status === 'fulfilled').length, 10);
      const err = (aborted[0] as PromiseRejectedResult).reason as Aborted;
      assert.equal(err.details, 'sequence too old');
      assert.equal(err.mayHaveApplied, false);
      assert.equal((invalid[0] as PromiseRejectedResult).reason.details, 'value: must be at most 64 bytes, got 65');
    } finally {
      await c.close();
    }
  });

  test('a StreamError becomes exactly the error the unary call raises', async () => {
    const faults = [
      { method: 'Put', fault: { kind: 'status', code: grpc.status.FAILED_PRECONDITION, details: 'not the leader', metadata: LEADER } },
      { method: 'Get', fault: { kind: 'status', code: grpc.status.UNAVAILABLE, details: 'min_index not reached', metadata: LEADER } },
      { method: 'Delete', fault: { kind: 'status', code: grpc.status.FAILED_PRECONDITION, metadata: { 'bellwether-leader-id': 'm3' } } },
      { method: 'Put', fault: { kind: 'status', code: grpc.status.ABORTED, details: 'sequence too old' } },
      { method: 'Range', fault: { kind: 'status', code: grpc.status.RESOURCE_EXHAUSTED, details: 'queue full' } },
      { method: 'Put', fault: { kind: 'apply-then-status', code: grpc.status.INTERNAL, details: 'boom' } },
    ] as const;
    const shape = (e: BellwetherError & { leaderId?: string; leaderAddress?: string }) => ({
      name: e.name,
      code: e.code,
      details: e.details,
      message: e.message,
      // Transport headers (content-type, date) aside, the metadata that means something.
      metadata: Object.fromEntries(Object.entries(e.metadata).filter(([k]) => k.startsWith('bellwether-'))),
      mayHaveApplied: e.mayHaveApplied,
      leaderId: e.leaderId,
      leaderAddress: e.leaderAddress,
    });
    const clients = {
      stream: await connect({ endpoints: [t.server.address], retryWrites: false, retryReads: false, transport: 'stream', clientId: 'parity' }),
      unary: await connect({ endpoints: [t.server.address], retryWrites: false, retryReads: false, transport: 'unary', clientId: 'parity-u' }),
    };
    try {
      for (const { method, fault } of faults) {
        const seen: Record<string, unknown> = {};
        for (const [name, c] of Object.entries(clients)) {
          t.server.fail(method, fault);
          const run =
            method === 'Put' ? c.put(`parity/${name}`, 'v') : method === 'Get' ? c.get('k') : method === 'Delete' ? c.delete('k') : c.range({ prefix: 'p' });
          const err = await run.then(
            () => assert.fail(`${method} via ${name} should fail`),
            (e: BellwetherError) => e,
          );
          seen[name] = shape(err);
          // A hint naming m2 makes the client probe m2 (nothing listens there).
          // The next call goes to m2 if it is routed before that probe fails,
          // and to the test server after: wait, so that both transports meet
          // the same state whatever their timing.
          await until(() => c.cluster().members.every((m) => m.address !== LEADER['bellwether-leader-address'] || m.state === 'down'), 'the hinted member was probed');
        }
        assert.deepEqual(seen.stream, seen.unary, `${method} ${fault.code}`);
      }
    } finally {
      await clients.stream.close();
      await clients.unary.close();
    }
  });

  test('one call past its deadline fails alone; its late reply is ignored', async () => {
    const c = await connect({ endpoints: [t.server.address], retryReads: false, transport: 'stream' });
    try {
      await c.put('slow', 'v');
      t.server.fail('Get', { kind: 'delay', ms: 400 });
      const answeredBefore = t.server.stream.answered;
      const timeoutsBefore = t.server.stream.timeoutsMs.length;
      const slow = c.get('slow', { deadlineMs: 150 }).catch((e: unknown) => e);
      const others = await Promise.all(Array.from({ length: 20 }, (_, i) => c.put(`others/${i}`, 'v')));
      assert.equal(others.length, 20);
      const err = await slow;
      assert.ok(err instanceof DeadlineExceeded && !(err instanceof OutcomeUnknown), String(err));
      const sentTimeout = t.server.stream.timeoutsMs[timeoutsBefore]!;
      assert.ok(sentTimeout > 0 && sentTimeout <= 150, `timeout_ms ${sentTimeout}`);
      // The server answers the slow get late; the client ignores it and carries on.
      await until(() => t.server.stream.answered >= answeredBefore + 21, 'the late reply was sent');
      assert.equal((await c.get('slow')).valueString, 'v');
    } finally {
      await c.close();
    }
  });

  test('AbortSignal cancels one call locally; the stream carries on', async () => {
    const opened = t.server.stream.opened;
    t.server.fail('Put', { kind: 'hang' });
    const controller = new AbortController();
    const before = t.server.requests.Put.length;
    const pending = t.client.put('abort/1', 'v', { signal: controller.signal });
    await until(() => t.server.requests.Put.length > before, 'the write reached the server');
    controller.abort(new Error('user went away'));
    const err = await pending.catch((e: unknown) => e);
    assert.ok(err instanceof Cancelled, String(err));
    assert.equal(err.mayHaveApplied, true); // it had been sent
    assert.equal((err.cause as Error).message, 'user went away');
    assert.equal((await t.client.put('abort/2', 'v')).succeeded, true);
    assert.equal(t.server.stream.opened, opened, 'the stream was not reopened');
  });

  test('the stream breaks mid-flight: its calls are retried, the write with the same sequence, applied once', async () => {
    await t.client.put('warm-up', 'v');
    const opened = t.server.stream.opened;
    t.server.fail('Put', { kind: 'apply-then-break' });
    const results = await Promise.all([
      t.client.put('broken/0', 'v0'),
      ...Array.from({ length: 9 }, (_, i) => t.client.put(`broken/${i + 1}`, `v${i + 1}`)),
      t.client.get('warm-up'),
    ]);
    assert.equal(results.length, 11);
    assert.ok(t.server.stream.opened > opened, 'a new stream was opened');
    const attempts = t.server.requests.Put.filter((r) => r.key.toString() === 'broken/0');
    assert.equal(attempts.length, 2);
    assert.equal(attempts[0]!.sequence, attempts[1]!.sequence);
    for (let i = 0; i < 10; i++) {
      assert.equal(t.server.group.applied.filter((a) => a.key === `broken/${i}`).length, 1, `broken/${i} applied once`);
      assert.equal((await t.client.get(`broken/${i}`)).valueString, `v${i}`);
    }
  });
});

describe('a member without KV.Stream (an older server)', () => {
  let server: FakeKvServer;
  before(async () => {
    server = await FakeKvServer.start();
    server.streamUnimplemented = true;
  });
  after(() => server.stop());

  test('answers UNIMPLEMENTED once; every call then goes unary', async () => {
    const c = await connect({ endpoints: [server.address], transport: 'stream' });
    try {
      const first = await Promise.all(Array.from({ length: 5 }, (_, i) => c.put(`old/${i}`, `v${i}`)));
      assert.equal(first.length, 5);
      for (let i = 0; i < 5; i++) assert.equal((await c.get(`old/${i}`)).valueString, `v${i}`);
      await c.delete('old/0');
      assert.equal(server.calls.get('Stream'), 1, 'the stream was tried once');
      assert.equal(server.group.applied.filter((a) => a.key.startsWith('old/')).length, 6);
    } finally {
      await c.close();
    }
  });
});

describe('bounds', () => {
  let server: FakeKvServer;
  const pools: MemberPool[] = [];
  const pool = (limits: { maxInFlight?: number; maxQueued?: number }) => {
    const p = new MemberPool({ credentials: grpc.credentials.createInsecure(), channelOptions: {}, streamLimits: limits });
    pools.push(p);
    return p;
  };
  before(async () => {
    server = await FakeKvServer.start();
  });
  after(async () => {
    for (const p of pools) p.close();
    await server.stop();
  });
  const put = (key: string) => ({ key: Buffer.from(key), value: Buffer.from('v') });
  const opts = (signal = new CancelToken()) => ({ deadline: Date.now() + 10_000, signal });

  test('at most maxInFlight calls are unanswered on a stream; the rest wait their turn', async () => {
    const member = pool({ maxInFlight: 4 }).get(server.address);
    const before = { ...server.stream, maxInFlight: 0 };
    server.stream.maxInFlight = 0;
    const res = await Promise.all(Array.from({ length: 50 }, (_, i) => member.call('Put', put(`cap/${i}`), opts())));
    assert.equal(res.length, 50);
    assert.ok(server.stream.maxInFlight <= 4, `server saw ${server.stream.maxInFlight} in flight`);
    assert.ok(server.stream.messagesIn - before.messagesIn >= 13);
    assert.equal(member.stream?.inFlight, 0);
  });

  test('a full queue fails further calls with RESOURCE_EXHAUSTED; a queued call aborted was never sent', async () => {
    const member = pool({ maxInFlight: 1, maxQueued: 2 }).get(server.address);
    const ctl = new CancelToken();
    let sent = 0;
    const calls = [0, 1].map((i) => member.call('Put', put(`queue/${i}`), { ...opts(ctl), onSent: () => sent++ }).catch((e: unknown) => e));
    const third = await member.call('Put', put('queue/2'), opts()).catch((e: unknown) => e);
    assert.equal((third as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match((third as grpc.ServiceError).details, /wait for one of 1 in-flight slots/);
    ctl.abort();
    const errs = await Promise.all(calls);
    for (const e of errs) assert.equal((e as grpc.ServiceError).code, grpc.status.CANCELLED);
    assert.equal(sent, 0);
    assert.ok(!server.requests.Put.some((r) => r.key.toString().startsWith('queue/')));
  });
});
