// KV.Txn at the edge: the request is checked and turned into one store
// command (so a bad transaction never reaches the log), and the store's
// per-op results into the response.
import type { Compare__Output, KeyValue, RequestOp__Output, ResponseHeader, ResponseOp, TxnRequest__Output } from '@bellwether/proto';
import { type CompareOp, type CompareTarget, type KeyValueRecord, prefixEnd, type TxnCommand, type TxnCompare, type TxnOp, type TxnOpResult } from '@bellwether/store';
import { invalidArgument } from './errors';
import { checkKey, checkRevision, checkSession, type Limits, parseRange } from './validate';

/** Most compares in one transaction. */
export const MAX_TXN_COMPARES = 128;
/** Most operations in one branch of a transaction. */
export const MAX_TXN_OPS = 128;
/** Most keys one range inside a transaction returns (its results are remembered for retries). */
export const MAX_TXN_RANGE_LIMIT = 1000;

const TARGETS: Record<string, { target: CompareTarget; field: 'version' | 'createRevision' | 'modRevision' | 'value' }> = {
  VERSION: { target: 'version', field: 'version' },
  CREATE: { target: 'create', field: 'createRevision' },
  MOD: { target: 'mod', field: 'modRevision' },
  VALUE: { target: 'value', field: 'value' },
};
const OPS: Record<string, CompareOp> = { EQUAL: '=', NOT_EQUAL: '!=', LESS: '<', GREATER: '>' };

function parseCompare(c: Compare__Output, i: number, limits: Limits): TxnCompare {
  const where = `compare[${i}]`;
  checkKey(`${where}.key`, c.key, limits);
  const target = TARGETS[String(c.target)];
  if (!target) throw invalidArgument(`${where}.target: unknown target ${JSON.stringify(c.target)}; expected VERSION, CREATE, MOD or VALUE`);
  const op = OPS[String(c.result)];
  if (!op) throw invalidArgument(`${where}.result: unknown comparison ${JSON.stringify(c.result)}; expected EQUAL, NOT_EQUAL, LESS or GREATER`);
  const set = c.targetUnion;
  if (set !== undefined && set !== target.field) {
    throw invalidArgument(`${where}: target ${c.target} compares \`${target.field}\`, but \`${set}\` was set`);
  }
  if (target.target === 'value') {
    const value = c.value ?? Buffer.alloc(0);
    if (value.length > limits.maxValueBytes) throw invalidArgument(`${where}.value: must be at most ${limits.maxValueBytes} bytes, got ${value.length}`);
    return { key: c.key, target: 'value', op, operand: value };
  }
  const n = Number(c[target.field] ?? 0);
  checkRevision(`${where}.${target.field}`, n);
  return { key: c.key, target: target.target, op, operand: n };
}

function parseOp(o: RequestOp__Output, where: string, limits: Limits): TxnOp {
  switch (o.request) {
    case 'put':
    case 'delete': {
      const r = o.request === 'put' ? o.put! : o.delete!;
      checkKey(`${where}.${o.request}.key`, r.key, limits);
      if (r.clientId || Number(r.sequence) || Number(r.minUnackedSequence)) {
        throw invalidArgument(`${where}.${o.request}: client_id, sequence and min_unacked_sequence go on the TxnRequest, not on its operations`);
      }
      if (r.expectedModRevision !== undefined) {
        throw invalidArgument(`${where}.${o.request}: expected_mod_revision is not allowed inside a transaction; use a compare on MOD`);
      }
      if (o.request === 'delete') return { type: 'delete', key: r.key, prevKv: r.prevKv };
      if (Number(o.put!.lease)) throw invalidArgument(`${where}.put.lease: leases cannot be attached inside a transaction; use a plain put`);
      const value = o.put!.value;
      if (value.length > limits.maxValueBytes) throw invalidArgument(`${where}.put.value: must be at most ${limits.maxValueBytes} bytes, got ${value.length}`);
      return { type: 'put', key: r.key, value, prevKv: r.prevKv };
    }
    case 'get':
      checkKey(`${where}.get.key`, o.get!.key, limits);
      return { type: 'get', key: o.get!.key };
    case 'range': {
      const r = o.range!;
      if (r.limit > MAX_TXN_RANGE_LIMIT) throw invalidArgument(`${where}.range.limit: must be at most ${MAX_TXN_RANGE_LIMIT} inside a transaction, got ${r.limit}`);
      const range = parseRange({ ...r, continuation: Buffer.alloc(0) }, limits, prefixEnd);
      return { type: 'range', start: range.start, end: range.end, limit: Math.min(range.limit, MAX_TXN_RANGE_LIMIT), keysOnly: r.keysOnly };
    }
    default:
      throw invalidArgument(`${where}: one of put, delete, get or range must be set`);
  }
}

function parseBranch(ops: RequestOp__Output[], name: 'success' | 'failure', limits: Limits): TxnOp[] {
  if (ops.length > MAX_TXN_OPS) throw invalidArgument(`${name}: at most ${MAX_TXN_OPS} operations, got ${ops.length}`);
  const parsed = ops.map((o, i) => parseOp(o, `${name}[${i}]`, limits));
  let valueBytes = 0;
  const written = new Set<string>();
  for (const op of parsed) {
    if (op.type !== 'put' && op.type !== 'delete') continue;
    const k = op.key.toString('latin1');
    // One change per key and revision keeps a watch's events unambiguous (etcd has the same rule).
    if (written.has(k)) throw invalidArgument(`${name}: key ${JSON.stringify(op.key.toString())} is written twice in one transaction`);
    written.add(k);
    if (op.type === 'put') valueBytes += op.value.length;
  }
  if (valueBytes > limits.maxValueBytes) {
    throw invalidArgument(`${name}: the values written add up to ${valueBytes} bytes, over the ${limits.maxValueBytes} a transaction may write`);
  }
  return parsed;
}

/** Checks a TxnRequest and builds its log command; throws INVALID_ARGUMENT naming what was wrong. */
export function parseTxn(r: TxnRequest__Output, limits: Limits): TxnCommand {
  if (r.compare.length > MAX_TXN_COMPARES) throw invalidArgument(`compare: at most ${MAX_TXN_COMPARES} compares, got ${r.compare.length}`);
  const compares = r.compare.map((c, i) => parseCompare(c, i, limits));
  const success = parseBranch(r.success, 'success', limits);
  const failure = parseBranch(r.failure, 'failure', limits);
  const sequence = Number(r.sequence);
  checkSession(r.clientId, sequence);
  return { op: 'txn', compares, success, failure, clientId: r.clientId, sequence, minUnackedSequence: Number(r.minUnackedSequence) };
}

/** The response ops of a transaction's results, each with the transaction's header. */
export function toResponseOps(results: TxnOpResult[], header: ResponseHeader, toKv: (kv: KeyValueRecord | undefined) => KeyValue | null): ResponseOp[] {
  return results.map((res): ResponseOp => {
    switch (res.type) {
      case 'put':
        return { put: { header, succeeded: true, prevKv: toKv(res.prevKv) } };
      case 'delete':
        return { delete: { header, succeeded: true, deleted: res.deleted, prevKv: toKv(res.prevKv) } };
      case 'get':
        return { get: { header, kv: toKv(res.kv) } };
      default:
        return { range: { header, kvs: res.kvs.map((kv) => toKv(kv)!), more: res.more } };
    }
  });
}
