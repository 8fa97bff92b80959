// The reconnect-storm shedder: a token bucket whose refusals book the next
// free slots, so refused clients come back spread out, not together.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RETRY_AFTER_METADATA } from '@bellwether/proto';
import { status } from '@grpc/grpc-js';
import { admittingStreams, MAX_RETRY_AFTER_MS, StreamAdmission, shedding } from '../src/stream-admission';

test('a burst is admitted, then each refusal gets a later slot; the bucket refills with time', () => {
  let now = 0;
  const a = new StreamAdmission(100, 3, () => now); // 100/s: a slot every 10 ms
  assert.deepEqual([a.admit(), a.admit(), a.admit()], [undefined, undefined, undefined]);
  const waits = [a.admit(), a.admit(), a.admit()];
  assert.deepEqual(waits, [10, 20, 30], 'refused clients are spread over the next slots');
  now += 1000; // a second later the bucket is full again (debts paid)
  assert.deepEqual([a.admit(), a.admit(), a.admit()], [undefined, undefined, undefined]);
});

test('retry-after is capped, and capped refusals book nothing further ahead', () => {
  let now = 0;
  const a = new StreamAdmission(1, 1, () => now);
  assert.equal(a.admit(), undefined);
  const waits = Array.from({ length: 8 }, () => a.admit());
  assert.ok(waits.every((w) => w !== undefined && w <= MAX_RETRY_AFTER_MS));
  assert.equal(waits.at(-1), MAX_RETRY_AFTER_MS);
  now += MAX_RETRY_AFTER_MS + 1000;
  assert.equal(a.admit(), undefined, 'the booked debt is bounded: admitted again after the cap');
});

test('a bad rate or burst is refused at construction', () => {
  assert.throws(() => new StreamAdmission(0, 10), RangeError);
  assert.throws(() => new StreamAdmission(10, 0), RangeError);
});

test('a shed stream ends with RESOURCE_EXHAUSTED and the retry-after metadata; the handler never runs', () => {
  const admission = new StreamAdmission(10, 1, () => 0);
  let ran = 0;
  const wrapped = admittingStreams({ Watch: (_call: unknown) => void ran++ }, ['Watch'], admission);
  const errors: { code?: number; metadata?: { get(k: string): unknown[] } }[] = [];
  const call = { emit: (_e: 'error', err: never) => errors.push(err) > 0 };
  wrapped.Watch(call);
  wrapped.Watch(call);
  assert.equal(ran, 1);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, status.RESOURCE_EXHAUSTED);
  assert.deepEqual(errors[0]!.metadata!.get(RETRY_AFTER_METADATA), ['100']);
  assert.match(shedding(100).message, /retry after 100 ms/);
});
