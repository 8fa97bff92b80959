import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '@bellwether/raft';
import { CommitHold } from '../src/commit-hold';
import { VirtualClock } from '../sim/virtual-clock';

/** Moves virtual time forward by `ms`, firing the timers due. */
function advance(clock: VirtualClock, ms: number): void {
  const until = clock.monotonicNow() + ms;
  while (clock.fireNext(until)) {}
}

const append = (to: string, commit: number, entries: number, commitOnly = false): Message => ({
  type: 'append',
  from: 'n1',
  to,
  term: 2,
  index: commit,
  logTerm: 2,
  entries: Array.from({ length: entries }, (_, i) => ({ index: commit + 1 + i, term: 2, type: 'normal' as const, data: new Uint8Array(0) })),
  commit,
  ...(commitOnly ? { commitOnly: true } : {}),
});

test('a commit-only append is dropped when the next append to that follower comes within the hold, and carries its commit', () => {
  const clock = new VirtualClock();
  const late: Message[] = [];
  const hold = new CommitHold(clock, 2, (m) => late.push(...m));
  const now = hold.filter([append('n2', 5, 0, true), append('n3', 5, 0, true)]);
  assert.deepEqual(now, [], 'nothing leaves at once');
  advance(clock, 1);
  const next = hold.filter([append('n2', 5, 1)]);
  assert.equal(next.length, 1, 'the next append to n2 leaves and carries commit 5');
  advance(clock, 5);
  assert.equal(late.length, 1, 'only the one to n3 was sent, once the hold passed');
  assert.equal(late[0]!.to, 'n3');
});

test('the newest commit-only append to a follower replaces the one held; other messages pass in order', () => {
  const clock = new VirtualClock();
  const late: Message[] = [];
  const hold = new CommitHold(clock, 2, (m) => late.push(...m));
  const hb: Message = { type: 'heartbeat', from: 'n1', to: 'n2', term: 2, commit: 4 };
  const now = hold.filter([append('n2', 5, 0, true), hb, append('n2', 6, 0, true)]);
  assert.deepEqual(now, [hb], 'a heartbeat may carry less than the commit: it does not replace the held append');
  advance(clock, 3);
  assert.equal(late.length, 1);
  assert.equal(late[0]!.type === 'append' && late[0]!.commit, 6);
});

test('a hold of 0 sends commit-only appends at once; stop drops what is held', () => {
  const clock = new VirtualClock();
  const late: Message[] = [];
  const none = new CommitHold(clock, 0, (m) => late.push(...m));
  assert.equal(none.filter([append('n2', 5, 0, true)]).length, 1);
  const hold = new CommitHold(clock, 2, (m) => late.push(...m));
  hold.filter([append('n2', 5, 0, true)]);
  hold.stop();
  advance(clock, 10);
  assert.equal(late.length, 0);
});
