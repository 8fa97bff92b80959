import type {
  DeleteRequest__Output,
  DeleteResponse,
  GetRequest__Output,
  GetResponse,
  KeyValue,
  KVHandlers,
  PutRequest__Output,
  PutResponse,
  RangeRequest__Output,
  RangeResponse,
  ResponseHeader,
  TxnRequest__Output,
  TxnResponse,
} from '@bellwether/proto';
import type { Store } from '@bellwether/store';
import { type Command, DEFAULT_RANGE_PAGE_BYTES, type KeyValueRecord, prefixEnd, SESSION_PREV_VALUE_KEPT_BYTES, type WriteResult } from '@bellwether/store';
import { type sendUnaryData, type ServerUnaryCall, status } from '@grpc/grpc-js';
import type { CallCredentials } from './auth/authorizer';
import { RpcError, toServiceError } from './errors';
import { countInFlight, observeKvOps } from './kv-observe';
import { kvStreamHandler } from './kv-stream';
import type { NodeMetrics } from './metrics';
import { awaitReadable, type ReadPolicy, remainingMs } from './reads';
import { parseTxn, toResponseOps } from './txn';
import type { WatchHub } from './watch/hub';
import { type WatchGuard, watchHandler } from './watch/watch-stream';
import type { Replica } from './replica';
import { WriteAdmission } from './write-admission';
import { checkKey, checkRevision, checkSession, checkValue, type Limits, parseRange, parseRead } from './validate';

export interface KvContext {
  clusterId: string;
  replica: Replica;
  store: Store;
  limits: Limits;
  reads: ReadPolicy;
  watches: WatchHub;
  /** Times and counts every operation when given. */
  metrics?: NodeMetrics;
  /** Flow control of writes by bytes (none when absent). */
  admission?: WriteAdmission;
  /** Byte budget of one Range page (default DEFAULT_RANGE_PAGE_BYTES). */
  rangePageBytes?: number;
}

/**
 * The header of a reply. For a write `revision` is its log index; for a read
 * `readIndex` is the applied index of the exact state it was read from.
 */
export function header(ctx: KvContext, revision?: number, readIndex?: number): ResponseHeader {
  const applied = readIndex ?? ctx.replica.appliedIndex;
  return {
    clusterId: ctx.clusterId,
    memberId: ctx.replica.memberId,
    term: ctx.replica.currentTerm,
    leaderId: ctx.replica.leaderId ?? '',
    appliedIndex: applied,
    revision: revision ?? applied,
  };
}

export function toKeyValue(kv: KeyValueRecord | undefined): KeyValue | null {
  if (!kv) return null;
  return { key: kv.key, value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease ?? 0 };
}

export function checkRefused(result: WriteResult, clientId: string, sequence: number, lease = 0): void {
  if (result.prevKvLost) {
    // The outcome is known but cannot be told whole; answering without the
    // previous value would say "the key was absent", which is false.
    throw new RpcError(
      status.DATA_LOSS,
      `sequence ${sequence} of client_id "${clientId}" was already answered at revision ${result.revision}, but its previous value (over ${SESSION_PREV_VALUE_KEPT_BYTES} bytes) is no longer kept; read the key to learn the outcome`,
    );
  }
  if (result.refused === 'lease-not-found') throw new RpcError(status.NOT_FOUND, `lease ${lease} not found (expired or revoked); nothing was written`);
  if (result.refused === 'sequence-too-old') {
    throw new RpcError(
      status.ABORTED,
      `sequence ${sequence} of client_id "${clientId}" is older than the writes the session remembers; its outcome cannot be told — use a new sequence`,
    );
  }
}

/**
 * Waited on by a read just before it reads values from the store (after any
 * wait for a read index): KV.Stream uses it to hold reads while the stream's
 * client is not taking its replies. Resolves (or returns) when the read may go.
 */
export type ReplyGate = () => Promise<void> | undefined;

/**
 * The KV operations, independent of how they arrived (unary call or Stream).
 * `budgetMs` is what is left of the caller's deadline; waits end by it.
 */
export interface KvOps {
  put(r: PutRequest__Output, budgetMs: number): Promise<PutResponse>;
  delete(r: DeleteRequest__Output, budgetMs: number): Promise<DeleteResponse>;
  get(r: GetRequest__Output, budgetMs: number, gate?: ReplyGate): Promise<GetResponse>;
  range(r: RangeRequest__Output, budgetMs: number, gate?: ReplyGate): Promise<RangeResponse>;
  txn(r: TxnRequest__Output): Promise<TxnResponse>;
}

type WriteFields = Pick<PutRequest__Output, 'expectedModRevision' | 'clientId' | 'sequence' | 'minUnackedSequence' | 'prevKv'> & { lease?: number };

export function kvOps(ctx: KvContext): KvOps {
  const { limits } = ctx;
  /** What puts and deletes share: the compare and session fields, the proposal, the session refusal. */
  async function write(r: WriteFields, key: Buffer, value: Buffer | undefined, budgetMs: number): Promise<WriteResult> {
    checkRevision('expected_mod_revision', r.expectedModRevision);
    checkSession(r.clientId, r.sequence);
    const { expectedModRevision, clientId, sequence, minUnackedSequence, prevKv } = r;
    // Literal objects of fixed shape (no spread): this runs once per write on the leader.
    const command: Command =
      value === undefined
        ? { op: 'delete', key, expectedModRevision, clientId, sequence, minUnackedSequence, prevKv }
        : { op: 'put', key, value, expectedModRevision, clientId, sequence, minUnackedSequence, prevKv, lease: r.lease };
    const release = await ctx.admission?.admit(WriteAdmission.costBytes(key.length, value?.length ?? 0), budgetMs);
    let result: WriteResult;
    try {
      result = await ctx.replica.propose(command);
    } finally {
      release?.();
    }
    checkRefused(result, r.clientId, r.sequence, r.lease);
    return result;
  }
  return {
    async put(r, budgetMs) {
      checkKey('key', r.key, limits);
      checkValue(r.value, limits);
      checkRevision('lease', r.lease);
      const result = await write(r, r.key, r.value, budgetMs);
      return { header: header(ctx, result.revision), succeeded: result.succeeded, prevKv: toKeyValue(result.prevKv) };
    },

    async delete(r, budgetMs) {
      checkKey('key', r.key, limits);
      const result = await write(r, r.key, undefined, budgetMs);
      return {
        header: header(ctx, result.revision),
        deleted: result.deleted,
        succeeded: result.succeeded,
        prevKv: toKeyValue(result.prevKv),
      };
    },

    async get(r, budgetMs, gate) {
      checkKey('key', r.key, limits);
      const read = parseRead(r.read);
      await awaitReadable(ctx.replica, read, budgetMs, ctx.reads);
      const held = gate?.();
      if (held) await held;
      const { kv, appliedIndex } = await ctx.store.read(r.key);
      return { header: header(ctx, undefined, appliedIndex), kv: toKeyValue(kv) };
    },

    async range(r, budgetMs, gate) {
      const range = parseRange(r, limits, prefixEnd);
      const read = parseRead(r.read);
      await awaitReadable(ctx.replica, read, budgetMs, ctx.reads);
      const held = gate?.();
      if (held) await held;
      const maxBytes = ctx.rangePageBytes ?? DEFAULT_RANGE_PAGE_BYTES;
      const { kvs, more, appliedIndex } = await ctx.store.range({ start: range.start, end: range.end, limit: range.limit, keysOnly: r.keysOnly, maxBytes });
      const last = kvs[kvs.length - 1];
      return {
        header: header(ctx, undefined, appliedIndex),
        kvs: kvs.map((kv) => toKeyValue(kv)!),
        more,
        // The next page starts just after the last key returned.
        continuation: more && last ? Buffer.concat([last.key, Buffer.from([0])]) : Buffer.alloc(0),
      };
    },

    async txn(r) {
      const command = parseTxn(r, limits);
      const result = await ctx.replica.propose(command);
      checkRefused(result, command.clientId, command.sequence);
      const h = header(ctx, result.revision);
      return { header: h, succeeded: result.succeeded, responses: toResponseOps(result.txn ?? [], h, toKeyValue) };
    },
  };
}

/** Adapts an operation to grpc-js's callback style, mapping thrown errors (synchronous ones too) to statuses. */
export function unary<Req, Res>(fn: (req: Req, budgetMs: number, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    let res: Res | Promise<Res>;
    try {
      res = fn(call.request, remainingMs(call), call);
    } catch (err) {
      callback(toServiceError(err));
      return;
    }
    // No promise of its own around the operation's: one microtask less per call.
    if (res instanceof Promise) res.then((r) => callback(null, r), (err: unknown) => callback(toServiceError(err)));
    else callback(null, res);
  };
}

/**
 * The KV operations one call (or one KV.Stream) may run, e.g. checked against
 * its caller's permissions. `oneCall`: they serve one unary call, starting
 * now (a stream's serve calls for the stream's life).
 */
export type KvGuard = (ops: KvOps, call: CallCredentials, oneCall: boolean) => KvOps;

export function kvService(ctx: KvContext, guard: KvGuard = (ops) => ops, watchGuard?: WatchGuard): KVHandlers {
  const { metrics } = ctx;
  const ops = metrics ? observeKvOps(kvOps(ctx), metrics) : kvOps(ctx);
  return {
    Put: unary((r: PutRequest__Output, budget, call) => guard(ops, call, true).put(r, budget)),
    Delete: unary((r: DeleteRequest__Output, budget, call) => guard(ops, call, true).delete(r, budget)),
    Get: unary((r: GetRequest__Output, budget, call) => guard(ops, call, true).get(r, budget)),
    Range: unary((r: RangeRequest__Output, budget, call) => guard(ops, call, true).range(r, budget)),
    Txn: unary((r: TxnRequest__Output, _budget, call) => guard(ops, call, true).txn(r)),
    Stream: kvStreamHandler(metrics ? countInFlight(ops, metrics.kvStreamCallsInFlight) : ops, guard, { observer: metrics?.kvStreamBacklog }),
    Watch: watchHandler(ctx, ctx.watches, watchGuard),
  };
}
