import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RETRY_AFTER_METADATA } from '@bellwether/proto';
import { status } from '@grpc/grpc-js';
import { ByteBudget } from '../src/byte-budget';
import { RpcError } from '../src/errors';
import { WriteAdmission } from '../src/write-admission';

test('a byte budget lets in what fits, queues the rest in order, and lets it in as bytes come back', async () => {
  const b = new ByteBudget(100);
  assert.equal(b.tryTake(60), true);
  assert.equal(b.tryTake(60), false);
  const second = b.take(60, 10_000);
  const third = b.take(30, 10_000);
  // The smaller one does not overtake the one waiting ahead of it.
  assert.equal(b.tryTake(10), false);
  b.release(60);
  assert.equal(await second, true);
  assert.equal(await third, true);
  assert.equal(b.usedBytes, 90);
});

test('a request larger than the whole budget gets in once the budget is empty', async () => {
  const b = new ByteBudget(100);
  assert.equal(b.tryTake(50), true);
  const big = b.take(500, 10_000);
  b.release(50);
  assert.equal(await big, true);
  assert.equal(b.usedBytes, 500);
});

test('a wait that runs out reserves nothing and does not block those behind it', async () => {
  const b = new ByteBudget(100);
  b.tryTake(100);
  assert.equal(await b.take(50, 20), false);
  assert.equal(b.waiting, 0);
  b.release(100);
  assert.equal(b.usedBytes, 0);
});

test('a full write budget refuses with RESOURCE_EXHAUSTED and a retry hint, and admits again once writes are answered', async () => {
  const mib = WriteAdmission.costBytes(16, 1024 * 1024);
  const budget = new ByteBudget(3 * mib);
  const admission = new WriteAdmission(budget, 'n1');
  const held = [await admission.admit(mib, 5000), await admission.admit(mib, 5000), await admission.admit(mib, 5000)];
  // Answered writes teach the budget how fast it drains.
  held.shift()!();
  held.shift()!();
  held.push(await admission.admit(mib, 5000), await admission.admit(mib, 5000));
  assert.equal(budget.usedBytes, 3 * mib);
  const refused = await admission.admit(mib, 30).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(refused instanceof RpcError, 'a full budget refuses');
  assert.equal(refused.code, status.RESOURCE_EXHAUSTED);
  assert.match(refused.message, /writes already pending.*--max-pending-write-bytes.*nothing was applied/);
  const hint = Number(refused.metadata.get(RETRY_AFTER_METADATA)[0]);
  assert.ok(hint >= 20 && hint <= 5000, `retry hint ${hint}`);
  assert.equal(budget.usedBytes, 3 * mib, 'a refusal holds nothing');
  // Recovers: a write waiting within its deadline gets in when room comes.
  const waiting = admission.admit(mib, 10_000);
  held.shift()!();
  const release = await waiting;
  release();
  for (const r of held) r();
  assert.equal(budget.usedBytes, 0);
});

test('a write whose queue ahead would outlast its deadline is refused at once, though its bytes fit', async () => {
  const budget = new ByteBudget(64 * 1024 * 1024);
  const admission = new WriteAdmission(budget, 'n1');
  const mib = 1024 * 1024;
  assert.equal(budget.tryTake(10 * mib), true);
  // 2 MiB answered in 600 ms: about 3.5 KiB/ms; the 8 MiB still pending take about 2.4 s.
  budget.release(mib, 1000);
  budget.release(mib, 1600);
  // The measured rate, not the assumed one, is what counts here.
  const drain = budget.drainMsWith(0, Number.NaN);
  assert.ok(drain > 2000 && drain < 3000, `drain estimate ${drain} ms`);
  const startedMs = Date.now();
  const refused = await admission.admit(mib, 1000).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(refused instanceof RpcError && refused.code === status.RESOURCE_EXHAUSTED);
  assert.ok(Date.now() - startedMs < 500, 'refused without waiting');
  const hint = Number(refused.metadata.get(RETRY_AFTER_METADATA)[0]);
  assert.ok(hint >= 1000 && hint <= 2500, `retry hint ${hint} ms (the drain time beyond the deadline)`);
  // A caller with time enough is admitted.
  const release = await admission.admit(mib, 10_000);
  release();
});

test('a leader admits only what would drain in half the caller\'s time (4 MiB/s assumed before a rate is measured), though more fits in the budget', async () => {
  const mib = 1024 * 1024;
  const budget = new ByteBudget(64 * mib);
  const admission = new WriteAdmission(budget, 'n1');
  // 10 s deadline: 9 s usable, half of it at 4 MiB/s is 18 MiB.
  const held: (() => void)[] = [];
  let refused: unknown;
  for (let i = 0; i < 64 && refused === undefined; i++) {
    await admission.admit(mib, 10_000).then(
      (release) => held.push(release),
      (e: unknown) => {
        refused = e;
      },
    );
  }
  assert.ok(refused instanceof RpcError && refused.code === status.RESOURCE_EXHAUSTED, String(refused));
  assert.equal(held.length, 18, 'a 64 MiB budget, but only 18 MiB drain within 4.5 s at the assumed rate');
  assert.ok(budget.usedBytes < budget.capacityBytes);
  const hint = Number(refused.metadata.get(RETRY_AFTER_METADATA)[0]);
  assert.ok(hint > 0 && hint <= 1000, `retry hint ${hint} ms: when the queue has drained enough`);
  // Once a rate is measured it is used instead: 8 MiB answered in 1 s is 8 MiB/s, and 18 MiB pending drain in about 2.2 s.
  const start = Date.now();
  for (let i = 0; i < 8; i++) held.shift()!();
  budget.release(0, start + 1000);
  for (let i = 0; i < 8; i++) held.push(await admission.admit(mib, 10_000));
  for (const r of held) r();
  // With nothing pending, a write goes in whatever its deadline: waiting could not make it faster.
  const alone = await admission.admit(mib, 10);
  alone();
});
