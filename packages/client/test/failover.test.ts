// Writes across failures: retried with the same (clientId, sequence) so the
// fake's session table answers a duplicate with the first result; applied
// exactly once; min_unacked_sequence and the pending-write window; one
// deadline per call, OutcomeUnknown only when the outcome is really unknown.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Aborted, Cancelled, connect, DeadlineExceeded, InvalidArgument, OutcomeUnknown } from '../src/index';
import { FakeCluster } from './helpers/fake-server';
import { settled, TRANSPORTS, until, withCluster } from './helpers/setup';

function appliedOnce(cluster: FakeCluster): void {
  const seen = new Set<string>();
  for (const a of cluster.group.applied) {
    const id = `${a.clientId}/${a.sequence}`;
    assert.ok(!seen.has(id), `write ${id} applied twice`);
    seen.add(id);
  }
}

for (const transport of TRANSPORTS) describe(`retried writes (${transport})`, () => {
  const t = withCluster(3, { transport });

  test('a lost answer is retried and answered from the session table, not applied again', async () => {
    await settled(t.client, 3, 'm1');
    const m1 = t.cluster.member('m1');
    m1.fail('Put', { kind: 'apply-then-status', code: grpc.status.UNAVAILABLE, details: 'connection reset' });
    const put = await t.client.put('lost-answer', 'v');
    assert.equal(put.succeeded, true);
    const attempts = m1.requests.Put.filter((r) => r.key.toString() === 'lost-answer');
    assert.equal(attempts.length, 2);
    assert.equal(attempts[0]!.sequence, attempts[1]!.sequence);
    assert.equal(t.cluster.group.applied.filter((a) => a.key === 'lost-answer').length, 1);
    assert.equal(put.revision, t.cluster.group.applied.find((a) => a.key === 'lost-answer')!.revision);
  });

  test('a compare-and-swap whose answer is lost still reports its own success, not a failed comparison', async () => {
    await settled(t.client, 3, 'm1');
    t.cluster.member('m1').fail('Put', { kind: 'apply-then-status', code: grpc.status.INTERNAL, details: 'stream reset' });
    const res = await t.client.compareAndSwap('cas-lost', 0, 'mine');
    assert.equal(res.succeeded, true, 'a second application would have failed the comparison');
    appliedOnce(t.cluster);
  });

  test('every write carries min_unacked_sequence: the lowest of its pending writes', async () => {
    await settled(t.client, 3, 'm1');
    const m1 = t.cluster.member('m1');
    m1.fail('Put', { kind: 'hang' });
    const controller = new AbortController();
    const hung = t.client.put('held', 'v', { signal: controller.signal });
    await until(() => m1.requests.Put.some((r) => r.key.toString() === 'held'), 'the first write is pending');
    const heldSeq = m1.requests.Put.find((r) => r.key.toString() === 'held')!.sequence;
    await t.client.put('next-1', 'v');
    await t.client.put('next-2', 'v');
    const n2 = m1.requests.Put.find((r) => r.key.toString() === 'next-2')!;
    assert.equal(n2.minUnackedSequence, heldSeq);
    assert.ok(n2.sequence > heldSeq);
    controller.abort();
    await assert.rejects(hung, Cancelled);
    await t.client.put('next-3', 'v');
    const n3 = m1.requests.Put.find((r) => r.key.toString() === 'next-3')!;
    assert.equal(n3.minUnackedSequence, n3.sequence, 'nothing else is pending');
  });

  test('not retried: invalid arguments, and a sequence the cluster no longer remembers (ABORTED)', async () => {
    await settled(t.client, 3, 'm1');
    const m1 = t.cluster.member('m1');
    const before = m1.requests.Put.length;
    await assert.rejects(t.client.put('big', 'x'.repeat(2000)), InvalidArgument);
    assert.equal(m1.requests.Put.length, before + 1);
    m1.fail('Put', { kind: 'status', code: grpc.status.ABORTED, details: 'sequence too old' });
    const err = await t.client.put('aborted', 'v').catch((e: unknown) => e);
    assert.ok(err instanceof Aborted && !(err instanceof OutcomeUnknown), String(err));
    assert.equal(err.mayHaveApplied, false);
  });

  test('ABORTED after an attempt that may have applied: the outcome is unknown, and says so', async () => {
    await settled(t.client, 3, 'm1');
    const m1 = t.cluster.member('m1');
    m1.fail('Put', { kind: 'status', code: grpc.status.UNAVAILABLE, details: 'connection reset' });
    m1.fail('Put', { kind: 'status', code: grpc.status.ABORTED, details: 'sequence too old' });
    const err = await t.client.put('forgotten', 'v').catch((e: unknown) => e);
    assert.ok(err instanceof OutcomeUnknown, String(err));
    assert.equal(err.code, grpc.status.ABORTED);
    assert.equal(err.mayHaveApplied, true);
    assert.equal(err.clientId, t.client.clientId);
  });
});

for (const transport of TRANSPORTS) test(`the leader dies under concurrent writes: every one succeeds, each applied once (${transport})`, async () => {
  const cluster = await FakeCluster.start(3);
  const client = await connect({ endpoints: [cluster.members[2]!.address], heartbeatIntervalMs: 200, transport });
  try {
    await settled(client, 3, 'm1');
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) writes.push(client.put(`w/${i}`, String(i)));
    await until(() => cluster.group.applied.length >= 10, 'some writes applied');
    await cluster.member('m1').stop(); // kill -9: answers in flight are lost
    for (let i = 40; i < 80; i++) writes.push(client.put(`w/${i}`, String(i)));
    await new Promise((r) => setTimeout(r, 50));
    cluster.elect('m2');
    await Promise.all(writes); // no caller-visible error
    appliedOnce(cluster);
    const keys = new Set(cluster.group.applied.map((a) => a.key));
    for (let i = 0; i < 80; i++) assert.ok(keys.has(`w/${i}`), `w/${i} applied`);
    for (let i = 0; i < 80; i += 7) assert.equal((await client.get(`w/${i}`)).valueString, String(i));
  } finally {
    await client.close();
    await cluster.stop();
  }
});

describe('deadlines', () => {
  const t = withCluster(2, { deadlineMs: 400 });

  test('no leader for the whole deadline: DeadlineExceeded, not sent, so surely not applied', async () => {
    await settled(t.client, 2, 'm1');
    t.cluster.elect(undefined);
    await until(() => t.client.cluster().leader === undefined, 'no leader known');
    const sent = t.cluster.members.reduce((n, m) => n + m.requests.Put.length, 0);
    const err = await t.client.put('nowhere', 'v').catch((e: unknown) => e);
    assert.ok(err instanceof DeadlineExceeded && !(err instanceof OutcomeUnknown), String(err));
    assert.equal(err.mayHaveApplied, false);
    assert.match(err.message, /not applied/);
    assert.equal(t.cluster.members.reduce((n, m) => n + m.requests.Put.length, 0), sent);
    t.cluster.elect('m1');
  });

  test('applied, then the answer never comes: OutcomeUnknown with the pair to read back by', async () => {
    await settled(t.client, 2, 'm1');
    const m1 = t.cluster.member('m1');
    m1.fail('Put', { kind: 'apply-then-hang' }); // one attempt: the deadline is shorter than attemptTimeoutMs
    const err = await t.client.put('unknown', 'v').catch((e: unknown) => e);
    assert.ok(err instanceof OutcomeUnknown, String(err));
    assert.equal(err.mayHaveApplied, true);
    assert.equal(err.clientId, t.client.clientId);
    assert.equal(err.sequence, m1.requests.Put.find((r) => r.key.toString() === 'unknown')!.sequence);
    assert.equal(t.cluster.group.applied.filter((a) => a.key === 'unknown').length, 1);
  });

  test('an AbortSignal ends a write waiting for a leader: Cancelled, not applied', async () => {
    await settled(t.client, 2, 'm1');
    t.cluster.elect(undefined);
    await until(() => t.client.cluster().leader === undefined, 'no leader known');
    const controller = new AbortController();
    const pending = t.client.put('cancelled', 'v', { signal: controller.signal, deadlineMs: 30_000 });
    setTimeout(() => controller.abort(), 30);
    const err = await pending.catch((e: unknown) => e);
    assert.ok(err instanceof Cancelled, String(err));
    assert.equal(err.mayHaveApplied, false);
    t.cluster.elect('m1');
  });
});

for (const transport of TRANSPORTS) {
  test(`a write slower than attemptTimeoutMs on a leader that still answers is waited for, not sent again (${transport})`, async () => {
    const cluster = await FakeCluster.start(3);
    const client = await connect({ endpoints: cluster.addresses, transport, attemptTimeoutMs: 300, heartbeatIntervalMs: 60_000 });
    try {
      await settled(client, 3, 'm1');
      const m1 = cluster.member('m1');
      // Busy, not broken: the write is answered after several attempt timeouts, while Status answers at once.
      const delayMs = 1500;
      const start = Date.now();
      m1.fail('Put', { kind: 'delay', ms: delayMs });
      const put = await client.put('busy', 'v', { deadlineMs: 10_000 });
      assert.equal(put.succeeded, true);
      assert.equal(put.header.memberId, 'm1');
      // The fake records a request when its delay ends; a timer set later than the delayed one fires after it.
      await new Promise((r) => setTimeout(r, Math.max(0, start + delayMs + 100 - Date.now())));
      assert.equal(m1.requests.Put.filter((r) => r.key.toString() === 'busy').length, 1, 'sent once: not cut short and sent again');
      assert.equal(cluster.group.applied.filter((a) => a.key === 'busy').length, 1);
    } finally {
      await client.close();
      await cluster.stop();
    }
  });
}

test('the pending-write window: a write beyond it waits for the oldest to finish', async () => {
  const cluster = await FakeCluster.start(1);
  const client = await connect({ endpoints: cluster.addresses, maxPendingWrites: 2, heartbeatIntervalMs: 200 });
  try {
    const m1 = cluster.member('m1');
    await client.put('warm', 'up');
    m1.fail('Put', { kind: 'hang' });
    const controller = new AbortController();
    const oldest = client.put('oldest', 'v', { signal: controller.signal });
    await until(() => m1.requests.Put.some((r) => r.key.toString() === 'oldest'), 'the oldest write is pending');
    await client.put('second', 'v'); // within the window
    let thirdDone = false;
    const third = client.put('third', 'v').then((r) => {
      thirdDone = true;
      return r;
    });
    const fourth = client.put('fourth', 'v');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(thirdDone, false, 'held back: the window is full');
    assert.ok(!m1.requests.Put.some((r) => r.key.toString() === 'third'));
    controller.abort();
    await assert.rejects(oldest, Cancelled);
    await third;
    await fourth;
    const seqs = m1.requests.Put.map((r) => [r.key.toString(), r.sequence, r.minUnackedSequence] as const);
    const third_ = seqs.find((s) => s[0] === 'third')!;
    assert.ok(third_[1] - third_[2] < 2, 'never more than 2 sequences from the floor');
    await assert.rejects(connect({ endpoints: cluster.addresses, maxPendingWrites: 5000 }), InvalidArgument);
  } finally {
    await client.close();
    await cluster.stop();
  }
});
