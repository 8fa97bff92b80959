import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type {
  DeleteRequest,
  GetRequest,
  PutRequest,
  RangeRequest,
  ReadOptions as WireReadOptions,
} from '@bellwether/proto';
import { type Bytes, toBuffer, toKey, view } from './bytes';
import { Cancelled, InvalidArgument } from './errors';
import type { Method, MethodRequest } from './member';
import { MemberPool } from './member';
import { type CallContext, Invoker, linkSignals, NO_RETRY, type Operation, SingleEndpointRouter } from './pipeline';
import {
  type DeleteResult,
  type GetResult,
  type KeyValue,
  type PutResult,
  type RangePage,
  type ResponseHeader,
  type SwapResult,
  type ClusterMembers,
  type MemberStatus,
  toClusterMembers,
  toGetResult,
  toHeader,
  toKeyValue,
  toMemberStatus,
} from './results';

/**
 * How fresh a read must be.
 * - `'linearizable'`: sees every write acknowledged before the read started.
 * - `'read-your-writes'` (the default): sees at least this client's own
 *   earlier writes and reads (the client sends its highest seen index as
 *   `min_index`).
 * - `'any-follower'`: served at once from the member's local copy; may be
 *   stale (bound it with `maxStalenessMs`).
 */
export type ReadMode = 'linearizable' | 'read-your-writes' | 'any-follower';

/** The default deadline of every call: 10 seconds. */
export const DEFAULT_DEADLINE_MS = 10_000;

/** The default read mode. */
export const DEFAULT_READ_MODE: ReadMode = 'read-your-writes';

/** Options of {@link connect}. */
export interface ClientOptions {
  /**
   * Members to contact, as `host:port`. This version sends every call to
   * `endpoints[0]`; leader discovery and failover across the list come in a
   * later version without changes to this option.
   */
  endpoints: readonly string[];
  /**
   * This client's id for exactly-once writes (1..128 bytes). Defaults to a
   * random UUID. Two live clients must never share an id.
   */
  clientId?: string;
  /** The default deadline of each call in milliseconds (default 10 000). */
  deadlineMs?: number;
  /** The default read mode (default `'read-your-writes'`). */
  readMode?: ReadMode;
  /** The default `maxStalenessMs` of `'any-follower'` reads (default: no bound). */
  maxStalenessMs?: number;
  /** Channel credentials (default: insecure, i.e. plaintext). */
  credentials?: grpc.ChannelCredentials;
  /** Extra grpc-js channel options (keepalive, message size, ...). */
  channelOptions?: grpc.ChannelOptions;
}

/** Options every call accepts. */
export interface CallOptions {
  /** Cancels the call; it then rejects with {@link Cancelled}. */
  signal?: AbortSignal;
  /** This call's deadline in milliseconds, instead of the client's default. */
  deadlineMs?: number;
}

/** Options of reads ({@link BellwetherClient.get}, {@link BellwetherClient.range}). */
export interface ReadOptions extends CallOptions {
  /** This read's mode, instead of the client's default. */
  mode?: ReadMode;
  /**
   * For `'read-your-writes'`: the lowest acceptable applied index. The client
   * sends the larger of this and the highest index it has seen itself.
   */
  minIndex?: number;
  /** For `'any-follower'`: refuse a member that has not heard from a leader within this many ms. */
  maxStalenessMs?: number;
}

/** Options of {@link BellwetherClient.get}. */
export interface GetOptions extends ReadOptions {}

/** Options of {@link BellwetherClient.put}. */
export interface PutOptions extends CallOptions {
  /**
   * Write only if the key's current `modRevision` equals this; `0` means
   * "only if the key does not exist". On a mismatch nothing is written and the
   * result has `succeeded: false`.
   */
  expectedModRevision?: number;
  /** Return the key's previous state in `prev`. */
  prevKv?: boolean;
}

/** Options of {@link BellwetherClient.delete}. */
export interface DeleteOptions extends CallOptions {
  /** Delete only if the key's current `modRevision` equals this. */
  expectedModRevision?: number;
  /** Return the deleted key in `prev`. */
  prevKv?: boolean;
}

/** Options of {@link BellwetherClient.compareAndSwap} and {@link BellwetherClient.compareAndDelete}. */
export interface CompareAndSwapOptions extends CallOptions {}

/**
 * Which keys a range selects, in byte order: those starting with `prefix`, or
 * those in `[start, end)` (no `end`: no upper bound; `{}`: every key).
 */
export type RangeSelector = { prefix: Bytes; start?: never; end?: never } | { prefix?: never; start?: Bytes; end?: Bytes };

/** Options of {@link BellwetherClient.range}. */
export interface RangeOptions extends ReadOptions {
  /** The most keys in the page: 1..10000 (default 1000). */
  limit?: number;
  /** Leave values out (keys and revisions only). */
  keysOnly?: boolean;
  /** The `continuation` of the previous page. */
  continuation?: Uint8Array;
}

/** Options of {@link BellwetherClient.scan}. */
export interface ScanOptions extends ReadOptions {
  /** Keys per page: 1..10000 (default 1000). */
  pageSize?: number;
  /** Stop after this many keys in total (default: all). */
  limit?: number;
  /** Leave values out (keys and revisions only). */
  keysOnly?: boolean;
}

const WIRE_MODE = {
  linearizable: 'READ_MODE_LINEARIZABLE',
  'read-your-writes': 'READ_MODE_READ_YOUR_WRITES',
  'any-follower': 'READ_MODE_ANY_FOLLOWER',
} as const satisfies Record<ReadMode, string>;

const MAX_RANGE_LIMIT = 10_000;
const MAX_CLIENT_ID_BYTES = 128;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Only {@link connect} holds this, so only it can construct a client. */
const CONSTRUCT: unique symbol = Symbol('BellwetherClient.construct');

/**
 * Issues the `(clientId, sequence)` pairs of one client's writes: one
 * sequence per logical write, strictly increasing from 1. A retry of a write
 * reuses its pair (the request is built once).
 */
class WriteSequencer {
  #next = 1;
  constructor(readonly clientId: string) {}
  next(): number {
    return this.#next++;
  }
}

/**
 * What a client (later: each session) has seen: the highest log index
 * written or read, sent as `min_index` by read-your-writes reads.
 */
class SessionState {
  index = 0;
  observe(header: ResponseHeader): void {
    if (header.revision > this.index) this.index = header.revision;
  }
}

/**
 * A connection to a Bellwether cluster. Make one with {@link connect}, share
 * it across your application, and {@link BellwetherClient.close} it at exit.
 * Every method takes an optional `signal` and `deadlineMs`, and rejects only
 * with subclasses of `BellwetherError`.
 */
export class BellwetherClient {
  /** This client's id, carried by every write for exactly-once retries. */
  readonly clientId: string;
  /** The endpoints the client was given. */
  readonly endpoints: readonly string[];
  readonly #pool: MemberPool;
  readonly #invoker: Invoker;
  readonly #sequencer: WriteSequencer;
  readonly #session = new SessionState();
  readonly #closing = new AbortController();
  readonly #deadlineMs: number;
  readonly #readMode: ReadMode;
  readonly #maxStalenessMs: number | undefined;

  /** Not for applications: use {@link connect}, which may become asynchronous work (discovery). */
  constructor(options: ClientOptions, token: typeof CONSTRUCT) {
    if (token !== CONSTRUCT) throw new TypeError('use connect() to create a BellwetherClient');
    const endpoints = checkEndpoints(options.endpoints);
    this.endpoints = Object.freeze([...endpoints]);
    this.clientId = options.clientId === undefined ? randomUUID() : checkClientId(options.clientId);
    this.#deadlineMs = options.deadlineMs === undefined ? DEFAULT_DEADLINE_MS : checkDeadline(options.deadlineMs, 'deadlineMs');
    this.#readMode = options.readMode === undefined ? DEFAULT_READ_MODE : checkMode(options.readMode, 'readMode');
    this.#maxStalenessMs = options.maxStalenessMs === undefined ? undefined : checkUint32(options.maxStalenessMs, 'maxStalenessMs');
    this.#sequencer = new WriteSequencer(this.clientId);
    this.#pool = new MemberPool({
      credentials: options.credentials ?? grpc.credentials.createInsecure(),
      channelOptions: options.channelOptions ?? {},
    });
    this.#invoker = new Invoker(new SingleEndpointRouter(this.#pool, endpoints[0]!), NO_RETRY, (h) => this.#session.observe(h));
  }

  /** Whether {@link BellwetherClient.close} has been called. */
  get closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /**
   * Stores `value` under `key`. With `expectedModRevision` it is a
   * compare-and-swap whose mismatch yields `succeeded: false` (not an error).
   * @throws {@link InvalidArgument} for a bad key or option, {@link NotLeader}
   * when the endpoint is a follower, {@link OutcomeUnknown} when the deadline
   * passed with the outcome unknown, and the other `BellwetherError`s.
   */
  async put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResult> {
    const request: PutRequest = { key: toKey(key), value: toBuffer(value, 'value'), prevKv: options.prevKv === true };
    if (options.expectedModRevision !== undefined) {
      request.expectedModRevision = checkRevision(options.expectedModRevision, 'expectedModRevision');
    }
    const res = await this.#write('Put', request, options);
    const header = toHeader(res.header);
    return { header, revision: header.revision, succeeded: res.succeeded, prev: toKeyValue(res.prevKv) };
  }

  /**
   * Reads one key under the client's (or this call's) read mode. A missing
   * key is not an error: the result has `found: false`.
   */
  async get(key: Bytes, options: GetOptions = {}): Promise<GetResult> {
    const request: GetRequest = { key: toKey(key), read: this.#readOptions(options) };
    const res = await this.#read('Get', request, options);
    return toGetResult(toHeader(res.header), toKeyValue(res.kv));
  }

  /**
   * Deletes one key. Deleting a missing key succeeds with `deleted: 0`.
   * With `expectedModRevision`, a mismatch yields `succeeded: false`.
   */
  async delete(key: Bytes, options: DeleteOptions = {}): Promise<DeleteResult> {
    const request: DeleteRequest = { key: toKey(key), prevKv: options.prevKv === true };
    if (options.expectedModRevision !== undefined) {
      request.expectedModRevision = checkRevision(options.expectedModRevision, 'expectedModRevision');
    }
    const res = await this.#write('Delete', request, options);
    const header = toHeader(res.header);
    return {
      header,
      revision: header.revision,
      deleted: Number(res.deleted),
      succeeded: res.succeeded,
      prev: toKeyValue(res.prevKv),
    };
  }

  /**
   * Writes `value` only if the key's `modRevision` is `expectedModRevision`
   * (`0`: only if the key does not exist). A failed comparison is a normal
   * result, `{ succeeded: false, current }`, not an exception; a retry of the
   * same call cannot apply twice.
   */
  async compareAndSwap(key: Bytes, expectedModRevision: number, value: Bytes, options: CompareAndSwapOptions = {}): Promise<SwapResult> {
    const request: PutRequest = {
      key: toKey(key),
      value: toBuffer(value, 'value'),
      expectedModRevision: checkRevision(expectedModRevision, 'expectedModRevision'),
      prevKv: true,
    };
    const res = await this.#write('Put', request, options);
    const header = toHeader(res.header);
    const kv = toKeyValue(res.prevKv);
    return res.succeeded ? { succeeded: true, header, revision: header.revision, prev: kv } : { succeeded: false, header, current: kv };
  }

  /**
   * Deletes the key only if its `modRevision` is `expectedModRevision`. A
   * failed comparison returns `{ succeeded: false, current }`.
   */
  async compareAndDelete(key: Bytes, expectedModRevision: number, options: CompareAndSwapOptions = {}): Promise<SwapResult> {
    const request: DeleteRequest = {
      key: toKey(key),
      expectedModRevision: checkRevision(expectedModRevision, 'expectedModRevision'),
      prevKv: true,
    };
    const res = await this.#write('Delete', request, options);
    const header = toHeader(res.header);
    const kv = toKeyValue(res.prevKv);
    return res.succeeded ? { succeeded: true, header, revision: header.revision, prev: kv } : { succeeded: false, header, current: kv };
  }

  /**
   * Reads one page of keys in byte order. Pass the page's `continuation` back
   * in `options.continuation` for the next one, or use
   * {@link BellwetherClient.scan} to iterate them all.
   */
  async range(selector: RangeSelector, options: RangeOptions = {}): Promise<RangePage> {
    const request = this.#rangeRequest(selector, options.limit, options.keysOnly, options);
    if (options.continuation !== undefined) request.continuation = toBuffer(options.continuation, 'continuation');
    const res = await this.#read('Range', request, options);
    const kvs: KeyValue[] = [];
    for (const kv of res.kvs) {
      const converted = toKeyValue(kv);
      if (converted) kvs.push(converted);
    }
    const continuation = res.more && res.continuation.length > 0 ? view(res.continuation) : undefined;
    return { header: toHeader(res.header), kvs, more: res.more, continuation };
  }

  /**
   * Iterates every selected key, fetching pages as needed
   * (`for await (const kv of client.scan({ prefix: 'user/' }))`). Each page is
   * one call with its own deadline (`deadlineMs`); `signal` stops the whole
   * scan. Pages are read at the state each is served from, so a key written
   * during the scan may or may not appear.
   */
  async *scan(selector: RangeSelector, options: ScanOptions = {}): AsyncGenerator<KeyValue, void, undefined> {
    const pageSize = options.pageSize === undefined ? undefined : checkLimit(options.pageSize, 'pageSize');
    const total = options.limit === undefined ? Number.POSITIVE_INFINITY : checkLimit(options.limit, 'limit', Number.MAX_SAFE_INTEGER);
    let yielded = 0;
    let continuation: Uint8Array | undefined;
    while (yielded < total) {
      const remaining = total - yielded;
      const limit = pageSize === undefined ? (remaining < 1000 ? remaining : undefined) : Math.min(pageSize, remaining);
      const { pageSize: _p, limit: _l, ...rest } = options;
      const page = await this.range(selector, { ...rest, limit, continuation });
      for (const kv of page.kvs) {
        if (yielded >= total) return;
        yielded++;
        yield kv;
      }
      if (!page.more || !page.continuation) return;
      continuation = page.continuation;
    }
  }

  /**
   * Describes the member the client talks to (Cluster.Status): its role,
   * term, the leader it knows of and how far its log and state reach.
   */
  async status(options: CallOptions = {}): Promise<MemberStatus> {
    return toMemberStatus(await this.#read('Status', {}, options));
  }

  /** Lists the cluster's members as the member the client talks to knows them (Cluster.Members). */
  async members(options: CallOptions = {}): Promise<ClusterMembers> {
    return toClusterMembers(await this.#read('Members', {}, options));
  }

  /**
   * Closes every connection. Calls in flight reject with {@link Cancelled};
   * later calls reject at once. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.#closing.abort(new Cancelled('the client was closed'));
    this.#pool.close();
  }

  #readOptions(options: ReadOptions): WireReadOptions {
    const mode = options.mode === undefined ? this.#readMode : checkMode(options.mode, 'mode');
    const read: WireReadOptions = { mode: WIRE_MODE[mode] };
    if (mode === 'read-your-writes') {
      const floor = options.minIndex === undefined ? 0 : checkRevision(options.minIndex, 'minIndex');
      read.minIndex = Math.max(floor, this.#session.index);
    }
    if (mode === 'any-follower') {
      const bound = options.maxStalenessMs === undefined ? this.#maxStalenessMs : checkUint32(options.maxStalenessMs, 'maxStalenessMs');
      if (bound !== undefined) read.maxStalenessMs = bound;
    }
    return read;
  }

  #rangeRequest(selector: RangeSelector, limit: number | undefined, keysOnly: boolean | undefined, options: ReadOptions): RangeRequest {
    if (typeof selector !== 'object' || selector === null) {
      throw new InvalidArgument('selector: must be { prefix } or { start?, end? }');
    }
    const request: RangeRequest = { read: this.#readOptions(options), keysOnly: keysOnly === true };
    if (limit !== undefined) request.limit = checkLimit(limit, 'limit');
    if (selector.prefix !== undefined) {
      if (selector.start !== undefined || selector.end !== undefined) {
        throw new InvalidArgument('selector: give either prefix or start/end, not both');
      }
      request.prefix = toBuffer(selector.prefix, 'prefix');
      return request;
    }
    const start = selector.start === undefined ? undefined : toBuffer(selector.start, 'start');
    const end = selector.end === undefined ? undefined : toBuffer(selector.end, 'end');
    if (start && end && end.length > 0 && Buffer.compare(start, end) >= 0) {
      throw new InvalidArgument('selector: start must be < end');
    }
    if (start) request.start = start;
    if (end) request.end = end;
    return request;
  }

  #write<M extends 'Put' | 'Delete'>(method: M, request: MethodRequest<M>, options: CallOptions) {
    const ctxParts = this.#context(options);
    // The pair is fixed here, once per logical write; retries resend `request` as is.
    const sequence = this.#sequencer.next();
    const wire: { clientId?: string; sequence?: number | string | object } = request;
    wire.clientId = this.clientId;
    wire.sequence = sequence;
    const op: Operation<M> = { method, kind: 'write', request, clientId: this.clientId, sequence };
    return this.#run(op, ctxParts);
  }

  #read<M extends 'Get' | 'Range' | 'Status' | 'Members'>(method: M, request: MethodRequest<M>, options: CallOptions) {
    const op: Operation<M> = { method, kind: 'read', request };
    return this.#run(op, this.#context(options));
  }

  #context(options: CallOptions): { deadline: number; signal: AbortSignal | undefined } {
    if (options === null || typeof options !== 'object') throw new InvalidArgument('options: must be an object');
    const deadlineMs = options.deadlineMs === undefined ? this.#deadlineMs : checkDeadline(options.deadlineMs, 'deadlineMs');
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new InvalidArgument('signal: must be an AbortSignal');
    }
    return { deadline: Date.now() + deadlineMs, signal: options.signal };
  }

  async #run<M extends Method>(op: Operation<M>, parts: { deadline: number; signal: AbortSignal | undefined }) {
    if (this.closed) {
      throw new Cancelled(`${op.method}: the client is closed`, { method: op.method });
    }
    const linked = linkSignals([parts.signal, this.#closing.signal]);
    const ctx: CallContext = { deadline: parts.deadline, signal: linked.signal };
    try {
      return await this.#invoker.run(op, ctx);
    } finally {
      linked.dispose();
    }
  }
}

/**
 * Creates a client for the cluster reachable at `options.endpoints`.
 *
 * The client connects lazily: this resolves without contacting the cluster,
 * and the first call opens the connection. This version talks to
 * `endpoints[0]` only; later versions discover the leader from the list.
 *
 * @throws {@link InvalidArgument} for bad options.
 * @example
 * ```ts
 * const client = await connect({ endpoints: ['127.0.0.1:7001'] });
 * await client.put('greeting', 'hello');
 * console.log((await client.get('greeting')).valueString);
 * await client.close();
 * ```
 */
export async function connect(options: ClientOptions): Promise<BellwetherClient> {
  if (options === null || typeof options !== 'object') throw new InvalidArgument('options: must be an object');
  return new BellwetherClient(options, CONSTRUCT);
}

function checkEndpoints(endpoints: unknown): string[] {
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new InvalidArgument('endpoints: must be a non-empty array of "host:port" strings');
  }
  for (const e of endpoints) {
    if (typeof e !== 'string' || e.trim() === '') throw new InvalidArgument(`endpoints: each must be a "host:port" string, got ${JSON.stringify(e)}`);
  }
  return endpoints as string[];
}

function checkClientId(id: unknown): string {
  const bytes = typeof id === 'string' ? Buffer.byteLength(id, 'utf8') : -1;
  if (bytes < 1 || bytes > MAX_CLIENT_ID_BYTES) {
    throw new InvalidArgument(`clientId: must be a string of 1..${MAX_CLIENT_ID_BYTES} bytes`);
  }
  return id as string;
}

function checkDeadline(ms: unknown, field: string): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0 || ms > MAX_TIMER_MS) {
    throw new InvalidArgument(`${field}: must be a number of milliseconds in 1..${MAX_TIMER_MS}, got ${String(ms)}`);
  }
  return ms;
}

function checkMode(mode: unknown, field: string): ReadMode {
  if (typeof mode !== 'string' || !Object.hasOwn(WIRE_MODE, mode)) {
    throw new InvalidArgument(`${field}: must be 'linearizable', 'read-your-writes' or 'any-follower', got ${JSON.stringify(mode)}`);
  }
  return mode as ReadMode;
}

function checkRevision(n: unknown, field: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgument(`${field}: must be a non-negative integer, got ${String(n)}`);
  }
  return n;
}

function checkUint32(n: unknown, field: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new InvalidArgument(`${field}: must be an integer in 0..4294967295, got ${String(n)}`);
  }
  return n;
}

function checkLimit(n: unknown, field: string, max = MAX_RANGE_LIMIT): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    throw new InvalidArgument(`${field}: must be an integer in 1..${max}, got ${String(n)}`);
  }
  return n;
}
