import type { Observed, Op, Outcome, ReadMode } from '../src/history';

let nextId = 0;

interface Base {
  key?: string;
  session?: number;
  at: [number, number | null];
  outcome?: Outcome;
  node?: string;
}

function base(b: Base): Omit<Op, 'f'> {
  const [invokeMs, completeMs] = b.at;
  return {
    id: nextId++,
    process: b.session ?? 0,
    session: b.session ?? 0,
    workload: 'register',
    key: b.key ?? 'reg/1',
    invokeMs,
    completeMs: completeMs ?? invokeMs + 10_000,
    outcome: b.outcome ?? (completeMs === null ? 'info' : 'ok'),
    node: b.node,
  };
}

/** A put of `value`; `at: [invoke, complete]`, complete null = outcome unknown. */
export function put(value: string, b: Base & { rev?: number }): Op {
  const op: Op = { ...base(b), f: 'put', value };
  if (op.outcome === 'ok') op.revision = b.rev ?? 0;
  return op;
}

/** A get that saw `value` (null: absent). */
export function get(value: string | null, b: Base & { rev?: number; mode?: ReadMode; minIndex?: number }): Op {
  const read: Observed | null = value === null ? null : { value, modRevision: b.rev ?? 0 };
  const op: Op = { ...base(b), f: 'get', mode: b.mode ?? 'linearizable', minIndex: b.minIndex };
  if (op.outcome === 'ok') op.read = read;
  return op;
}

/** A compare-and-swap from `from` to `to`; `ok: true` swapped, `ok: false` refused with `current`. */
export function cas(from: string | null, to: string, b: Base & { ok?: boolean; current?: string | null; rev?: number; fromRev?: number }): Op {
  const op: Op = { ...base(b), f: 'cas', from, value: to, expectedRevision: b.fromRev ?? 0 };
  if (op.outcome === 'ok') {
    op.succeeded = b.ok ?? true;
    if (op.succeeded) op.revision = b.rev ?? 0;
    else op.read = b.current === undefined || b.current === null ? null : { value: b.current, modRevision: b.rev ?? 0 };
  }
  return op;
}

export function final(value: string | null, b: { key?: string; at: [number, number]; rev?: number }): Op {
  return { ...get(value, { ...b, mode: 'linearizable' }), workload: 'final', session: 999, process: 999 };
}
