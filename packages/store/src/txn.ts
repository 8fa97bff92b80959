// Transactions in the replicated state machine: one log entry carries the
// compares and both branches; every replica evaluates the compares against
// the same state and so takes the same branch. All the writes of the branch
// get the entry's index as their revision.
import type { Reader, Writer } from './codec';
import type { KeyValueRecord } from './records';
import { fitBytes } from './range-page';

export type CompareTarget = 'version' | 'create' | 'mod' | 'value';
export type CompareOp = '=' | '!=' | '<' | '>';

/** One condition on a key's current state (the key on the left of `op`). */
export interface TxnCompare {
  key: Buffer;
  target: CompareTarget;
  op: CompareOp;
  /** A number for version/create/mod, bytes for value. */
  operand: number | Buffer;
}

export type TxnOp =
  | { type: 'put'; key: Buffer; value: Buffer; prevKv: boolean }
  | { type: 'delete'; key: Buffer; prevKv: boolean }
  | { type: 'get'; key: Buffer }
  | { type: 'range'; start: Buffer; end: Buffer | undefined; limit: number; keysOnly: boolean };

export interface TxnCommand {
  op: 'txn';
  compares: TxnCompare[];
  success: TxnOp[];
  failure: TxnOp[];
  clientId: string;
  sequence: number;
  minUnackedSequence: number;
}

export type TxnOpResult =
  | { type: 'put'; prevKv?: KeyValueRecord }
  | { type: 'delete'; deleted: number; prevKv?: KeyValueRecord }
  | { type: 'get'; kv?: KeyValueRecord }
  | { type: 'range'; kvs: KeyValueRecord[]; more: boolean };

/** What a transaction may do to the state it runs against (the store's overlay of the batch being applied). */
export interface TxnState {
  /** The key as it is now, earlier writes of this batch included. */
  get(key: Buffer): KeyValueRecord | undefined;
  /** Writes (`null`: deletes) the key at this entry's revision. */
  set(key: Buffer, next: KeyValueRecord | null, prev: KeyValueRecord | undefined): void;
  /** Keys in [start, end), earlier writes of this batch included. */
  range(start: Buffer, end: Buffer | undefined, limit: number, keysOnly: boolean): Promise<{ kvs: KeyValueRecord[]; more: boolean }>;
}

const TARGETS: readonly CompareTarget[] = ['version', 'create', 'mod', 'value'];
const OPS: readonly CompareOp[] = ['=', '!=', '<', '>'];

/** Every key a transaction reads or writes by name (its ranges are read separately). */
export function txnKeys(c: TxnCommand): Buffer[] {
  const keys: Buffer[] = c.compares.map((x) => x.key);
  for (const op of [...c.success, ...c.failure]) if (op.type !== 'range') keys.push(op.key);
  return keys;
}

function holds(cmp: TxnCompare, kv: KeyValueRecord | undefined): boolean {
  let order: number;
  if (cmp.target === 'value') {
    // A missing key has no value: no comparison of it holds.
    if (!kv) return false;
    order = Buffer.compare(kv.value, cmp.operand as Buffer);
  } else {
    const have = !kv ? 0 : cmp.target === 'version' ? kv.version : cmp.target === 'create' ? kv.createRevision : kv.modRevision;
    const want = cmp.operand as number;
    order = have < want ? -1 : have > want ? 1 : 0;
  }
  switch (cmp.op) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '>':
      return order > 0;
  }
}

/** Runs the transaction at revision `index`: the compares, then the chosen branch in order. */
export async function applyTxn(c: TxnCommand, index: number, state: TxnState): Promise<{ succeeded: boolean; results: TxnOpResult[] }> {
  const succeeded = c.compares.every((cmp) => holds(cmp, state.get(cmp.key)));
  const results: TxnOpResult[] = [];
  for (const op of succeeded ? c.success : c.failure) {
    switch (op.type) {
      case 'put': {
        const current = state.get(op.key);
        state.set(
          op.key,
          {
            key: op.key,
            value: op.value,
            createRevision: current ? current.createRevision : index,
            modRevision: index,
            version: current ? current.version + 1 : 1,
          },
          current,
        );
        results.push({ type: 'put', prevKv: op.prevKv ? current : undefined });
        break;
      }
      case 'delete': {
        const current = state.get(op.key);
        if (current) state.set(op.key, null, current);
        results.push({ type: 'delete', deleted: current ? 1 : 0, prevKv: op.prevKv ? current : undefined });
        break;
      }
      case 'get':
        results.push({ type: 'get', kv: state.get(op.key) });
        break;
      case 'range':
        results.push({ type: 'range', ...(await state.range(op.start, op.end, op.limit, op.keysOnly)) });
        break;
    }
  }
  return { succeeded, results };
}

/**
 * Merges a range read of the stored state (taken before this batch) with the
 * batch's own writes. `storedPage` must hold up to `limit + written.size + 1`
 * rows (or as many as its byte budget allowed, but at least
 * `written.size + 1`), so that deletions in the batch cannot hide keys that
 * belong in the page, nor empty it. The page stops at `maxBytes` (see
 * range-page.ts).
 */
export function mergeRange(
  storedPage: { kvs: KeyValueRecord[]; more: boolean },
  written: Map<string, KeyValueRecord | null>,
  start: Buffer,
  end: Buffer | undefined,
  limit: number,
  keysOnly: boolean,
  maxBytes = Number.POSITIVE_INFINITY,
): { kvs: KeyValueRecord[]; more: boolean } {
  const stored = storedPage.kvs;
  const byKey = new Map<string, KeyValueRecord | null>();
  for (const kv of stored) byKey.set(kv.key.toString('latin1'), kv);
  for (const [mapKey, kv] of written) {
    const key = Buffer.from(mapKey, 'latin1');
    if (Buffer.compare(key, start) < 0 || (end && Buffer.compare(key, end) >= 0)) continue;
    byKey.set(mapKey, kv);
  }
  const all = [...byKey.values()].filter((kv): kv is KeyValueRecord => kv !== null).sort((a, b) => Buffer.compare(a.key, b.key));
  // Stored rows past the last one read may exist: only trust the order up to it.
  const storedComplete = !storedPage.more;
  const lastStored = stored[stored.length - 1]?.key;
  const trusted = storedComplete || !lastStored ? all : all.filter((kv) => Buffer.compare(kv.key, lastStored) <= 0);
  const page = trusted.slice(0, limit).map((kv) => (keysOnly ? { ...kv, value: Buffer.alloc(0) } : kv));
  const kvs = page.slice(0, fitBytes(page, maxBytes, keysOnly));
  return { kvs, more: trusted.length > kvs.length || !storedComplete };
}

// ---- codec ----

function writeOp(w: Writer, op: TxnOp): void {
  switch (op.type) {
    case 'put':
      w.u8(1).bytes(op.key).bytes(op.value).bool(op.prevKv);
      return;
    case 'delete':
      w.u8(2).bytes(op.key).bool(op.prevKv);
      return;
    case 'get':
      w.u8(3).bytes(op.key);
      return;
    case 'range':
      w.u8(4)
        .bytes(op.start)
        .optional(op.end, (w, e) => w.bytes(e))
        .uint(op.limit)
        .bool(op.keysOnly);
      return;
  }
}

function readOp(r: Reader): TxnOp {
  const type = r.u8();
  switch (type) {
    case 1:
      return { type: 'put', key: r.bytes(), value: r.bytes(), prevKv: r.bool() };
    case 2:
      return { type: 'delete', key: r.bytes(), prevKv: r.bool() };
    case 3:
      return { type: 'get', key: r.bytes() };
    case 4:
      return { type: 'range', start: r.bytes(), end: r.optional((r) => r.bytes()), limit: r.uint(), keysOnly: r.bool() };
    default:
      throw new RangeError(`store: unknown transaction op ${type}`);
  }
}

/** Writes the body of a txn command (after its op byte). */
export function writeTxn(w: Writer, c: TxnCommand): void {
  w.uint(c.compares.length);
  for (const cmp of c.compares) {
    w.bytes(cmp.key).u8(TARGETS.indexOf(cmp.target)).u8(OPS.indexOf(cmp.op));
    if (cmp.target === 'value') w.bytes(cmp.operand as Buffer);
    else w.uint(cmp.operand as number);
  }
  for (const branch of [c.success, c.failure]) {
    w.uint(branch.length);
    for (const op of branch) writeOp(w, op);
  }
  w.string(c.clientId).uint(c.sequence).uint(c.minUnackedSequence);
}

export function readTxn(r: Reader): TxnCommand {
  const compares: TxnCompare[] = [];
  for (let n = r.uint(); n > 0; n--) {
    const key = r.bytes();
    const target = TARGETS[r.u8()];
    const op = OPS[r.u8()];
    if (!target || !op) throw new RangeError('store: unknown compare target or operator');
    compares.push({ key, target, op, operand: target === 'value' ? r.bytes() : r.uint() });
  }
  const branches: TxnOp[][] = [];
  for (let b = 0; b < 2; b++) {
    const ops: TxnOp[] = [];
    for (let n = r.uint(); n > 0; n--) ops.push(readOp(r));
    branches.push(ops);
  }
  return { op: 'txn', compares, success: branches[0]!, failure: branches[1]!, clientId: r.string(), sequence: r.uint(), minUnackedSequence: r.uint() };
}

/** Encodes a transaction's per-op results (kept in the client's session for retries). */
export function writeTxnResults(w: Writer, results: TxnOpResult[], writeKv: (w: Writer, kv: KeyValueRecord) => void): void {
  w.uint(results.length);
  for (const res of results) {
    switch (res.type) {
      case 'put':
        w.u8(1).optional(res.prevKv, writeKv);
        break;
      case 'delete':
        w.u8(2).uint(res.deleted).optional(res.prevKv, writeKv);
        break;
      case 'get':
        w.u8(3).optional(res.kv, writeKv);
        break;
      case 'range':
        w.u8(4).bool(res.more).uint(res.kvs.length);
        for (const kv of res.kvs) writeKv(w, kv);
        break;
    }
  }
}

export function readTxnResults(r: Reader, readKv: (r: Reader) => KeyValueRecord): TxnOpResult[] {
  const results: TxnOpResult[] = [];
  for (let n = r.uint(); n > 0; n--) {
    const type = r.u8();
    if (type === 1) results.push({ type: 'put', prevKv: r.optional(readKv) });
    else if (type === 2) results.push({ type: 'delete', deleted: r.uint(), prevKv: r.optional(readKv) });
    else if (type === 3) results.push({ type: 'get', kv: r.optional(readKv) });
    else if (type === 4) {
      const more = r.bool();
      const kvs: KeyValueRecord[] = [];
      for (let k = r.uint(); k > 0; k--) kvs.push(readKv(r));
      results.push({ type: 'range', kvs, more });
    } else throw new RangeError(`store: unknown transaction result ${type}`);
  }
  return results;
}
