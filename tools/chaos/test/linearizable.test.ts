import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkKey, checkLinearizable, linearizableOps, shrinkViolation, step } from '../src/checkers/linearizable';
import type { Op } from '../src/history';
import { Rng } from '@bellwether/raft';
import { cas, get, put } from './helpers';

const lin = (ops: Op[]) => checkKey(linearizableOps(ops)).linearizable;

describe('linearizability: hand-made histories', () => {
  it('accepts a sequential history', () => {
    const h = [put('a', { at: [0, 1] }), get('a', { at: [2, 3] }), put('b', { at: [4, 5] }), get('b', { at: [6, 7] })];
    assert.equal(lin(h), true);
  });

  it('accepts a read of the initial absent key', () => {
    assert.equal(lin([get(null, { at: [0, 1] }), put('a', { at: [2, 3] })]), true);
  });

  it('rejects a read that misses a write acknowledged before it started (stale read)', () => {
    const h = [put('a', { at: [0, 1] }), put('b', { at: [2, 3] }), get('a', { at: [4, 5] })];
    assert.equal(lin(h), false);
  });

  it('rejects a read of the absent key after an acknowledged write', () => {
    assert.equal(lin([put('a', { at: [0, 1] }), get(null, { at: [2, 3] })]), false);
  });

  it('accepts either value for a read concurrent with a write', () => {
    const w = () => put('b', { at: [2, 10] });
    assert.equal(lin([put('a', { at: [0, 1] }), w(), get('a', { at: [3, 4] })]), true);
    assert.equal(lin([put('a', { at: [0, 1] }), w(), get('b', { at: [3, 4] })]), true);
  });

  it('rejects a new value then an old one, both reads during one write', () => {
    // Once some read has seen b, a later read (in real time) cannot see a.
    const h = [put('a', { at: [0, 1] }), put('b', { at: [2, 20] }), get('b', { at: [3, 4] }), get('a', { at: [5, 6] })];
    assert.equal(lin(h), false);
  });

  it('accepts the same reads when they overlap each other', () => {
    const h = [put('a', { at: [0, 1] }), put('b', { at: [2, 20] }), get('b', { at: [3, 6] }), get('a', { at: [4, 7] })];
    assert.equal(lin(h), true);
  });

  it('lets an unknown-outcome write take effect long after its client gave up', () => {
    const h = [put('a', { at: [0, 1] }), put('b', { at: [2, null] }), get('a', { at: [50, 51] }), get('b', { at: [60, 61] })];
    assert.equal(lin(h), true);
  });

  it('lets an unknown-outcome write never take effect', () => {
    const h = [put('a', { at: [0, 1] }), put('b', { at: [2, null] }), get('a', { at: [50, 51] }), get('a', { at: [60, 61] })];
    assert.equal(lin(h), true);
    // ...even when it is seen by no read and is kept in the search
    assert.equal(checkKey(h).linearizable, true);
  });

  it('does not let an unknown-outcome write take effect before it was invoked', () => {
    const h = [put('a', { at: [0, 1] }), get('b', { at: [2, 3] }), put('b', { at: [10, null] })];
    assert.equal(lin(h), false);
  });

  it('does not let an unknown-outcome write take effect twice', () => {
    const h = [put('a', { at: [0, 1] }), put('b', { at: [2, null] }), get('b', { at: [5, 6] }), put('c', { at: [7, 8] }), get('b', { at: [9, 10] })];
    assert.equal(lin(h), false);
  });

  it('rejects two compare-and-swaps that both succeed from the same value', () => {
    const h = [put('a', { at: [0, 1] }), cas('a', 'b', { at: [2, 5] }), cas('a', 'c', { at: [3, 6] })];
    assert.equal(lin(h), false);
  });

  it('accepts one of two racing compare-and-swaps refused with the winner as current', () => {
    const h = [put('a', { at: [0, 1] }), cas('a', 'b', { at: [2, 5] }), cas('a', 'c', { at: [3, 6], ok: false, current: 'b' })];
    assert.equal(lin(h), true);
  });

  it('rejects a refused compare-and-swap when the key did hold the expected value', () => {
    const h = [put('a', { at: [0, 1] }), cas('a', 'b', { at: [2, 3], ok: false, current: 'a' })];
    assert.equal(lin(h), false);
  });

  it('accepts a compare-and-swap that creates the key only when it is absent', () => {
    assert.equal(lin([cas(null, 'a', { at: [0, 1] }), get('a', { at: [2, 3] })]), true);
    assert.equal(lin([put('x', { at: [0, 1] }), cas(null, 'a', { at: [2, 3] })]), false);
  });

  it('ignores reads that are not linearizable-mode (other checkers judge them)', () => {
    const h = [put('a', { at: [0, 1] }), put('b', { at: [2, 3] }), get('a', { at: [4, 5], mode: 'any-follower' })];
    assert.equal(lin(h), true);
  });

  it('shrinks a violation to the ops that show it', () => {
    const rng = Rng.fromState(7);
    const h: Op[] = [];
    for (let i = 0; i < 40; i++) {
      h.push(put(`v${i}`, { at: [i * 10, i * 10 + 3] }));
      h.push(get(`v${i}`, { at: [i * 10 + 4, i * 10 + 6 + rng.int(0, 2)] }));
    }
    // A stale read in the middle.
    h.push(get('v12', { at: [200, 201] }));
    assert.equal(lin(h), false);
    const excerpt = shrinkViolation(linearizableOps(h));
    assert.equal(checkKey(excerpt).linearizable, false);
    assert.ok(excerpt.length <= 3, `excerpt of ${excerpt.length} ops`);
    assert.ok(excerpt.some((op) => op.f === 'get' && op.read?.value === 'v12' && op.invokeMs === 200));
  });

  it('cuts a long compare-and-swap chain at an acknowledged write that precedes the rest', () => {
    const h: Op[] = [];
    let prev: string | null = null;
    for (let i = 0; i < 30; i++) {
      h.push(cas(prev, `c${i}`, { at: [i * 10, i * 10 + 5] }));
      prev = `c${i}`;
    }
    h.push(get('c20', { at: [400, 401] })); // c29 was acknowledged long before
    assert.equal(lin(h), false);
    const excerpt = shrinkViolation(linearizableOps(h));
    assert.deepEqual(
      excerpt.map((op) => op.value ?? op.read?.value),
      ['c20', 'c21', 'c20'],
    );
    // Without its base, the rest must not be linearizable from the base's value.
    assert.equal(checkKey(excerpt.slice(1), undefined, 'c20').linearizable, false);
  });

  it('checks keys apart and reports each violation with an excerpt', () => {
    const h = [
      put('a', { key: 'reg/1', at: [0, 1] }),
      get('a', { key: 'reg/1', at: [2, 3] }),
      put('x', { key: 'reg/2', at: [0, 1] }),
      put('y', { key: 'reg/2', at: [2, 3] }),
      get('x', { key: 'reg/2', at: [4, 5] }),
    ];
    const report = checkLinearizable(h);
    assert.equal(report.valid, false);
    assert.equal(report.violations.length, 1);
    assert.equal(report.violations[0]!.key, 'reg/2');
    assert.equal(report.violations[0]!.excerpt.length, 3);
  });
});

/** Exhaustive search over every order that respects real time: the reference the fast search is compared with. */
function bruteForce(ops: Op[]): boolean {
  const done = new Array<boolean>(ops.length).fill(false);
  const mustFollow = ops.map((b) => ops.map((a, i) => (a.outcome === 'ok' && a.completeMs < b.invokeMs ? i : -1)).filter((i) => i >= 0));
  const search = (state: string | null): boolean => {
    if (ops.every((op, i) => done[i] || op.outcome === 'info')) return true;
    for (let i = 0; i < ops.length; i++) {
      if (done[i] || !mustFollow[i]!.every((j) => done[j])) continue;
      const next = step(state, ops[i]!);
      if (next === undefined) continue;
      done[i] = true;
      const ok = search(next);
      done[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return search(null);
}

/** A random history of a real register: each op takes effect at a random point inside its interval. */
function randomHistory(rng: Rng, n: number): Op[] {
  const plans = Array.from({ length: n }, (_, i) => {
    const invoke = rng.int(0, 40);
    const complete = invoke + rng.int(1, 15);
    const point = invoke + rng.next() * (complete - invoke);
    const kind = rng.weighted({ put: 3, get: 4, cas: 3 });
    return { i, invoke, complete, point, kind, info: kind !== 'get' && rng.chance(0.25), applies: rng.chance(0.6) };
  });
  plans.sort((a, b) => a.point - b.point);
  let state: string | null = null;
  const written: (string | null)[] = [null];
  const ops: Op[] = [];
  for (const p of plans) {
    const at: [number, number | null] = [p.invoke, p.info ? null : p.complete];
    if (p.kind === 'get') ops.push(get(state, { at }));
    else if (p.kind === 'put') {
      const value = `v${p.i}`;
      if (!p.info || p.applies) state = value;
      written.push(value);
      ops.push(put(value, { at }));
    } else {
      const value = `v${p.i}`;
      const from = rng.chance(0.6) ? state : rng.pick(written);
      const swapped = from === state;
      if (swapped && (!p.info || p.applies)) state = value;
      written.push(value);
      ops.push(cas(from, value, { at, ok: swapped, current: state }));
    }
  }
  return ops;
}

describe('linearizability: the search agrees with exhaustive search', () => {
  it('on random histories of a real register (all linearizable)', () => {
    const rng = Rng.fromState(1);
    for (let t = 0; t < 300; t++) {
      const h = randomHistory(rng, rng.int(2, 8));
      assert.equal(bruteForce(h), true, `trial ${t}`);
      assert.equal(checkKey(h).linearizable, true, `trial ${t}`);
      assert.equal(lin(h), true, `trial ${t}`);
    }
  });

  it('on corrupted histories (some linearizable, some not)', () => {
    const rng = Rng.fromState(2);
    let violations = 0;
    for (let t = 0; t < 600; t++) {
      const h = randomHistory(rng, rng.int(3, 8));
      // Corrupt one read or refused swap: make it see another written value, or none.
      const victims = h.filter((op) => op.outcome === 'ok' && (op.f === 'get' || (op.f === 'cas' && !op.succeeded)));
      if (victims.length === 0) continue;
      const v = rng.pick(victims);
      const values = h.filter((op) => op.value !== undefined).map((op) => op.value!);
      const seen = rng.chance(0.2) || values.length === 0 ? null : rng.pick(values);
      v.read = seen === null ? null : { value: seen, modRevision: 0 };
      const expected = bruteForce(h);
      if (!expected) violations++;
      assert.equal(checkKey(h).linearizable, expected, `trial ${t}: ${JSON.stringify(h)}`);
      assert.equal(lin(h), expected, `trial ${t} (unobserved unknown writes dropped)`);
    }
    assert.ok(violations > 50, `only ${violations} corrupted histories were non-linearizable`);
  });
});
