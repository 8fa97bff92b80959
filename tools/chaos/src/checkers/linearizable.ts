// Checker 3: linearizability of writes and linearizable reads, per key.
//
// The model is a register whose state is the value last written (values are
// unique per write, so a value names its write) or null while the key is
// absent. A compare-and-swap names its expected state by mod revision; the
// workload took that revision from a read that returned it with a value, so
// `from` is that value (checker `duplicates` verifies values and revisions
// correspond one to one, which makes this translation exact).
//
// The search is Wing & Gong's with Lowe's memoisation, as in Porcupine: walk
// the history's call/return events in time order, linearize a pending call
// when the model allows it, backtrack at a return whose call is not yet
// linearized, and never revisit a (linearized set, state) pair. An `info`
// write returns at +infinity: it may take effect at any point after its
// invocation, or never. Keys are independent, so each is checked alone.
import type { Op } from '../history';
import { type CheckerReport, groupByKey, type Violation, verdictOf } from './report';

/** The ops of one key that the linearizability check looks at, in id order. */
export function linearizableOps(ops: readonly Op[]): Op[] {
  const picked = ops.filter((op) => {
    if (op.outcome === 'fail') return false;
    if (op.f === 'get') return op.outcome === 'ok' && op.mode === 'linearizable';
    return true; // put and cas, ok or info
  });
  // An info write nobody observed may be taken never to have happened: the
  // history with it is linearizable exactly when the history without it is.
  const observed = observedValues(picked);
  return picked.filter((op) => op.outcome !== 'info' || (op.value !== undefined && observed.has(op.value)));
}

function observedValues(ops: readonly Op[]): Set<string> {
  const seen = new Set<string>();
  for (const op of ops) {
    if (op.outcome !== 'ok') continue;
    if (op.read) seen.add(op.read.value);
    if (op.f === 'cas' && typeof op.from === 'string') seen.add(op.from);
  }
  // An info cas references its `from` too if it is to take effect.
  for (const op of ops) if (op.f === 'cas' && op.outcome === 'info' && typeof op.from === 'string') seen.add(op.from);
  return seen;
}

type State = string | null;

/** The register model: the state after `op`, or undefined when `op` cannot happen in `state`. */
export function step(state: State, op: Op): State | undefined {
  switch (op.f) {
    case 'put':
      return op.value ?? null;
    case 'get': {
      const read = op.read === undefined ? undefined : op.read === null ? null : op.read.value;
      return read === state ? state : undefined;
    }
    case 'cas': {
      const from = op.from ?? null;
      if (op.outcome === 'info' || op.succeeded) return state === from ? (op.value ?? null) : undefined;
      // Refused: the key was not at `from`, and the server said what it was.
      const current = op.read === undefined ? undefined : op.read === null ? null : op.read.value;
      if (state === from) return undefined;
      return current === undefined || current === state ? state : undefined;
    }
  }
}

interface Entry {
  op: number;
  call: boolean;
  time: number;
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

export interface SearchResult {
  /** `unknown` when the search hit its budget. */
  linearizable: boolean | 'unknown';
  statesExplored: number;
}

/**
 * Whether the ops of one key (already picked by {@link linearizableOps}) are
 * linearizable, starting from `initial` (default: the key absent).
 * `maxStates` bounds the search.
 */
export function checkKey(ops: readonly Op[], maxStates = 2_000_000, initial: State = null): SearchResult {
  const events: Entry[] = [];
  ops.forEach((op, i) => {
    const call: Entry = { op: i, call: true, time: op.invokeMs, match: undefined, prev: undefined, next: undefined };
    const ret: Entry = {
      op: i,
      call: false,
      time: op.outcome === 'info' ? Number.POSITIVE_INFINITY : op.completeMs,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    call.match = ret;
    events.push(call, ret);
  });
  // Time order; on a tie a call goes first (the two ops count as concurrent,
  // the permissive reading).
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? 0 : a.call ? -1 : 1));
  const head: Entry = { op: -1, call: false, time: Number.NEGATIVE_INFINITY, match: undefined, prev: undefined, next: undefined };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }

  const lift = (e: Entry) => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (e: Entry) => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };

  const cache = new Set<string>();
  const stack: { entry: Entry; state: State }[] = [];
  let linearized = 0n;
  let state: State = initial;
  let entry = head.next;
  let explored = 0;
  while (entry) {
    if (entry.call) {
      const next = step(state, ops[entry.op]!);
      if (next !== undefined) {
        const bits = linearized | (1n << BigInt(entry.op));
        const key = `${bits.toString(36)}|${next ?? '\u0000'}`;
        if (!cache.has(key)) {
          cache.add(key);
          if (++explored > maxStates) return { linearizable: 'unknown', statesExplored: explored };
          stack.push({ entry, state });
          state = next;
          linearized = bits;
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
      continue;
    }
    // A return: every remaining op from here on is an info op's, which may never happen.
    if (entry.time === Number.POSITIVE_INFINITY) return { linearizable: true, statesExplored: explored };
    const top = stack.pop();
    if (!top) return { linearizable: false, statesExplored: explored };
    state = top.state;
    linearized &= ~(1n << BigInt(top.entry.op));
    unlift(top.entry);
    entry = top.entry.next;
  }
  return { linearizable: true, statesExplored: explored };
}

/**
 * Adds to `subset` every write whose value an op of the subset observes, so
 * that dropping ops can only ever make a history easier to linearize: a
 * sub-history closed this way is linearizable whenever the whole is, and so a
 * violation in it is a violation of the whole. A `base` write's value counts
 * as present without its own ancestry (see {@link shrinkViolation}).
 */
function closeOver(subset: readonly Op[], all: readonly Op[], base?: Op): Op[] {
  const writerOf = new Map<string, Op>();
  for (const op of all) if (op.f !== 'get' && op.value !== undefined && op !== base) writerOf.set(op.value, op);
  const chosen = new Set(subset);
  chosen.delete(base as Op);
  const queue = [...chosen];
  while (queue.length > 0) {
    const op = queue.pop()!;
    const refs: string[] = [];
    if (op.outcome === 'ok' && op.read) refs.push(op.read.value);
    if (op.f === 'cas' && typeof op.from === 'string') refs.push(op.from);
    for (const v of refs) {
      if (base && v === base.value) continue;
      const w = writerOf.get(v);
      if (w && !chosen.has(w)) {
        chosen.add(w);
        queue.push(w);
      }
    }
  }
  return all.filter((op) => chosen.has(op));
}

function violates(ops: readonly Op[], maxStates: number, initial: State = null): boolean {
  return checkKey(ops, maxStates, initial).linearizable === false;
}

/** Drops single ops, newest first, while the rest (closed over what it observes) still violates. */
function dropSingles(ops: Op[], until: number, maxStates: number, base?: Op): Op[] {
  const initial = base?.value ?? null;
  let current = ops;
  let changed = true;
  while (changed && Date.now() < until) {
    changed = false;
    for (let i = current.length - 1; i >= 0 && Date.now() < until; i--) {
      const candidate = closeOver(
        current.filter((_, j) => j !== i),
        current,
        base,
      );
      if (candidate.length < current.length && violates(candidate, maxStates, initial)) {
        current = candidate;
        changed = true;
        i = Math.min(i, current.length);
      }
    }
  }
  return current;
}

/**
 * Shrinks a non-linearizable history of one key to a small one that is still
 * not linearizable: the shortest prefix (by invocation time), then single ops
 * dropped while the violation stays. Every candidate is closed over the
 * writes it observes, so the excerpt never blames a missing write.
 *
 * A chain of compare-and-swaps would drag its whole ancestry along, so the
 * shrinker may also start the excerpt at a `base` write: an acknowledged
 * write that completed before every other op of the excerpt was invoked. In
 * any linearization of the whole history that write precedes all of them, so
 * the rest must be linearizable starting from its value, and if it is not,
 * neither is the whole. The excerpt then begins with that write.
 */
export function shrinkViolation(ops: readonly Op[], budgetMs = 10_000, maxStates = 200_000): Op[] {
  const until = Date.now() + budgetMs;
  const byInvoke = [...ops].sort((a, b) => a.invokeMs - b.invokeMs);
  let lo = 1;
  let hi = byInvoke.length;
  while (lo < hi && Date.now() < until) {
    const mid = (lo + hi) >> 1;
    if (violates(closeOver(byInvoke.slice(0, mid), ops), maxStates)) hi = mid;
    else lo = mid + 1;
  }
  let best = closeOver(byInvoke.slice(0, hi), ops);
  if (!violates(best, maxStates)) best = [...ops];
  best = dropSingles(best, until, maxStates);

  const bases = best.filter((op) => op.outcome === 'ok' && (op.f === 'put' || op.succeeded === true)).sort((a, b) => b.completeMs - a.completeMs);
  for (const base of bases) {
    if (Date.now() >= until || best.length <= 3) break;
    const after = closeOver(
      best.filter((op) => op !== base && op.invokeMs > base.completeMs),
      ops,
      base,
    );
    if (after.length === 0 || after.some((op) => op.invokeMs <= base.completeMs)) continue;
    if (!violates(after, maxStates, base.value ?? null)) continue;
    const shrunk = dropSingles(after, until, maxStates, base);
    if (shrunk.length + 1 < best.length) best = [base, ...shrunk];
  }
  return best.sort((a, b) => a.invokeMs - b.invokeMs);
}

/** Checks every key apart; a violation comes with a shrunk excerpt. */
export function checkLinearizable(ops: readonly Op[], opts: { maxStatesPerKey?: number; shrinkBudgetMs?: number } = {}): CheckerReport {
  const violations: Violation[] = [];
  const notes: string[] = [];
  let opsChecked = 0;
  let keys = 0;
  let unknown = 0;
  let infoKept = 0;
  for (const [key, all] of groupByKey(ops)) {
    const picked = linearizableOps(all);
    if (picked.length === 0) continue;
    keys++;
    opsChecked += picked.length;
    infoKept += picked.filter((op) => op.outcome === 'info').length;
    const res = checkKey(picked, opts.maxStatesPerKey);
    if (res.linearizable === true) continue;
    if (res.linearizable === 'unknown') {
      unknown++;
      notes.push(`${key}: search gave up after ${res.statesExplored} states (${picked.length} ops); not decided`);
      continue;
    }
    const excerpt = shrinkViolation(picked, opts.shrinkBudgetMs);
    violations.push({ key, what: `no linearization of ${key}'s ${picked.length} ops exists; ${excerpt.length} of them already cannot be linearized`, excerpt });
  }
  notes.push(`${infoKept} ops of unknown outcome were observed by reads and searched as "took effect at some point, or never"`);
  return {
    checker: 'linearizable',
    property: 'writes and linearizable reads of each key are linearizable (Wing-Gong/Lowe search)',
    valid: verdictOf(violations, unknown > 0),
    checked: `${opsChecked} ops on ${keys} keys`,
    violations,
    notes,
  };
}
