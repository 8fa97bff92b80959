import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fromGrpcError } from '../src/errors';
import {
  Aborted,
  BellwetherError,
  Cancelled,
  connect,
  DeadlineExceeded,
  FailedPrecondition,
  Internal,
  InvalidArgument,
  NotLeader,
  OutcomeUnknown,
  PermissionDenied,
  ResourceExhausted,
  StatusCode,
  Unauthenticated,
  Unavailable,
  Unimplemented,
  NotFound,
  AlreadyExists,
} from '../src/index';
import { TRANSPORTS, until, withServer } from './helpers/setup';

const LEADER = { 'bellwether-leader-id': 'm2', 'bellwether-leader-address': '127.0.0.1:7002' };

function serviceError(code: number, details = 'boom', md: Record<string, string> = {}) {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata });
}

describe('status code mapping', () => {
  const cases: [number, new (...a: never[]) => BellwetherError, boolean][] = [
    // code, class, mayHaveApplied for a write
    [StatusCode.CANCELLED, Cancelled, true],
    [StatusCode.UNKNOWN, Internal, true],
    [StatusCode.INVALID_ARGUMENT, InvalidArgument, false],
    [StatusCode.DEADLINE_EXCEEDED, OutcomeUnknown, true],
    [StatusCode.NOT_FOUND, NotFound, false],
    [StatusCode.ALREADY_EXISTS, AlreadyExists, false],
    [StatusCode.PERMISSION_DENIED, PermissionDenied, false],
    [StatusCode.RESOURCE_EXHAUSTED, ResourceExhausted, false],
    [StatusCode.FAILED_PRECONDITION, FailedPrecondition, false],
    [StatusCode.ABORTED, Aborted, false],
    [StatusCode.OUT_OF_RANGE, InvalidArgument, false],
    [StatusCode.UNIMPLEMENTED, Unimplemented, false],
    [StatusCode.INTERNAL, Internal, true],
    [StatusCode.UNAVAILABLE, Unavailable, true],
    [StatusCode.DATA_LOSS, Internal, true],
    [StatusCode.UNAUTHENTICATED, Unauthenticated, false],
  ];
  for (const [code, cls, writeMayHaveApplied] of cases) {
    test(`${grpc.status[code]} -> ${cls.name}`, () => {
      const write = fromGrpcError(serviceError(code), { method: 'Put', kind: 'write', sent: true, clientId: 'c', sequence: 9 });
      assert.ok(write instanceof cls, `${write.name} is not ${cls.name}`);
      assert.ok(write instanceof BellwetherError);
      assert.ok(write instanceof Error);
      assert.equal(write.code, code);
      assert.equal(write.codeName, grpc.status[code]);
      assert.equal(write.details, 'boom');
      assert.equal(write.method, 'Put');
      assert.equal(write.mayHaveApplied, writeMayHaveApplied);
      assert.match(write.message, /^Put: /);
      const read = fromGrpcError(serviceError(code), { method: 'Get', kind: 'read', sent: true });
      assert.equal(read.mayHaveApplied, false);
      if (code === StatusCode.DEADLINE_EXCEEDED) {
        assert.ok(read instanceof DeadlineExceeded && !(read instanceof OutcomeUnknown));
      }
    });
  }

  test('FAILED_PRECONDITION with leader metadata is NotLeader, with the hint', () => {
    const e = fromGrpcError(serviceError(StatusCode.FAILED_PRECONDITION, 'not leader', LEADER), { method: 'Put', kind: 'write', sent: true });
    assert.ok(e instanceof NotLeader);
    assert.ok(e instanceof FailedPrecondition);
    assert.equal(e.leaderId, 'm2');
    assert.equal(e.leaderAddress, '127.0.0.1:7002');
    assert.deepEqual(e.metadata['bellwether-leader-id'], ['m2']);
  });

  test('a write that never left is not "may have applied"', () => {
    const e = fromGrpcError(serviceError(StatusCode.UNAVAILABLE), { method: 'Put', kind: 'write', sent: false });
    assert.equal(e.mayHaveApplied, false);
  });

  test('a non-gRPC failure becomes a BellwetherError with the cause kept', () => {
    const cause = new TypeError('weird');
    const e = fromGrpcError(cause, { method: 'Get', kind: 'read' });
    assert.ok(e instanceof BellwetherError);
    assert.equal(e.cause, cause);
    assert.equal(e.details, 'weird');
  });
});

for (const transport of TRANSPORTS) describe(`errors from a real server (${transport})`, () => {
  // One attempt per call, so every failure reaches the caller as it happened.
  const t = withServer({ maxValueBytes: 64 }, { retryWrites: false, retryReads: false, transport });

  test('NOT_LEADER (FAILED_PRECONDITION + trailing metadata) -> NotLeader', async () => {
    t.server.fail('Put', { kind: 'status', code: grpc.status.FAILED_PRECONDITION, details: 'not the leader', metadata: LEADER });
    const err = await t.client.put('k', 'v').catch((e: unknown) => e);
    assert.ok(err instanceof NotLeader, String(err));
    assert.equal(err.code, StatusCode.FAILED_PRECONDITION);
    assert.equal(err.leaderId, 'm2');
    assert.equal(err.leaderAddress, '127.0.0.1:7002');
    assert.equal(err.details, 'not the leader');
    assert.equal(err.mayHaveApplied, false);
    assert.equal(err.method, 'Put');
    assert.match(err.message, /not the leader; the leader is m2 at 127\.0\.0\.1:7002/);
    assert.equal((await t.client.get('k')).found, false);
  });

  test('NOT_LEADER on a delete with no leader address', async () => {
    t.server.fail('Delete', { kind: 'status', code: grpc.status.FAILED_PRECONDITION, metadata: { 'bellwether-leader-id': 'm3' } });
    const err = await t.client.delete('k').catch((e: unknown) => e);
    assert.ok(err instanceof NotLeader);
    assert.equal(err.leaderId, 'm3');
    assert.equal(err.leaderAddress, undefined);
  });

  test('UNAVAILABLE -> Unavailable, with the leader hint when present', async () => {
    t.server.fail('Get', { kind: 'status', code: grpc.status.UNAVAILABLE, details: 'min_index not reached', metadata: LEADER });
    const withHint = await t.client.get('k').catch((e: unknown) => e);
    assert.ok(withHint instanceof Unavailable);
    assert.equal(withHint.leaderId, 'm2');
    assert.equal(withHint.leaderAddress, '127.0.0.1:7002');
    assert.equal(withHint.mayHaveApplied, false);

    // The hint named a member that does not exist: once it is known down, writes go back to m1.
    await until(() => t.client.cluster().members.find((m) => m.address === '127.0.0.1:7002')?.state === 'down', '127.0.0.1:7002 is down');
    await until(() => t.client.cluster().leader?.id === 'm1', 'm1 leads again');
    t.server.fail('Put', { kind: 'status', code: grpc.status.UNAVAILABLE, details: 'no leader' });
    const noHint = await t.client.put('k', 'v').catch((e: unknown) => e);
    assert.ok(noHint instanceof Unavailable);
    assert.equal(noHint.leaderId, undefined);
    assert.equal(noHint.mayHaveApplied, true);
  });

  test('an unreachable endpoint -> Unavailable', async () => {
    const dead = await connect({ endpoints: ['127.0.0.1:1'], deadlineMs: 3000, retryReads: false });
    try {
      const err = await dead.get('k').catch((e: unknown) => e);
      assert.ok(err instanceof Unavailable, String(err));
    } finally {
      await dead.close();
    }
  });

  test('INVALID_ARGUMENT from the server -> InvalidArgument with its details', async () => {
    const err = await t.client.put('big', 'x'.repeat(65)).catch((e: unknown) => e);
    assert.ok(err instanceof InvalidArgument);
    assert.equal(err.code, StatusCode.INVALID_ARGUMENT);
    assert.equal(err.details, 'value: must be at most 64 bytes, got 65');
    assert.equal(err.mayHaveApplied, false);
    assert.equal((await t.client.get('big')).found, false);
  });

  test('RESOURCE_EXHAUSTED -> ResourceExhausted', async () => {
    t.server.fail('Range', { kind: 'status', code: grpc.status.RESOURCE_EXHAUSTED, details: 'queue full' });
    await assert.rejects(t.client.range({ prefix: 'a' }), ResourceExhausted);
  });

  test('a write whose deadline passes -> OutcomeUnknown carrying its (clientId, sequence)', async () => {
    t.server.fail('Put', { kind: 'hang' });
    const started = Date.now();
    const err = await t.client.put('slow', 'v', { deadlineMs: 200 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    assert.ok(err instanceof OutcomeUnknown, String(err));
    assert.ok(err instanceof DeadlineExceeded);
    assert.equal(err.code, StatusCode.DEADLINE_EXCEEDED);
    assert.equal(err.mayHaveApplied, true);
    assert.equal(err.clientId, t.client.clientId);
    const sent = t.server.requests.Put.at(-1)!;
    assert.equal(err.sequence, sent.sequence);
    assert.ok(elapsed >= 150 && elapsed < 5000, `took ${elapsed} ms`);
  });

  test('a read whose deadline passes -> DeadlineExceeded, not OutcomeUnknown', async () => {
    t.server.fail('Get', { kind: 'hang' });
    const err = await t.client.get('slow', { deadlineMs: 150 }).catch((e: unknown) => e);
    assert.ok(err instanceof DeadlineExceeded);
    assert.ok(!(err instanceof OutcomeUnknown));
    assert.equal(err.mayHaveApplied, false);
  });

  test('the client default deadline applies', async () => {
    const c = await connect({ endpoints: [t.server.address], deadlineMs: 150, retryWrites: false });
    try {
      // Connected first: on a loaded machine the 150 ms could pass before the
      // delete is sent, which is DeadlineExceeded (not sent), not OutcomeUnknown.
      await c.get('warm-up', { deadlineMs: 10_000 });
      t.server.fail('Delete', { kind: 'hang' });
      await assert.rejects(c.delete('k'), OutcomeUnknown);
    } finally {
      await c.close();
    }
  });

  test('AbortSignal cancels a call in flight -> Cancelled (unary: the server sees it)', async () => {
    t.server.fail('Put', { kind: 'hang' });
    const controller = new AbortController();
    const hungBefore = t.server.cancelledHangs;
    const pending = t.client.put('k', 'v', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user went away')), 50);
    const err = await pending.catch((e: unknown) => e);
    assert.ok(err instanceof Cancelled, String(err));
    assert.equal(err.code, StatusCode.CANCELLED);
    assert.equal(err.mayHaveApplied, true); // it had been sent
    assert.equal((err.cause as Error).message, 'user went away');
    if (transport === 'unary') {
      // A stream call has no cancellation message: only the client forgets it.
      for (let i = 0; i < 50 && t.server.cancelledHangs === hungBefore; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(t.server.cancelledHangs, hungBefore + 1);
    }
  });

  test('an already aborted signal rejects without sending', async () => {
    const before = t.server.requests.Get.length;
    const err = await t.client.get('k', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    assert.ok(err instanceof Cancelled);
    assert.equal(err.mayHaveApplied, false);
    assert.equal(t.server.requests.Get.length, before);
    const write = await t.client.put('k', 'v', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    assert.ok(write instanceof Cancelled);
    assert.equal(write.mayHaveApplied, false);
  });

  test('close() cancels calls in flight and rejects later calls', async () => {
    const c = await connect({ endpoints: [t.server.address], retryReads: false });
    t.server.fail('Get', { kind: 'hang' });
    const pending = c.get('k');
    await new Promise((r) => setTimeout(r, 50));
    await c.close();
    await assert.rejects(pending, (e: unknown) => e instanceof Cancelled && /the client was closed/.test(e.message));
    assert.equal(c.closed, true);
    await assert.rejects(c.get('k'), (e: unknown) => e instanceof Cancelled && /closed/.test(e.message));
    await c.close(); // twice is fine
  });
});
