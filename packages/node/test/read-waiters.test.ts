import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../sim/virtual-clock';
import type { Clock, ClockTimer } from '../src/clock';
import { ReadWaiters } from '../src/read-waiters';

/** The virtual clock, counting the timers armed through it. */
function countingClock(): { clock: VirtualClock & Clock; armed: () => number } {
  const clock = new VirtualClock();
  let armed = 0;
  const setTimeout = clock.setTimeout.bind(clock);
  clock.setTimeout = (fn: () => void, ms: number): ClockTimer => {
    armed++;
    return setTimeout(fn, ms);
  };
  return { clock, armed: () => armed };
}

const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

test('reads waiting for the applied index go once it is reached, and those still behind at their deadline give up', async () => {
  const { clock, armed } = countingClock();
  const waiters = new ReadWaiters(clock, 'n1', 1000, 5000);
  const outcome: Record<string, boolean> = {};
  const wait = (name: string, index: number, timeoutMs: number) => void waiters.waitApplied(index, timeoutMs, 3).then((ok) => (outcome[name] = ok));
  assert.equal(await waiters.waitApplied(3, 100, 3), true, 'already applied: at once');
  wait('late', 9, 200);
  for (let i = 0; i < 100; i++) wait(`r${i}`, 5, 1000);
  wait('later', 9, 1500);
  assert.equal(armed(), 1, 'one timer (for the earliest deadline) for 102 waiting reads');
  assert.equal(waiters.pendingCount, 102);

  waiters.resolveApplied(4);
  await settled();
  assert.equal(Object.keys(outcome).length, 0, 'applied 4 < 5: nobody goes');
  waiters.resolveApplied(5);
  await settled();
  for (let i = 0; i < 100; i++) assert.equal(outcome[`r${i}`], true);
  assert.equal(waiters.pendingCount, 2);

  clock.fireNext(199);
  await settled();
  assert.equal(outcome['late'], undefined, 'not before its deadline');
  clock.fireNext(200);
  await settled();
  assert.equal(outcome['late'], false, 'gave up at its deadline');
  assert.equal(outcome['later'], undefined);
  waiters.resolveApplied(9);
  await settled();
  assert.equal(outcome['later'], true);
  assert.equal(waiters.pendingCount, 0);
  // Nothing waits: the timer for 'later' was cleared, no timer fires.
  while (clock.fireNext(10_000)) {}
  assert.equal(outcome['later'], true);
});

test('a read waiting for the applied index past maxPendingReads is refused at once', async () => {
  const { clock } = countingClock();
  const waiters = new ReadWaiters(clock, 'n1', 2, 5000);
  void waiters.waitApplied(10, 1000, 0);
  void waiters.waitApplied(10, 1000, 0);
  assert.equal(await waiters.waitApplied(10, 1000, 0), false);
});
