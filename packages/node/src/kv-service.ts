import type { KVHandlers, KeyValue, ResponseHeader } from '@bellwether/proto';
import { type KeyValueRecord, prefixEnd, type WriteResult } from '@bellwether/store';
import type { Store } from '@bellwether/store';
import { type sendUnaryData, type ServerUnaryCall, status } from '@grpc/grpc-js';
import { RpcError, toServiceError } from './errors';
import { awaitReadable, type ReadPolicy, remainingMs } from './reads';
import type { Replica } from './replica';
import { checkKey, checkRevision, checkSession, checkValue, type Limits, parseRange, parseRead } from './validate';

export interface KvContext {
  clusterId: string;
  replica: Replica;
  store: Store;
  limits: Limits;
  reads: ReadPolicy;
}

export function header(ctx: KvContext, revision?: number): ResponseHeader {
  const applied = ctx.replica.appliedIndex;
  return {
    clusterId: ctx.clusterId,
    memberId: ctx.replica.memberId,
    term: ctx.replica.currentTerm,
    leaderId: ctx.replica.leaderId ?? '',
    appliedIndex: applied,
    revision: revision ?? applied,
  };
}

function toKeyValue(kv: KeyValueRecord | undefined): KeyValue | null {
  if (!kv) return null;
  return { key: kv.key, value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version };
}

/** Adapts an async handler to grpc-js's callback style, mapping thrown errors to statuses. */
function unary<Req, Res>(fn: (call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    fn(call).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

function checkRefused(result: WriteResult, clientId: string, sequence: number): void {
  if (result.refused === 'sequence-too-old') {
    throw new RpcError(
      status.ABORTED,
      `sequence ${sequence} of client_id "${clientId}" is older than the writes the session remembers; its outcome cannot be told — use a new sequence`,
    );
  }
}

export function kvService(ctx: KvContext): KVHandlers {
  const { limits } = ctx;
  return {
    Put: unary(async (call) => {
      const r = call.request;
      checkKey('key', r.key, limits);
      checkValue(r.value, limits);
      checkRevision('expected_mod_revision', r.expectedModRevision);
      checkSession(r.clientId, r.sequence);
      const result = await ctx.replica.propose({
        op: 'put',
        key: r.key,
        value: r.value,
        expectedModRevision: r.expectedModRevision,
        clientId: r.clientId,
        sequence: r.sequence,
        minUnackedSequence: r.minUnackedSequence,
        prevKv: r.prevKv,
      });
      checkRefused(result, r.clientId, r.sequence);
      return { header: header(ctx, result.revision), succeeded: result.succeeded, prevKv: toKeyValue(result.prevKv) };
    }),

    Delete: unary(async (call) => {
      const r = call.request;
      checkKey('key', r.key, limits);
      checkRevision('expected_mod_revision', r.expectedModRevision);
      checkSession(r.clientId, r.sequence);
      const result = await ctx.replica.propose({
        op: 'delete',
        key: r.key,
        expectedModRevision: r.expectedModRevision,
        clientId: r.clientId,
        sequence: r.sequence,
        minUnackedSequence: r.minUnackedSequence,
        prevKv: r.prevKv,
      });
      checkRefused(result, r.clientId, r.sequence);
      return {
        header: header(ctx, result.revision),
        deleted: result.deleted,
        succeeded: result.succeeded,
        prevKv: toKeyValue(result.prevKv),
      };
    }),

    Get: unary(async (call) => {
      const r = call.request;
      checkKey('key', r.key, limits);
      const read = parseRead(r.read);
      await awaitReadable(ctx.replica, read, remainingMs(call), ctx.reads);
      const h = header(ctx);
      const kv = await ctx.store.get(r.key);
      return { header: h, kv: toKeyValue(kv) };
    }),

    Range: unary(async (call) => {
      const r = call.request;
      const range = parseRange(r, limits, prefixEnd);
      const read = parseRead(r.read);
      await awaitReadable(ctx.replica, read, remainingMs(call), ctx.reads);
      const h = header(ctx);
      const { kvs, more } = await ctx.store.range({ start: range.start, end: range.end, limit: range.limit, keysOnly: r.keysOnly });
      const last = kvs[kvs.length - 1];
      return {
        header: h,
        kvs: kvs.map((kv) => toKeyValue(kv)!),
        more,
        // The next page starts just after the last key returned.
        continuation: more && last ? Buffer.concat([last.key, Buffer.from([0])]) : Buffer.alloc(0),
      };
    }),
  };
}
