// Transactions from the SDK: `cmp` builds conditions, `op` builds
// operations, `client.txn()` chains them and commits one KV.Txn. Results are
// typed by position: `then(op.put(...), op.get(...))` commits to
// `results: [TxnPutResult, TxnGetResult]`.
import type { Compare, RequestOp, ResponseOp__Output, TxnRequest, TxnResponse__Output } from '@bellwether/proto';
import { type Bytes, toBuffer, toKey } from './bytes';
import { InvalidArgument } from './errors';
import { type KeyValue, type ResponseHeader, toKeyValue } from './results';

/** How a key's field must relate to the operand (the key's field on the left). */
export type CompareOperator = '=' | '!=' | '<' | '>';

const RESULT = { '=': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS', '>': 'GREATER' } as const satisfies Record<CompareOperator, string>;

/** One condition of a transaction; build it with {@link cmp}. */
export interface TxnCondition {
  /** @internal the wire form. */
  readonly wire: Compare;
}

function checkOperator(o: unknown): CompareOperator {
  if (typeof o !== 'string' || !Object.hasOwn(RESULT, o)) throw new InvalidArgument(`compare: operator must be '=', '!=', '<' or '>', got ${JSON.stringify(o)}`);
  return o as CompareOperator;
}

function checkNumber(n: unknown, field: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgument(`${field}: must be a non-negative integer, got ${String(n)}`);
  return n;
}

/**
 * Conditions on a key's current state. A missing key has version,
 * createRevision and modRevision 0, and no comparison of its value holds.
 * Values compare as bytes, lexicographically (`'10' < '9'`).
 *
 * @example
 * ```ts
 * cmp.value('stock/42', '>', '0');
 * cmp.version('orders/7', '=', 0); // the key does not exist
 * cmp.modRevision('config', '=', seen.modRevision);
 * ```
 */
export const cmp = {
  /** The key's value compared with `value` (bytes, lexicographically). */
  value(key: Bytes, operator: CompareOperator, value: Bytes): TxnCondition {
    return { wire: { key: toKey(key), target: 'VALUE', result: RESULT[checkOperator(operator)], value: toBuffer(value, 'value') } };
  },
  /** The key's version (writes since it was created; 0 = absent). */
  version(key: Bytes, operator: CompareOperator, version: number): TxnCondition {
    return { wire: { key: toKey(key), target: 'VERSION', result: RESULT[checkOperator(operator)], version: checkNumber(version, 'version') } };
  },
  /** The revision that created the key (0 = absent). */
  createRevision(key: Bytes, operator: CompareOperator, revision: number): TxnCondition {
    return { wire: { key: toKey(key), target: 'CREATE', result: RESULT[checkOperator(operator)], createRevision: checkNumber(revision, 'createRevision') } };
  },
  /** The revision of the key's latest write (0 = absent). */
  modRevision(key: Bytes, operator: CompareOperator, revision: number): TxnCondition {
    return { wire: { key: toKey(key), target: 'MOD', result: RESULT[checkOperator(operator)], modRevision: checkNumber(revision, 'modRevision') } };
  },
};

/** An operation of a transaction; build it with {@link op}. `T` names its result type. */
export interface TxnOperation<T extends TxnOpResult = TxnOpResult> {
  readonly type: T['type'];
  /** @internal the wire form. */
  readonly wire: RequestOp;
}

/** Result of {@link op.put} inside a transaction. */
export interface TxnPutResult {
  readonly type: 'put';
  /** The key before the write, when `prevKv` was asked for and it existed. */
  readonly prev: KeyValue | undefined;
}

/** Result of {@link op.delete} inside a transaction. */
export interface TxnDeleteResult {
  readonly type: 'delete';
  /** 0 or 1. */
  readonly deleted: number;
  /** The deleted key, when `prevKv` was asked for. */
  readonly prev: KeyValue | undefined;
}

/** Result of {@link op.get} inside a transaction: the key as the transaction saw it. */
export interface TxnGetResult {
  readonly type: 'get';
  readonly kv: KeyValue | undefined;
  readonly found: boolean;
  readonly valueString: string | undefined;
}

/** Result of {@link op.range} inside a transaction. */
export interface TxnRangeResult {
  readonly type: 'range';
  readonly kvs: readonly KeyValue[];
  /** More keys matched than the limit let through. */
  readonly more: boolean;
}

export type TxnOpResult = TxnPutResult | TxnDeleteResult | TxnGetResult | TxnRangeResult;

/** Which keys {@link op.range} reads: a prefix, or `[start, end)`. */
export type TxnRangeSelector = { prefix: Bytes; start?: never; end?: never } | { prefix?: never; start: Bytes; end?: Bytes };

/**
 * Operations of a transaction. Gets and ranges see the state at the
 * transaction's revision, including the writes before them in the same
 * branch. A key may be written (put or delete) once per branch.
 */
export const op = {
  /** Writes `value` under `key`; `prevKv` returns what it replaced. */
  put(key: Bytes, value: Bytes, options: { prevKv?: boolean } = {}): TxnOperation<TxnPutResult> {
    return { type: 'put', wire: { put: { key: toKey(key), value: toBuffer(value, 'value'), prevKv: options.prevKv === true } } };
  },
  /** Deletes `key`; `prevKv` returns what it deleted. */
  delete(key: Bytes, options: { prevKv?: boolean } = {}): TxnOperation<TxnDeleteResult> {
    return { type: 'delete', wire: { delete: { key: toKey(key), prevKv: options.prevKv === true } } };
  },
  /** Reads `key`. */
  get(key: Bytes): TxnOperation<TxnGetResult> {
    return { type: 'get', wire: { get: { key: toKey(key) } } };
  },
  /** Reads up to `limit` keys (1..1000, default 1000) of a prefix or `[start, end)`. */
  range(selector: TxnRangeSelector, options: { limit?: number; keysOnly?: boolean } = {}): TxnOperation<TxnRangeResult> {
    if (selector === null || typeof selector !== 'object') throw new InvalidArgument('range: selector must be { prefix } or { start, end? }');
    const range: NonNullable<RequestOp['range']> = { keysOnly: options.keysOnly === true };
    if (selector.prefix !== undefined) range.prefix = toKey(selector.prefix, 'prefix');
    else {
      range.start = toBuffer(selector.start, 'start');
      if (selector.end !== undefined) range.end = toBuffer(selector.end, 'end');
    }
    if (options.limit !== undefined) {
      if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 1000) throw new InvalidArgument(`limit: must be an integer in 1..1000, got ${String(options.limit)}`);
      range.limit = options.limit;
    }
    return { type: 'range', wire: { range } };
  },
};

/** The results of a branch, position by position. */
export type TxnResults<Ops extends readonly TxnOperation[]> = { readonly [I in keyof Ops]: Ops[I] extends TxnOperation<infer R> ? R : never };

interface TxnOutcome<Ops extends readonly TxnOperation[], Succeeded extends boolean> {
  /** Whether every condition held (so the `then` branch ran). */
  readonly succeeded: Succeeded;
  readonly header: ResponseHeader;
  /** The transaction's log index: every key it wrote has this `modRevision`. */
  readonly revision: number;
  /** One result per operation of the branch that ran. */
  readonly results: TxnResults<Ops>;
}

/** What {@link TxnBuilder.commit} resolves to: narrow on `succeeded` to type `results`. */
export type TxnResult<S extends readonly TxnOperation[], F extends readonly TxnOperation[]> = TxnOutcome<S, true> | TxnOutcome<F, false>;

/** @internal */
type TxnCommit = (request: TxnRequest, options: TxnCommitOptions) => Promise<{ response: TxnResponse__Output; header: ResponseHeader }>;

/** Options of {@link TxnBuilder.commit}. */
export interface TxnCommitOptions {
  signal?: AbortSignal;
  deadlineMs?: number;
}

/**
 * A transaction being built: `if(...conditions)`, `then(...ops)`,
 * `else(...ops)`, each at most once, then `commit()`. It is applied
 * atomically, as one log entry with one revision, and like every write it is
 * retried across failovers and applied at most once.
 *
 * @example
 * ```ts
 * const r = await client
 *   .txn()
 *   .if(cmp.value('stock/42', '>', '0'))
 *   .then(op.put('stock/42', '4'), op.put('orders/9', 'stock/42'))
 *   .else(op.get('stock/42'))
 *   .commit();
 * if (!r.succeeded) console.log('out of stock:', r.results[0].valueString);
 * ```
 */
export class TxnBuilder<S extends readonly TxnOperation[] = [], F extends readonly TxnOperation[] = []> {
  readonly #commit: TxnCommit;
  readonly #compares: TxnCondition[];
  readonly #success: TxnOperation[];
  readonly #failure: TxnOperation[];

  /** @internal use `client.txn()`. */
  constructor(commit: TxnCommit, compares: TxnCondition[] = [], success: TxnOperation[] = [], failure: TxnOperation[] = []) {
    this.#commit = commit;
    this.#compares = compares;
    this.#success = success;
    this.#failure = failure;
  }

  /** Conditions that must all hold for the `then` branch to run (none: it runs). */
  if(...conditions: TxnCondition[]): TxnBuilder<S, F> {
    for (const c of conditions) if (!c || typeof c !== 'object' || !('wire' in c)) throw new InvalidArgument('if: conditions must be built with cmp.*');
    return new TxnBuilder(this.#commit, [...this.#compares, ...conditions], this.#success, this.#failure);
  }

  /**
   * Operations run, in order, when the conditions hold. (The name is the
   * etcd idiom; it makes the builder look like a promise, so `await`ing a
   * builder by mistake rejects with an InvalidArgument saying to call commit().)
   */
  // biome-ignore lint/suspicious/noThenProperty: `then` is the API's name for the success branch (issue 14's contract).
  then<Ops extends TxnOperation[]>(...ops: Ops): TxnBuilder<Ops, F> {
    if (typeof ops[0] === 'function') {
      // Called by `await builder`: the second argument is the promise's reject.
      const reject = (ops as unknown as unknown[])[1];
      if (typeof reject === 'function') reject(new InvalidArgument('txn: a transaction is sent with .commit(), not by awaiting the builder'));
      return this as unknown as TxnBuilder<Ops, F>;
    }
    return new TxnBuilder(this.#commit, this.#compares, checkOps(ops, 'then'), this.#failure);
  }

  /** Operations run, in order, when a condition does not hold. */
  else<Ops extends TxnOperation[]>(...ops: Ops): TxnBuilder<S, Ops> {
    return new TxnBuilder(this.#commit, this.#compares, this.#success, checkOps(ops, 'else'));
  }

  /**
   * Sends the transaction. A failed condition is a normal result
   * (`succeeded: false`), not an exception.
   * @throws {@link InvalidArgument} for a malformed transaction (over 128
   * compares or operations, a key written twice, values over the server's
   * limit); the errors of `put` otherwise.
   */
  async commit(options: TxnCommitOptions = {}): Promise<TxnResult<S, F>> {
    const request: TxnRequest = {
      compare: this.#compares.map((c) => c.wire),
      success: this.#success.map((o) => o.wire),
      failure: this.#failure.map((o) => o.wire),
    };
    const { response, header } = await this.#commit(request, options);
    const results = response.responses.map(toTxnOpResult);
    return { succeeded: response.succeeded, header, revision: header.revision, results } as unknown as TxnResult<S, F>;
  }
}

function checkOps<Ops extends TxnOperation[]>(ops: Ops, where: string): Ops {
  for (const o of ops) if (!o || typeof o !== 'object' || !('wire' in o)) throw new InvalidArgument(`${where}: operations must be built with op.*`);
  return ops;
}

function toTxnOpResult(r: ResponseOp__Output): TxnOpResult {
  switch (r.response) {
    case 'put':
      return { type: 'put', prev: toKeyValue(r.put?.prevKv) };
    case 'delete':
      return { type: 'delete', deleted: Number(r.delete?.deleted ?? 0), prev: toKeyValue(r.delete?.prevKv) };
    case 'get': {
      const kv = toKeyValue(r.get?.kv);
      return { type: 'get', kv, found: kv !== undefined, valueString: kv?.valueString };
    }
    default:
      return { type: 'range', kvs: (r.range?.kvs ?? []).map((kv) => toKeyValue(kv)!), more: r.range?.more ?? false };
  }
}
