import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectedLeaderGrace } from '../src/connected-leader-grace';

test('a connected leader holds the election clock within the grace; a closed connection counts the held ticks', () => {
  const g = new ConnectedLeaderGrace(500);
  const connected = () => true;
  const closed = () => false;
  assert.equal(g.ticks(true, 100, connected), 0);
  assert.equal(g.ticks(true, 110, connected), 0);
  assert.equal(g.ticks(true, 120, closed), 3, 'the two held ticks and this one');
  assert.equal(g.ticks(true, 130, closed), 1);
});

test('past the grace, heard from, not following, or no grace: one tick each, nothing held', () => {
  const g = new ConnectedLeaderGrace(500);
  assert.equal(g.ticks(true, 100, () => true), 0);
  g.heard();
  assert.equal(g.ticks(true, 10, () => false), 1, 'hearing the leader drops what was held');
  assert.equal(g.ticks(true, 100, () => true), 0);
  assert.equal(g.ticks(true, 500, () => true), 1, 'past the grace the clock runs from now');
  assert.equal(g.ticks(true, 10, () => false), 1);
  assert.equal(g.ticks(false, 10, () => true), 1);
  assert.equal(new ConnectedLeaderGrace(0).ticks(true, 10, () => true), 1);
});
