import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAnyFollower } from '../src/checkers/any-follower';
import { checkDuplicates } from '../src/checkers/duplicates';
import { checkHeaders, HEADER_BEHIND_STATE } from '../src/checkers/headers';
import { checkAll } from '../src/checkers/index';
import { checkLostWrites } from '../src/checkers/lost-writes';
import { checkReadYourWrites } from '../src/checkers/read-your-writes';
import { formatOp, parseHistory } from '../src/history';
import { cas, final, get, put } from './helpers';

describe('lost-writes', () => {
  it('passes when the final state is at least as new as every acknowledged write', () => {
    const h = [put('a', { at: [0, 1], rev: 5 }), put('b', { at: [2, 3], rev: 6 }), final('b', { at: [10, 11], rev: 6 })];
    assert.equal(checkLostWrites(h).valid, true);
  });

  it('finds a register whose final state predates an acknowledged write', () => {
    const h = [put('a', { at: [0, 1], rev: 5 }), put('b', { at: [2, 3], rev: 6 }), final('a', { at: [10, 11], rev: 5 })];
    const r = checkLostWrites(h);
    assert.equal(r.valid, false);
    assert.match(r.violations[0]!.what, /revision 6 is missing/);
    assert.equal(r.violations[0]!.excerpt.length, 2);
  });

  it('finds an acknowledged append missing from the final set', () => {
    const key = 'set/1';
    const h = [
      cas(null, 'e1', { key, at: [0, 1], rev: 3 }),
      cas('e1', 'e1 e2', { key, at: [2, 3], rev: 4, fromRev: 3 }),
      final('e1', { key, at: [10, 11], rev: 3 }),
    ];
    const r = checkLostWrites(h);
    assert.equal(r.valid, false);
    assert.match(r.violations[0]!.what, /append of e2 is missing/);
  });

  it('finds an element that was read and later vanished, even if its append was never acknowledged', () => {
    const key = 'set/1';
    const h = [
      cas(null, 'e1', { key, at: [0, 1], rev: 3 }),
      cas('e1', 'e1 e2', { key, at: [2, null] }),
      get('e1 e2', { key, at: [5, 6], rev: 4 }),
      final('e1', { key, at: [10, 11], rev: 3 }),
    ];
    const r = checkLostWrites(h);
    assert.equal(r.valid, false);
    assert.match(r.violations[0]!.what, /e2 was read, then is missing/);
  });

  it('accepts an unacknowledged append that never showed up', () => {
    const key = 'set/1';
    const h = [cas(null, 'e1', { key, at: [0, 1], rev: 3 }), cas('e1', 'e1 e2', { key, at: [2, null] }), final('e1', { key, at: [10, 11], rev: 3 })];
    assert.equal(checkLostWrites(h).valid, true);
  });

  it('finds a counter below its acknowledged increments', () => {
    const key = 'ctr/1';
    const h = [
      cas(null, '1:x', { key, at: [0, 1], rev: 2 }),
      cas('1:x', '2:y', { key, at: [2, 3], rev: 3, fromRev: 2 }),
      final('1:x', { key, at: [10, 11], rev: 2 }),
    ];
    assert.equal(checkLostWrites(h).valid, false);
  });

  it('cannot decide a key nobody could read back', () => {
    const r = checkLostWrites([put('a', { at: [0, 1], rev: 5 })]);
    assert.equal(r.valid, 'unknown');
  });
});

describe('duplicates', () => {
  it('passes when every value has one revision', () => {
    const h = [put('a', { at: [0, 1], rev: 5 }), get('a', { at: [2, 3], rev: 5 }), get('a', { at: [4, 5], rev: 5, mode: 'any-follower' })];
    assert.equal(checkDuplicates(h).valid, true);
  });

  it('finds a value applied twice (seen at two revisions)', () => {
    const h = [put('a', { at: [0, 1], rev: 5 }), put('b', { at: [2, 3], rev: 6 }), get('a', { at: [4, 5], rev: 7 })];
    const r = checkDuplicates(h);
    assert.equal(r.valid, false);
    assert.match(r.violations[0]!.what, /at 2 revisions \(5, 7\)/);
  });

  it('finds two values at one revision', () => {
    const h = [put('a', { at: [0, 1], rev: 5 }), get('b', { at: [4, 5], rev: 5 })];
    assert.equal(checkDuplicates(h).valid, false);
  });

  it('finds an element twice in one set', () => {
    const h = [get('e1 e2 e1', { key: 'set/1', at: [0, 1], rev: 9 })];
    assert.equal(checkDuplicates(h).valid, false);
  });

  it('finds a counter above every increment that could have applied', () => {
    const key = 'ctr/1';
    const h = [cas(null, '1:x', { key, at: [0, 1], rev: 2 }), get('2:x', { key, at: [2, 3], rev: 3 })];
    assert.equal(checkDuplicates(h).valid, false);
  });
});

describe('read-your-writes', () => {
  const ryw = 'read-your-writes' as const;

  it('passes when a session sees its own write', () => {
    const h = [put('a', { at: [0, 1], rev: 5, session: 1 }), get('a', { at: [2, 3], rev: 5, session: 1, mode: ryw, minIndex: 5 })];
    assert.equal(checkReadYourWrites(h).valid, true);
  });

  it('finds a read that misses its own earlier write', () => {
    const h = [
      put('a', { at: [0, 1], rev: 5, session: 1 }),
      put('b', { at: [2, 3], rev: 6, session: 1 }),
      get('a', { at: [4, 5], rev: 5, session: 1, mode: ryw, minIndex: 6 }),
    ];
    const r = checkReadYourWrites(h);
    assert.equal(r.valid, false);
    assert.match(r.violations[0]!.what, /missing its own acknowledged write at revision 6/);
  });

  it("does not hold a session to another session's writes beyond its min_index", () => {
    const h = [put('a', { at: [0, 1], rev: 5, session: 2 }), put('b', { at: [2, 3], rev: 6, session: 2 }), get('a', { at: [4, 5], rev: 5, session: 1, mode: ryw, minIndex: 5 })];
    assert.equal(checkReadYourWrites(h).valid, true);
  });

  it('finds a read below the min_index it sent', () => {
    const h = [put('a', { at: [0, 1], rev: 5, session: 2 }), put('b', { at: [2, 3], rev: 6, session: 2 }), get('a', { at: [4, 5], rev: 5, session: 1, mode: ryw, minIndex: 7 })];
    const r = checkReadYourWrites(h);
    assert.equal(r.valid, false);
    assert.match(r.violations[0]!.what, /min_index 7/);
  });

  it("finds a read older than the session's own earlier read", () => {
    const h = [
      get('b', { at: [0, 1], rev: 6, session: 1, mode: 'any-follower' }),
      get('a', { at: [2, 3], rev: 5, session: 1, mode: ryw, minIndex: 6 }),
      put('a', { at: [-10, -9], rev: 5, session: 2 }),
      put('b', { at: [-8, -7], rev: 6, session: 2 }),
    ];
    const r = checkReadYourWrites(h);
    assert.equal(r.valid, false);
    assert.match(r.violations[0]!.what, /older than its own earlier read/);
  });

  it('does not require an unknown-outcome write to be seen', () => {
    const h = [put('a', { at: [0, 1], rev: 5, session: 1 }), put('b', { at: [2, null], session: 1 }), get('a', { at: [4, 5], rev: 5, session: 1, mode: ryw, minIndex: 5 })];
    assert.equal(checkReadYourWrites(h).valid, true);
  });
});

describe('headers', () => {
  it('passes reads whose header revision covers what they returned', () => {
    const r = get('a', { at: [0, 1], rev: 5 });
    r.headerRevision = 5;
    assert.equal(checkHeaders([r]).valid, true);
  });

  it('finds a read that returned data newer than its header revision', () => {
    const r = get('a', { at: [0, 1], rev: 6 });
    r.headerRevision = 5;
    const report = checkHeaders([r]);
    assert.equal(report.valid, false);
    assert.equal(report.violations[0]!.knownIssue, HEADER_BEHIND_STATE);
  });

  it('tags a read-your-writes regression that the lagging header explains', () => {
    const earlier = get('b', { at: [0, 1], rev: 7, session: 1 });
    earlier.headerRevision = 6; // the session index becomes 6, not 7
    const later = get('a', { at: [2, 3], rev: 5, session: 1, mode: 'read-your-writes', minIndex: 6 });
    later.headerRevision = 6;
    const report = checkReadYourWrites([put('a', { at: [-4, -3], rev: 5, session: 2 }), put('b', { at: [-2, -1], rev: 7, session: 2 }), earlier, later]);
    assert.equal(report.valid, false);
    assert.equal(report.violations[0]!.knownIssue, HEADER_BEHIND_STATE);
  });
});

describe('any-follower', () => {
  const af = 'any-follower' as const;

  it('passes stale but written values', () => {
    const h = [put('a', { at: [0, 1], rev: 5 }), put('b', { at: [2, 3], rev: 6 }), get('a', { at: [4, 5], rev: 5, mode: af })];
    assert.equal(checkAnyFollower(h).valid, true);
  });

  it('finds a value nobody wrote', () => {
    const h = [put('a', { at: [0, 1], rev: 5 }), get('zzz', { at: [4, 5], rev: 5, mode: af })];
    const r = checkAnyFollower(h);
    assert.equal(r.valid, false);
    assert.match(r.violations[0]!.what, /which no operation wrote/);
  });

  it('finds a value from a write invoked after the read completed', () => {
    const h = [get('a', { at: [0, 1], rev: 5, mode: af }), put('a', { at: [2, 3], rev: 5 })];
    assert.equal(checkAnyFollower(h).valid, false);
  });

  it('counts backward steps within a session, and fails them only when monotonic reads are promised', () => {
    const h = [
      put('a', { at: [0, 1], rev: 5 }),
      put('b', { at: [2, 3], rev: 6 }),
      get('b', { at: [4, 5], rev: 6, mode: af, session: 1 }),
      get('a', { at: [6, 7], rev: 5, mode: af, session: 1 }),
    ];
    const lax = checkAnyFollower(h);
    assert.equal(lax.valid, true);
    assert.match(lax.notes[0]!, /^1 times/);
    assert.equal(checkAnyFollower(h, { monotonic: true }).valid, false);
  });
});

describe('history', () => {
  it('round-trips through the JSON-lines file format and formats ops', () => {
    const ops = [put('a', { at: [0, 1], rev: 5 }), cas('a', 'b', { at: [2, null] })];
    const text = `${ops.map((o) => JSON.stringify(o)).join('\n')}\n${JSON.stringify({ type: 'fault', atMs: 1, kind: 'kill', action: 'start', detail: 'n1' })}\n`;
    const parsed = parseHistory(text);
    assert.equal(parsed.ops.length, 2);
    assert.equal(parsed.faults.length, 1);
    assert.match(formatOp(parsed.ops[1]!), /info +cas reg\/1 "a"/);
  });

  it('checkAll passes a clean history and fails a broken one', () => {
    const clean = [put('a', { at: [0, 1], rev: 5 }), get('a', { at: [2, 3], rev: 5 }), final('a', { at: [10, 11], rev: 5 })];
    assert.ok(checkAll(clean).every((r) => r.valid === true));
    const broken = [...clean.slice(0, 1), put('b', { at: [1.5, 1.8], rev: 6 }), get('a', { at: [2, 3], rev: 5 }), final('b', { at: [10, 11], rev: 6 })];
    const reports = checkAll(broken);
    assert.deepEqual(
      reports.filter((r) => r.valid !== true).map((r) => r.checker),
      ['linearizable'],
    );
  });
});
