import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkLocks } from '../src/checkers/locks';
import { checkTransfers } from '../src/checkers/transfers';
import { checkWatches, type WatchLog } from '../src/checkers/watch';
import type { Op } from '../src/history';

let id = 0;
function put(key: string, value: string, revision: number, outcome: Op['outcome'] = 'ok'): Op {
  return { id: id++, process: 0, session: 1, workload: 'register', key, f: 'put', value, revision: outcome === 'ok' ? revision : undefined, invokeMs: revision, completeMs: revision + 1, outcome };
}

const ops = [put('reg/1', 'a', 10), put('reg/2', 'b', 11), put('reg/1', 'c', 12, 'info'), put('set/1', 'x', 13)];
const log = (events: WatchLog['events']): WatchLog => ({ name: 'w', prefix: 'reg/', events, caughtUpTo: Math.max(0, ...events.map((e) => e.revision)), errors: [] });

test('the watch checker accepts a complete, ordered, exact feed (unknown-outcome writes may show)', () => {
  const r = checkWatches(ops, [
    log([
      { revision: 10, key: 'reg/1', type: 'put', value: 'a' },
      { revision: 11, key: 'reg/2', type: 'put', value: 'b' },
      { revision: 14, key: 'reg/1', type: 'put', value: 'c' },
    ]),
  ]);
  assert.equal(r.valid, true, JSON.stringify(r.violations));
});

test('the watch checker finds a gap, a duplicate, disorder and a phantom', () => {
  const gap = checkWatches(ops, [log([{ revision: 11, key: 'reg/2', type: 'put', value: 'b' }])]);
  assert.equal(gap.valid, false);
  assert.match(gap.violations[0]!.what, /never delivered the write acknowledged at revision 10/);
  const dup = checkWatches(ops, [
    log([
      { revision: 10, key: 'reg/1', type: 'put', value: 'a' },
      { revision: 10, key: 'reg/1', type: 'put', value: 'a' },
      { revision: 11, key: 'reg/2', type: 'put', value: 'b' },
    ]),
  ]);
  assert.match(dup.violations.map((v) => v.what).join('\n'), /delivered twice/);
  const order = checkWatches(ops, [
    log([
      { revision: 11, key: 'reg/2', type: 'put', value: 'b' },
      { revision: 10, key: 'reg/1', type: 'put', value: 'a' },
    ]),
  ]);
  assert.match(order.violations.map((v) => v.what).join('\n'), /out of order/);
  const phantom = checkWatches(ops, [
    log([
      { revision: 10, key: 'reg/1', type: 'put', value: 'a' },
      { revision: 11, key: 'reg/2', type: 'put', value: 'b' },
      { revision: 15, key: 'reg/3', type: 'put', value: 'zzz' },
    ]),
  ]);
  assert.match(phantom.violations.map((v) => v.what).join('\n'), /never written/);
});

test('the transfers checker accepts constant sums and finds a torn or duplicated transfer', () => {
  const base = { total: 300, transfers: { ok: 2, refused: 0, failed: 0 }, errors: [] };
  const good = checkTransfers({ ...base, snapshots: [{ revision: 5, balances: [100, 100, 100] }, { revision: 7, balances: [95, 105, 100] }], final: { revision: 9, balances: [90, 110, 100] } });
  assert.equal(good.valid, true);
  const torn = checkTransfers({ ...base, snapshots: [{ revision: 7, balances: [95, 100, 100] }], final: { revision: 9, balances: [95, 105, 100] } });
  assert.equal(torn.valid, false);
  assert.match(torn.violations[0]!.what, /revision 7 add up to 295, not 300/);
  const lostFinal = checkTransfers({ ...base, snapshots: [], final: undefined, errors: ['timeout'] });
  assert.match(lostFinal.violations[0]!.what, /final read-back failed: timeout/);
});

test('the locks checker accepts turns with growing tokens and finds overlapping holders', () => {
  const hold = (holder: string, token: number, acquiredMs: number, endMs: number | undefined, fenced: 'accepted' | 'refused' = 'accepted') => ({ holder, token, acquiredMs, endMs, fenced });
  assert.equal(checkLocks([hold('a', 5, 0, 10), hold('b', 9, 12, 20), hold('a', 14, 25, undefined)]).valid, true);
  const overlap = checkLocks([hold('a', 5, 0, 15), hold('b', 9, 12, 20)]);
  assert.match(overlap.violations[0]!.what, /b got the lock \(token 9\) at 12 ms while a \(token 5\) held it until 15/);
  const backwards = checkLocks([hold('a', 9, 0, 10), hold('b', 5, 12, 20)]);
  assert.match(backwards.violations.map((v) => v.what).join('\n'), /token 5 of b is not above/);
  const refused = checkLocks([hold('a', 5, 0, 10), hold('b', 9, 12, 20, 'refused')]);
  assert.match(refused.violations[0]!.what, /largest token yet \(9\) was refused/);
});
