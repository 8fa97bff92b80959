import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry, Message } from '@bellwether/raft';
import { ApplyBacklog } from '../src/apply-backlog';

const MIB = 1024 * 1024;
const entry = (index: number, bytes: number): Entry => ({ index, term: 1, type: 'normal', data: new Uint8Array(bytes) }) as Entry;
const append = (index: number, bytes: number): Message => ({ type: 'append', from: 'n1', to: 'n2', term: 1, index: index - 1, logTerm: 1, commit: 0, entries: [entry(index, bytes)] }) as unknown as Message;
const heartbeat = (): Message => ({ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: 0 }) as unknown as Message;

test('appends pass while the apply keeps up', () => {
  const b = new ApplyBacklog(8 * MIB, 4 * MIB);
  b.added([entry(1, 4 * MIB)]);
  assert.equal(b.intercept(append(2, MIB)), false);
  assert.equal(b.intercept(heartbeat()), false);
});

test('past the bound, appends are held in order until the apply is down to half, heartbeats still pass', () => {
  const b = new ApplyBacklog(8 * MIB, 4 * MIB);
  const first = b.added([entry(1, 5 * MIB)]);
  const second = b.added([entry(2, 4 * MIB)]);
  assert.equal(b.unappliedBytes, 9 * MIB);
  const a3 = append(3, MIB);
  const a4 = append(4, MIB);
  assert.equal(b.intercept(a3), true);
  assert.equal(b.intercept(heartbeat()), false, 'heartbeats are answered: the leader keeps the follower active');
  assert.equal(b.intercept(a4), true);
  assert.deepEqual(b.release(), [], 'nothing goes in while the apply is behind');
  assert.equal(b.applied(first), true, 'down to 4 MiB, half the bound');
  assert.deepEqual(b.release(), [a3, a4], 'held appends go in, in the order they came');
  assert.equal(b.releasable, false);
  assert.equal(b.intercept(append(5, MIB)), false);
  b.applied(second);
  assert.equal(b.unappliedBytes, 0);
  assert.equal(b.heldTotal, 2);
});

test('an append that comes while others are held waits behind them even once the apply caught up', () => {
  const b = new ApplyBacklog(8 * MIB, 4 * MIB);
  const bytes = b.added([entry(1, 9 * MIB)]);
  const a2 = append(2, MIB);
  b.intercept(a2);
  b.applied(bytes);
  const a3 = append(3, MIB);
  assert.equal(b.intercept(a3), true, 'held behind a2, not stepped before it');
  assert.deepEqual(b.release(), [a2, a3]);
});

test('the hold is bounded in bytes: later appends are dropped (the leader sends them again)', () => {
  const b = new ApplyBacklog(8 * MIB, 2 * MIB);
  b.added([entry(1, 9 * MIB)]);
  const held = [append(2, MIB), append(3, MIB)];
  for (const m of held) assert.equal(b.intercept(m), true);
  assert.equal(b.intercept(append(4, MIB)), true);
  assert.equal(b.droppedTotal, 1);
  assert.equal(b.heldTotal, 2);
  assert.deepEqual(b.release(true), held, 'a member that is no longer a follower takes what it held at once');
});

test('an append without entries (a probe or a commit-only append) is never held', () => {
  const b = new ApplyBacklog(8 * MIB, 4 * MIB);
  b.added([entry(1, 9 * MIB)]);
  const empty = { ...append(2, 0), entries: [] } as unknown as Message;
  assert.equal(b.intercept(empty), false, 'a commit-only or probe append carries no data');
});
