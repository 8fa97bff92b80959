import { randomUUID } from 'node:crypto';
import type {
  DeleteRequest,
  GetRequest,
  PutRequest,
  RangeRequest,
  ReadOptions as WireReadOptions,
} from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { type Bytes, toBuffer, toKey, view } from './bytes';
import { CancelToken } from './cancel';
import { BellwetherError, Cancelled, DeadlineExceeded, InvalidArgument, StatusCode } from './errors';
import { type AddMemberOptions, type ChangeRequest, checkMemberId, settledChange } from './membership';
import type { Method, MethodRequest, MethodResponse, Transport } from './member';
import { MemberPool } from './member';
import { type CallContext, Invoker, type Operation, type ReadMode as PipelineReadMode, refusedAfterPossibleEffect } from './pipeline';
import {
  type ClusterMember,
  type ClusterMembers,
  type ClusterView,
  type DeleteResult,
  type GetResult,
  type KeyValue,
  type LeaderChangeEvent,
  type LeadershipTransfer,
  type MemberEvent,
  type MemberStatus,
  type MemberView,
  type PutResult,
  type RangePage,
  type SwapResult,
  toClusterMembers,
  toMembershipChange,
  type MembershipChange,
  toGetResult,
  toHeader,
  toKeyValue,
  toLeadershipTransfer,
  toMemberStatus,
} from './results';
import { ClusterRetryPolicy, ClusterRouter, type LoadBalancing } from './routing';
import { decodeToken, encodeToken, SessionState } from './session';
import { type AuthOptions, checkAuth, TokenSource } from './auth';
import { AuthAdmin } from './auth-admin';
import { channelCredentials, type TlsOptions } from './tls';
import { ClusterTracker, type LogFn, type MemberState, type TrackerEvent, trackerSettings } from './tracker';
import { TxnBuilder } from './txn';
import { checkTtl, Lease, type LeaseOptions } from './lease';
import { LeaseAdmin } from './lease-admin';
import { acquireLock, Election, type LockHandle, type LockOptions } from './recipes';
import { type WatchEvent, type WatchOptions, type WatchSelector, watchChanges } from './watch';

/**
 * How fresh a read must be.
 * - `'linearizable'`: sees every write acknowledged before the read started.
 * - `'read-your-writes'` (the default): sees at least this client's own
 *   earlier writes and reads (the client sends its highest seen index as
 *   `min_index`).
 * - `'any-follower'`: served at once from the member's local copy; may be
 *   stale (bound it with `maxStalenessMs`).
 */
export type ReadMode = PipelineReadMode;

/** The default deadline of every call: 10 seconds. */
/** How often, and how far apart, a retried membership change reads the members to settle (see #change). */
const SETTLE_LOOKS = 10;
const SETTLE_LOOK_EVERY_MS = 50;

export const DEFAULT_DEADLINE_MS = 10_000;

/** The default read mode. */
export const DEFAULT_READ_MODE: ReadMode = 'read-your-writes';

/**
 * Receives the client's structured log lines: `fields` first, then the
 * message, the shape pino, bunyan and most structured loggers accept
 * (`logger: pino()` works as is). Every method is optional.
 */
export interface ClientLogger {
  /** Routine events: members discovered, attempts retried. */
  debug?(fields: Readonly<Record<string, unknown>>, message: string): void;
  /** Leader changes, members coming back. */
  info?(fields: Readonly<Record<string, unknown>>, message: string): void;
  /** Members going down. */
  warn?(fields: Readonly<Record<string, unknown>>, message: string): void;
  /** A member of another cluster, a listener that threw. */
  error?(fields: Readonly<Record<string, unknown>>, message: string): void;
}

/** Options of {@link connect}. */
export interface ClientOptions {
  /**
   * Seed members to contact first, as `host:port`: any one reachable member
   * is enough. The client learns the rest of the cluster from it
   * (`Cluster.Members`) and follows the leader from then on.
   */
  endpoints: readonly string[];
  /**
   * This client's id for exactly-once writes (1..128 bytes). Defaults to a
   * random UUID. Two live clients must never share an id. With an id of your
   * own, sequences start from a clock-derived number instead of 1, so a
   * restarted process reusing the id never collides with its predecessor's
   * remembered writes.
   */
  clientId?: string;
  /** The default deadline of each call in milliseconds, retries included (default 10 000). */
  deadlineMs?: number;
  /** The default read mode (default `'read-your-writes'`). */
  readMode?: ReadMode;
  /** The default `maxStalenessMs` of `'any-follower'` reads (default: no bound). */
  maxStalenessMs?: number;
  /** Channel credentials (default: insecure, i.e. plaintext). Use `tls` for the usual cases. */
  credentials?: grpc.ChannelCredentials;
  /**
   * TLS to the members' client ports: `{ ca }` trusts the cluster's CA (PEM
   * text or bytes); add `cert` and `key` when the cluster requires client
   * certificates (`--client-cert-auth`). Not together with `credentials`.
   */
  tls?: TlsOptions;
  /**
   * For clusters with auth enabled: the client authenticates
   * (`Auth.Authenticate`) when it connects, sends its token with every call,
   * and refreshes it before it expires and after a call is refused
   * {@link Unauthenticated}. The password is kept in memory only, never logged.
   */
  auth?: AuthOptions;
  /** Extra grpc-js channel options (keepalive, message size, ...). */
  channelOptions?: grpc.ChannelOptions;
  /**
   * Retry writes across failovers, with their `(clientId, sequence)`, so each
   * is applied at most once (default `true`). With `false` every write is one
   * attempt and its failure reaches you as it happened.
   */
  retryWrites?: boolean;
  /** Retry reads on another member or after a back-off (default `true`). */
  retryReads?: boolean;
  /**
   * The most one attempt may take before the client tries again elsewhere
   * (default 3000 ms; the call's deadline still bounds it). Only with retries.
   */
  attemptTimeoutMs?: number;
  /** Back-off between retries: doubling from `initialMs` (default 25) up to `maxMs` (default 1000), with jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * Off by default: the client probes a member (`Cluster.Status`) once at
   * start and then only when something suggests it changed (its connection
   * dropped or failed a keepalive PING, a call to it failed, the WatchLeader
   * stream broke); a down member is probed again with a back-off starting
   * at this value (default 1000 ms). Set it to also probe every member on
   * this period, as earlier versions did: each probe costs every member
   * server CPU, per client.
   */
  heartbeatIntervalMs?: number;
  /** A probe not answered within this many ms failed (default 1000). */
  heartbeatTimeoutMs?: number;
  /**
   * The member list (`Cluster.Members`) is re-read whenever the watched
   * member reports it changed; this is a safety net on top (default
   * 300 000 ms).
   */
  refreshIntervalMs?: number;
  /** How follower reads are spread: `'least-outstanding'` requests (default) or `'round-robin'`. */
  loadBalancing?: LoadBalancing;
  /**
   * The most writes of this client awaiting an answer at once (1..2048,
   * default 1024); more wait for a slot within their deadline. The cluster
   * remembers at most 4096 results per client beyond the oldest unanswered
   * write, so this keeps every retry answerable.
   */
  maxPendingWrites?: number;
  /** Receives structured log lines (default: none). */
  logger?: ClientLogger;
  /**
   * How KV calls (put, get, delete, range and their variants) travel:
   * - `'stream'` (the default): over one long-lived `KV.Stream` per member,
   *   opened on first use and reopened if it breaks. Calls made in the same
   *   turn of the event loop leave as one message and replies come back
   *   batched, which saves most of the per-call cost under concurrency.
   *   Semantics are those of unary calls: the same errors (and leader hints),
   *   one deadline per call (sent along as `timeout_ms`), cancellation by
   *   `AbortSignal`, and a broken stream fails its unanswered calls like a
   *   broken connection, so writes are retried with their `(clientId,
   *   sequence)` and applied at most once. A cancelled or timed-out call is
   *   abandoned by the client only: the member may still run it (for a write,
   *   `mayHaveApplied` says so, as with unary). At most 4096 calls are in
   *   flight per member; more wait their turn. A member that does not
   *   implement `KV.Stream` (an older server) is served by unary calls.
   * - `'unary'`: one gRPC call per request.
   *
   * Status and Members calls, probes and WatchLeader are unary either way.
   */
  transport?: Transport;
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
  /** Attach the key to this lease (or lease id): it is deleted when the lease ends. */
  lease?: Lease | number;
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
/** Well below the 4096 results the cluster keeps per client beyond its oldest unanswered write. */
const MAX_PENDING_WRITES = 2048;

/** Only {@link connect} holds this, so only it can construct a client. */
const CONSTRUCT: unique symbol = Symbol('BellwetherClient.construct');

/**
 * Issues the `(clientId, sequence)` pairs of one client's writes: one
 * sequence per logical write, strictly increasing. A retry of a write reuses
 * its pair (the request is built once). It also knows the lowest sequence
 * still waiting for an answer (sent as `min_unacked_sequence`, so the cluster
 * may forget older results) and keeps at most `window` sequences between
 * that and the next, so the cluster still remembers every pending one.
 */
class WriteSequencer {
  #next: number;
  #lowest: number;
  readonly #pending = new Set<number>();
  readonly #waiters = new Set<() => void>();

  constructor(
    first: number,
    readonly window: number,
  ) {
    this.#next = first;
    this.#lowest = first;
  }

  /** The lowest sequence still waiting for an answer (or the next one when none is). */
  floor(): number {
    return this.#lowest;
  }

  /** Takes the next sequence, waiting while the window is full. */
  async acquire(signal: CancelToken, deadline: number, method: string): Promise<number> {
    while (this.#next - this.#lowest >= this.window) {
      if (signal.aborted) throw new Cancelled(`${method}: cancelled before it was sent; nothing was applied`, { method, cause: signal.reason });
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new DeadlineExceeded(`${method}: deadline exceeded waiting for one of ${this.window} pending writes to finish; the write was not applied`, {
          method,
        });
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          off();
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        const off = signal.onAbort(done);
        this.#waiters.add(done);
      });
    }
    const sequence = this.#next++;
    this.#pending.add(sequence);
    return sequence;
  }

  /** The write with `sequence` has its answer (or its caller gave up). */
  release(sequence: number): void {
    if (!this.#pending.delete(sequence)) return;
    while (this.#lowest < this.#next && !this.#pending.has(this.#lowest)) this.#lowest++;
    for (const wake of [...this.#waiters]) wake();
  }
}

/** Options of {@link BellwetherClient.session}. */
export interface SessionOptions {
  /**
   * Resume a session exported by {@link Session.token}, possibly in another
   * process: reads of the new session then see every write the old one made
   * or saw.
   */
  token?: string;
}

/** The events of {@link BellwetherClient.on}, and what each listener receives. */
export interface ClientEventMap {
  /** The leader (or the term) changed; `leaderId` is `undefined` while none is known. */
  leaderChange: LeaderChangeEvent;
  /** A member answered again after being down, or for the first time. */
  memberUp: MemberEvent;
  /** A member stopped answering (refused connections, or probes unanswered). */
  memberDown: MemberEvent;
}

/** The name of an event of {@link BellwetherClient.on}. */
export type ClientEventName = keyof ClientEventMap;

/** A listener of event `E`. */
export type ClientEventListener<E extends ClientEventName> = (event: ClientEventMap[E]) => void;

/** The internal calls a {@link Session} makes through its client. */
interface SessionOps {
  put(key: Bytes, value: Bytes, options: PutOptions, session: SessionState): Promise<PutResult>;
  get(key: Bytes, options: GetOptions, session: SessionState): Promise<GetResult>;
  delete(key: Bytes, options: DeleteOptions, session: SessionState): Promise<DeleteResult>;
  compareAndSwap(key: Bytes, expectedModRevision: number, value: Bytes, options: CompareAndSwapOptions, session: SessionState): Promise<SwapResult>;
  compareAndDelete(key: Bytes, expectedModRevision: number, options: CompareAndSwapOptions, session: SessionState): Promise<SwapResult>;
  range(selector: RangeSelector, options: RangeOptions, session: SessionState): Promise<RangePage>;
  scan(selector: RangeSelector, options: ScanOptions, session: SessionState): AsyncGenerator<KeyValue, void, undefined>;
  clusterId(): string | undefined;
}

/**
 * A read-your-writes scope: reads made through a session see at least every
 * write made, and every state read, through the same session (it tracks the
 * highest log index it has written or read). Export it with
 * {@link Session.token} and resume it with `client.session({ token })` in
 * another process - a web app keeps the token in a cookie so that the next
 * request, served by another process, still reads its own writes.
 *
 * Create one with {@link BellwetherClient.session}; sessions are cheap (a
 * number), so make one per user request or conversation. The session's
 * methods are the client's, with the same options.
 *
 * @example
 * ```ts
 * const session = client.session();
 * await session.put('cart/42', 'apples');
 * res.cookie('bw', session.token());
 * // ... the next request, maybe in another process:
 * const again = client.session({ token: req.cookies.bw });
 * (await again.get('cart/42')).valueString; // 'apples', even from a follower
 * ```
 */
export class Session {
  readonly #state: SessionState;
  readonly #ops: SessionOps;

  /** Not for applications: use {@link BellwetherClient.session}. */
  constructor(state: SessionState, ops: SessionOps, token: typeof CONSTRUCT) {
    if (token !== CONSTRUCT) throw new TypeError('use client.session() to create a Session');
    this.#state = state;
    this.#ops = ops;
  }

  /** The highest log index this session has written or read (0 when none). */
  get index(): number {
    return this.#state.index;
  }

  /**
   * Exports the session as an opaque, URL- and cookie-safe string (under
   * 100 characters). Resume it with `client.session({ token })`.
   */
  token(): string {
    return encodeToken(this.#state, this.#ops.clusterId());
  }

  /**
   * Raises this session's index to cover another session's token (or a raw
   * log index), so its reads also see what the other one wrote or read.
   * @throws {@link InvalidArgument} for a malformed token or index.
   */
  include(other: string | number): void {
    if (typeof other === 'number') this.#state.advance(checkRevision(other, 'index'));
    else this.#state.advance(decodeToken(other).index);
  }

  /** {@link BellwetherClient.put} within this session. */
  put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResult> {
    return this.#ops.put(key, value, options, this.#state);
  }

  /** {@link BellwetherClient.get} within this session: read-your-writes sees this session's writes. */
  get(key: Bytes, options: GetOptions = {}): Promise<GetResult> {
    return this.#ops.get(key, options, this.#state);
  }

  /** {@link BellwetherClient.delete} within this session. */
  delete(key: Bytes, options: DeleteOptions = {}): Promise<DeleteResult> {
    return this.#ops.delete(key, options, this.#state);
  }

  /** {@link BellwetherClient.compareAndSwap} within this session. */
  compareAndSwap(key: Bytes, expectedModRevision: number, value: Bytes, options: CompareAndSwapOptions = {}): Promise<SwapResult> {
    return this.#ops.compareAndSwap(key, expectedModRevision, value, options, this.#state);
  }

  /** {@link BellwetherClient.compareAndDelete} within this session. */
  compareAndDelete(key: Bytes, expectedModRevision: number, options: CompareAndSwapOptions = {}): Promise<SwapResult> {
    return this.#ops.compareAndDelete(key, expectedModRevision, options, this.#state);
  }

  /** {@link BellwetherClient.range} within this session. */
  range(selector: RangeSelector, options: RangeOptions = {}): Promise<RangePage> {
    return this.#ops.range(selector, options, this.#state);
  }

  /** {@link BellwetherClient.scan} within this session. */
  scan(selector: RangeSelector, options: ScanOptions = {}): AsyncGenerator<KeyValue, void, undefined> {
    return this.#ops.scan(selector, options, this.#state);
  }
}

/**
 * A connection to a Bellwether cluster. Make one with {@link connect}, share
 * it across your application, and {@link BellwetherClient.close} it at exit.
 *
 * The client finds every member from the seed endpoints, follows the leader
 * (WatchLeader streams, NOT_LEADER hints, probes), sends writes to it and
 * retries them across failovers with their `(clientId, sequence)` so each is
 * applied at most once, and spreads follower reads by read mode. Every method
 * takes an optional `signal` and `deadlineMs` (one deadline for the whole
 * call, retries included), and rejects only with subclasses of
 * `BellwetherError`.
 */
export class BellwetherClient {
  /** This client's id, carried by every write for exactly-once retries. */
  readonly clientId: string;
  /** The seed endpoints the client was given. */
  readonly endpoints: readonly string[];
  readonly #pool: MemberPool;
  readonly #tracker: ClusterTracker;
  readonly #invoker: Invoker;
  readonly #sequencer: WriteSequencer;
  readonly #session = new SessionState();
  readonly #closing = new CancelToken();
  readonly #deadlineMs: number;
  readonly #readMode: ReadMode;
  readonly #maxStalenessMs: number | undefined;
  readonly #listeners = new Map<ClientEventName, Set<(event: never) => void>>();
  readonly #sessionOps: SessionOps;
  readonly #tokens: TokenSource | undefined;
  readonly #channel: { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions };
  #authAdmin: AuthAdmin | undefined;
  readonly #leases = new Set<Lease>();
  #leaseAdmin: LeaseAdmin | undefined;

  /** Not for applications: use {@link connect}. */
  constructor(options: ClientOptions, token: typeof CONSTRUCT) {
    if (token !== CONSTRUCT) throw new TypeError('use connect() to create a BellwetherClient');
    const endpoints = checkEndpoints(options.endpoints);
    this.endpoints = Object.freeze([...endpoints]);
    this.clientId = options.clientId === undefined ? randomUUID() : checkClientId(options.clientId);
    this.#deadlineMs = options.deadlineMs === undefined ? DEFAULT_DEADLINE_MS : checkDeadline(options.deadlineMs, 'deadlineMs');
    this.#readMode = options.readMode === undefined ? DEFAULT_READ_MODE : checkMode(options.readMode, 'readMode');
    this.#maxStalenessMs = options.maxStalenessMs === undefined ? undefined : checkUint32(options.maxStalenessMs, 'maxStalenessMs');
    const retryWrites = checkBoolean(options.retryWrites, 'retryWrites', true);
    const retryReads = checkBoolean(options.retryReads, 'retryReads', true);
    const attemptTimeoutMs = options.attemptTimeoutMs === undefined ? 3000 : checkDeadline(options.attemptTimeoutMs, 'attemptTimeoutMs');
    const backoff = checkBackoff(options.backoff);
    const heartbeatIntervalMs = options.heartbeatIntervalMs === undefined ? undefined : checkDeadline(options.heartbeatIntervalMs, 'heartbeatIntervalMs');
    const heartbeatTimeoutMs = options.heartbeatTimeoutMs === undefined ? 1000 : checkDeadline(options.heartbeatTimeoutMs, 'heartbeatTimeoutMs');
    const refreshIntervalMs = options.refreshIntervalMs === undefined ? 300_000 : checkDeadline(options.refreshIntervalMs, 'refreshIntervalMs');
    const balancing = checkBalancing(options.loadBalancing);
    const window = options.maxPendingWrites === undefined ? 1024 : checkLimit(options.maxPendingWrites, 'maxPendingWrites', MAX_PENDING_WRITES);
    const log = makeLog(options.logger, this.clientId);
    // A generated id is new: start at 1. A given id may have been used by an
    // earlier process whose results the cluster still remembers: start past
    // anything it can have reached (fewer than 1024 writes per millisecond).
    const first = options.clientId === undefined ? 1 : Date.now() * 1024;
    this.#sequencer = new WriteSequencer(first, window);
    const credentials = channelCredentials(options.tls, options.credentials);
    const auth = checkAuth(options.auth);
    let channelOptions: grpc.ChannelOptions = options.channelOptions ?? {};
    if (auth) {
      this.#tokens = new TokenSource(endpoints, credentials, channelOptions, auth, log);
      channelOptions = this.#tokens.withInterceptor(channelOptions);
    }
    this.#channel = { credentials, options: channelOptions };
    this.#pool = new MemberPool({
      credentials,
      channelOptions,
      transport: checkTransport(options.transport),
    });
    this.#tracker = new ClusterTracker(
      this.#pool,
      endpoints,
      trackerSettings(heartbeatIntervalMs, heartbeatTimeoutMs, refreshIntervalMs),
      log,
    );
    this.#tracker.subscribe((e) => this.#dispatch(e));
    this.#invoker = new Invoker(
      new ClusterRouter(this.#tracker, this.#pool, balancing),
      new ClusterRetryPolicy({ retryWrites, retryReads, attemptTimeoutMs, backoff }),
      () => {},
    );
    this.#sessionOps = {
      put: (k, v, o, s) => this.#put(k, v, o, s),
      get: (k, o, s) => this.#get(k, o, s),
      delete: (k, o, s) => this.#delete(k, o, s),
      compareAndSwap: (k, r, v, o, s) => this.#compareAndSwap(k, r, v, o, s),
      compareAndDelete: (k, r, o, s) => this.#compareAndDelete(k, r, o, s),
      range: (sel, o, s) => this.#range(sel, o, s),
      scan: (sel, o, s) => this.#scan(sel, o, s),
      clusterId: () => this.#tracker.clusterId,
    };
    this.#tracker.start();
  }

  /** Whether {@link BellwetherClient.close} has been called. */
  get closed(): boolean {
    return this.#closing.aborted;
  }

  /**
   * Stores `value` under `key`, on the leader, retried across failovers and
   * applied at most once. With `expectedModRevision` it is a compare-and-swap
   * whose mismatch yields `succeeded: false` (not an error).
   * @throws {@link InvalidArgument} for a bad key or option;
   * {@link OutcomeUnknown} when the deadline passed after an attempt that may
   * have been applied; {@link DeadlineExceeded} (not `OutcomeUnknown`) when it
   * passed and the write surely was not applied; {@link Cancelled} when the
   * signal fired or the client was closed; other `BellwetherError`s for
   * failures retrying cannot fix.
   */
  async put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResult> {
    return this.#put(key, value, options, undefined);
  }

  /**
   * Reads one key under the client's (or this call's) read mode. A missing
   * key is not an error: the result has `found: false`.
   */
  async get(key: Bytes, options: GetOptions = {}): Promise<GetResult> {
    return this.#get(key, options, undefined);
  }

  /**
   * Deletes one key. Deleting a missing key succeeds with `deleted: 0`.
   * With `expectedModRevision`, a mismatch yields `succeeded: false`.
   * Retried and applied at most once, like {@link BellwetherClient.put}.
   */
  async delete(key: Bytes, options: DeleteOptions = {}): Promise<DeleteResult> {
    return this.#delete(key, options, undefined);
  }

  /**
   * Writes `value` only if the key's `modRevision` is `expectedModRevision`
   * (`0`: only if the key does not exist). A failed comparison is a normal
   * result, `{ succeeded: false, current }`, not an exception; a retry of the
   * same call cannot apply twice.
   */
  async compareAndSwap(key: Bytes, expectedModRevision: number, value: Bytes, options: CompareAndSwapOptions = {}): Promise<SwapResult> {
    return this.#compareAndSwap(key, expectedModRevision, value, options, undefined);
  }

  /**
   * Deletes the key only if its `modRevision` is `expectedModRevision`. A
   * failed comparison returns `{ succeeded: false, current }`.
   */
  async compareAndDelete(key: Bytes, expectedModRevision: number, options: CompareAndSwapOptions = {}): Promise<SwapResult> {
    return this.#compareAndDelete(key, expectedModRevision, options, undefined);
  }

  /**
   * Reads one page of keys in byte order. Pass the page's `continuation` back
   * in `options.continuation` for the next one, or use
   * {@link BellwetherClient.scan} to iterate them all. A page ends at
   * `limit` keys or at the member's byte budget (`--max-range-reply-bytes`,
   * 3 MiB of keys and values by default), whichever comes first, and holds at
   * least one key; `more` is then true.
   */
  async range(selector: RangeSelector, options: RangeOptions = {}): Promise<RangePage> {
    return this.#range(selector, options, undefined);
  }

  /**
   * Iterates every selected key, fetching pages as needed
   * (`for await (const kv of client.scan({ prefix: 'user/' }))`). Each page is
   * one call with its own deadline (`deadlineMs`); `signal` stops the whole
   * scan. Pages are read at the state each is served from, so a key written
   * during the scan may or may not appear.
   */
  scan(selector: RangeSelector, options: ScanOptions = {}): AsyncGenerator<KeyValue, void, undefined> {
    return this.#scan(selector, options, undefined);
  }

  /**
   * Starts a transaction: `client.txn().if(cmp...).then(op...).else(op...).commit()`.
   * It is applied atomically at one revision, retried across failovers and
   * applied at most once (see {@link TxnBuilder}).
   */
  txn(): TxnBuilder {
    return new TxnBuilder((request, options) => this.#write('Txn', request, options, undefined));
  }

  /**
   * Streams the changes to the selected keys, in revision order, from
   * `options.startRevision` (default: from now). Served by any member; the
   * iterator follows failovers and member loss by watching again from the
   * revision after the last one it delivered, so no change is missed or
   * repeated. Ends when `options.signal` fires or the loop breaks.
   * @throws {@link Compacted} when the start (or the resume point) is older
   * than the members' watch history; {@link InvalidArgument} for a bad
   * selector or option.
   * @example
   * ```ts
   * for await (const ev of client.watch({ prefix: 'articles/' }, { signal })) {
   *   console.log(ev.type, ev.kv.keyString, ev.revision);
   * }
   * ```
   */
  watch(selector: WatchSelector, options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    if (this.closed) throw new Cancelled('Watch: the client is closed', { method: 'Watch' });
    return watchChanges(
      {
        members: () =>
          this.#tracker
            .members()
            .filter((m) => m.usable)
            .sort((a, b) => (a.health === 'up' ? 0 : 1) - (b.health === 'up' ? 0 : 1))
            .map((m) => m.address),
        connect: (address) => this.#pool.get(address).watch(),
        changed: (token) => this.#invoker.router.changed?.(token) ?? Promise.resolve(),
        closing: this.#closing,
        observe: (header) => this.#session.observe(header),
      },
      selector,
      options,
    );
  }

  /**
   * Grants a lease of `ttlMs` and keeps it alive (keep-alives to the leader
   * every third of the TTL, across failovers) until `lease.revoke()` or
   * `client.close()`. Attach keys with `put(key, value, { lease })`. If it
   * cannot be kept alive for a whole TTL, or the cluster says it expired, it
   * emits `lost` (its keys are then, or soon, deleted).
   * @example
   * ```ts
   * const lease = await client.lease({ ttlMs: 5000 });
   * lease.on('lost', () => stopWork());
   * await client.put('workers/7', 'alive', { lease });
   * ```
   */
  async lease(options: LeaseOptions): Promise<Lease> {
    if (options === null || typeof options !== 'object') throw new InvalidArgument('options: must be { ttlMs }');
    const ttlMs = checkTtl(options.ttlMs);
    const sentAt = Date.now();
    const res = await this.#write('Grant', { ttlMs }, options, undefined);
    return this.#keepLease(Number(res.id), ttlMs, sentAt);
  }

  /** Leases by id: revoke, time to live, list, keep-alives for a lease granted elsewhere (see {@link LeaseAdmin}). */
  get leases(): LeaseAdmin {
    this.#leaseAdmin ??= new LeaseAdmin({
      revoke: (id, options) => this.#write('Revoke', { id }, options, undefined),
      timeToLive: (id, keys, options) => this.#call('TimeToLive', { id, keys }, options),
      list: (options) => this.#call('List', {}, options),
      leader: this.#leaderAddress,
      keepAliveStream: this.#keepAliveStream,
      adopt: (id, ttlMs, validUntil) => this.#keepLease(id, ttlMs, validUntil - ttlMs),
      defaultDeadlineMs: this.#deadlineMs,
    });
    return this.#leaseAdmin;
  }

  readonly #leaderAddress = (): string | undefined => this.#tracker.leaderMember()?.address;
  readonly #keepAliveStream = (address: string) => this.#pool.get(address).keepAlive();

  /** Keeps lease `id` alive from this client; `confirmedFrom` + `ttlMs` is when it surely still holds. */
  #keepLease(id: number, ttlMs: number, confirmedFrom: number): Lease {
    const lease = new Lease(id, ttlMs, confirmedFrom, {
      leader: this.#leaderAddress,
      keepAlive: this.#keepAliveStream,
      revoke: async (id) => {
        try {
          await this.#write('Revoke', { id }, {}, undefined);
        } catch (err) {
          // Already expired: its keys are gone, which is what revoking wants.
          if (!(err instanceof BellwetherError && err.code === StatusCode.NOT_FOUND)) throw err;
        } finally {
          this.#leases.delete(lease);
        }
      },
    });
    this.#leases.add(lease);
    lease.on('lost', () => this.#leases.delete(lease));
    return lease;
  }

  /**
   * Acquires the lock `name`, waiting in line (revision order) behind earlier
   * contenders. The lock is held through a lease of `ttlMs` (default 10 s): if
   * the holder dies, the lock passes on within about that time.
   * `revision` is a fencing token (see {@link LockHandle}).
   * @example
   * ```ts
   * const lock = await client.lock('jobs/nightly', { ttlMs: 5000 });
   * try { await runJob(lock.revision); } finally { await lock.release(); }
   * ```
   */
  lock(name: string, options: LockOptions = {}): Promise<LockHandle> {
    return acquireLock(this, name, options);
  }

  /** A leader election named `name` (see {@link Election}). */
  election(name: string): Election {
    return new Election(this, name);
  }

  /**
   * Describes one member (Cluster.Status): the leader when one is known,
   * else another reachable member. Its role, term, the leader it knows of
   * and how far its log and state reach.
   */
  async status(options: CallOptions = {}): Promise<MemberStatus> {
    return toMemberStatus(await this.#call('Status', {}, options));
  }

  /** Lists the cluster's members as the leader (or another reachable member) knows them (Cluster.Members). */
  async members(options: CallOptions = {}): Promise<ClusterMembers> {
    return toClusterMembers(await this.#call('Members', {}, options));
  }

  /**
   * Hands leadership to the member `targetId` (Cluster.TransferLeadership),
   * or, without one, to the voter whose log is most up to date, and resolves
   * once it leads. Writes in flight meanwhile are not failed: the client
   * follows the new leader by itself. Use it before taking the leader down
   * for maintenance (a SIGTERM does the same on its own).
   *
   * Without a target, a call retried after a lost reply may move leadership
   * once more; name the target to make retries exact.
   * @throws {@link InvalidArgument} for a malformed id; a
   * {@link BellwetherError} with code NOT_FOUND when `targetId` is not a
   * member; {@link FailedPrecondition} when the target is a learner or no
   * other voter is reachable; {@link Aborted} when the target did not take
   * over in time (it is behind or unreachable; leadership may have stayed).
   */
  async transferLeadership(targetId?: string, options: CallOptions = {}): Promise<LeadershipTransfer> {
    if (targetId !== undefined && (typeof targetId !== 'string' || targetId === '')) {
      throw new InvalidArgument('targetId: must be a non-empty member id, or omitted for the most up-to-date voter');
    }
    return toLeadershipTransfer(await this.#call('TransferLeadership', { targetId: targetId ?? '' }, options));
  }

  /**
   * Adds a member to the cluster (Cluster.AddMember, sent to the leader):
   * as a learner unless `learner: false`. Then start the new node with an
   * empty data dir and `--initial-cluster-state existing`; it catches up from
   * the leader, and {@link BellwetherClient.promoteMember} makes it a voter.
   * A change retried after a lost reply settles by the member list: a retry
   * refused because the first attempt took effect (the member is there at
   * that address) resolves as a success, and so do promote and remove.
   * @throws {@link AlreadyExists} when the id or the address is already a member's.
   * @throws {@link FailedPrecondition} when adding a voter would leave the
   * cluster without a quorum of members that are up.
   * @throws {@link InvalidArgument} for a malformed id or address.
   */
  async addMember(id: string, peerAddress: string, options: AddMemberOptions = {}): Promise<MembershipChange> {
    const learner = options?.learner ?? true;
    if (typeof learner !== 'boolean') throw new InvalidArgument('learner: must be a boolean');
    return toMembershipChange(await this.#change({ method: 'AddMember', request: { id: checkMemberId(id), peerAddress: String(peerAddress), learner: { value: learner } } }, options));
  }

  /**
   * Makes a learner a voter (Cluster.PromoteMember, sent to the leader).
   * @throws {@link FailedPrecondition} while the learner has not connected or
   * is behind the leader by more than the server's bound (retry once it has
   * caught up; {@link BellwetherClient.status} on the leader shows its lag).
   * @throws {@link NotFound} for an unknown id.
   */
  async promoteMember(id: string, options: CallOptions = {}): Promise<MembershipChange> {
    return toMembershipChange(await this.#change({ method: 'PromoteMember', request: { id: checkMemberId(id) } }, options));
  }

  /**
   * Removes a member (Cluster.RemoveMember, sent to the leader). The leader
   * may remove itself: it hands leadership over first. Resolves with the
   * members after the change. Stop the removed node's process afterwards.
   * @throws {@link NotFound} for an unknown id.
   * @throws {@link FailedPrecondition} when the remaining voters that are up
   * could not form a quorum, or for the last voter.
   */
  async removeMember(id: string, options: CallOptions = {}): Promise<readonly ClusterMember[]> {
    const res = await this.#change({ method: 'RemoveMember', request: { id: checkMemberId(id) } }, options);
    return toMembershipChange({ members: res.members }).members;
  }

  /**
   * Starts a read-your-writes scope, or resumes an exported one with
   * `{ token }` (see {@link Session}).
   * @throws {@link InvalidArgument} for a malformed token, or one from
   * another cluster than the one this client talks to.
   */
  session(options: SessionOptions = {}): Session {
    if (options === null || typeof options !== 'object') throw new InvalidArgument('options: must be an object');
    const state = new SessionState();
    if (options.token !== undefined) {
      const { index, clusterId } = decodeToken(options.token);
      const known = this.#tracker.clusterId;
      if (clusterId !== undefined && known !== undefined && clusterId !== known) {
        throw new InvalidArgument(`token: the session belongs to cluster ${clusterId}, but this client talks to cluster ${known}`);
      }
      state.advance(index);
      state.clusterId = clusterId;
    }
    return new Session(state, this.#sessionOps, CONSTRUCT);
  }

  /**
   * Calls `listener` on every `event`: `'leaderChange'`, `'memberUp'`,
   * `'memberDown'`. Listeners run synchronously as the client learns the
   * news; an exception in one is logged and does not affect the client.
   */
  on<E extends ClientEventName>(event: E, listener: ClientEventListener<E>): this {
    checkEvent(event);
    if (typeof listener !== 'function') throw new InvalidArgument('listener: must be a function');
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (event: never) => void);
    return this;
  }

  /** Like {@link BellwetherClient.on}, for the next event only. */
  once<E extends ClientEventName>(event: E, listener: ClientEventListener<E>): this {
    const wrapper: ClientEventListener<E> = (e) => {
      this.off(event, wrapper);
      listener(e);
    };
    return this.on(event, wrapper);
  }

  /** Removes a listener added with {@link BellwetherClient.on}. */
  off<E extends ClientEventName>(event: E, listener: ClientEventListener<E>): this {
    this.#listeners.get(event)?.delete(listener as (event: never) => void);
    return this;
  }

  /**
   * The client's current view of the cluster: the leader it follows, and per
   * member whether it answers, when it last did, how far it has applied,
   * its round-trip time and the calls in flight to it. A snapshot: call again
   * for fresh numbers.
   */
  cluster(): ClusterView {
    const leader = this.#tracker.leader;
    const leaderMember = this.#tracker.leaderMember();
    const members: MemberView[] = this.#tracker
      .members()
      .filter((m) => !m.foreign)
      .map((m) => memberView(m, leader?.id, this.#tracker.connectionOf(m)))
      .sort((a, b) => (a.id ?? a.address).localeCompare(b.id ?? b.address));
    return {
      clusterId: this.#tracker.clusterId,
      term: this.#tracker.term,
      leader: leader
        ? { id: leader.id, address: leader.address ?? this.#tracker.addressOf(leader.id), term: leader.term, reachable: leaderMember !== undefined }
        : undefined,
      members,
    };
  }

  /**
   * Closes every connection and stops tracking the cluster. Calls in flight
   * reject with {@link Cancelled}; later calls reject at once. Safe to call
   * twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.#closing.abort(new Cancelled('the client was closed'));
    for (const lease of this.#leases) lease.close();
    this.#tracker.stop();
    this.#pool.close();
    this.#tokens?.close();
    this.#authAdmin?.close();
    this.#listeners.clear();
  }

  /** Users, roles and permissions (`bellwether.auth.v1.Auth`); changes need the root role once auth is enabled. */
  get auth(): AuthAdmin {
    this.#authAdmin ??= new AuthAdmin(this.endpoints, this.#channel.credentials, this.#channel.options);
    return this.#authAdmin;
  }

  /** Resolves once the client holds a token (at once without `auth`); rejects with the typed error of a failed login. */
  async authenticated(): Promise<void> {
    await this.#tokens?.token();
  }

  // ---- operations (shared by the client and its sessions) ---------------

  async #put(key: Bytes, value: Bytes, options: PutOptions, session: SessionState | undefined): Promise<PutResult> {
    const request: PutRequest = { key: toKey(key), value: toBuffer(value, 'value'), prevKv: options.prevKv === true };
    if (options.lease !== undefined) request.lease = options.lease instanceof Lease ? options.lease.id : checkRevision(options.lease, 'lease');
    if (options.expectedModRevision !== undefined) {
      request.expectedModRevision = checkRevision(options.expectedModRevision, 'expectedModRevision');
    }
    const res = await this.#write('Put', request, options, session);
    const header = toHeader(res.header);
    return { header, revision: header.revision, succeeded: res.succeeded, prev: toKeyValue(res.prevKv) };
  }

  async #get(key: Bytes, options: GetOptions, session: SessionState | undefined): Promise<GetResult> {
    const read = this.#readOptions(options, session);
    const request: GetRequest = { key: toKey(key), read: read.wire };
    const res = await this.#read('Get', request, options, read, session);
    return toGetResult(toHeader(res.header), toKeyValue(res.kv));
  }

  async #delete(key: Bytes, options: DeleteOptions, session: SessionState | undefined): Promise<DeleteResult> {
    const request: DeleteRequest = { key: toKey(key), prevKv: options.prevKv === true };
    if (options.expectedModRevision !== undefined) {
      request.expectedModRevision = checkRevision(options.expectedModRevision, 'expectedModRevision');
    }
    const res = await this.#write('Delete', request, options, session);
    const header = toHeader(res.header);
    return {
      header,
      revision: header.revision,
      deleted: Number(res.deleted),
      succeeded: res.succeeded,
      prev: toKeyValue(res.prevKv),
    };
  }

  async #compareAndSwap(
    key: Bytes,
    expectedModRevision: number,
    value: Bytes,
    options: CompareAndSwapOptions,
    session: SessionState | undefined,
  ): Promise<SwapResult> {
    const request: PutRequest = {
      key: toKey(key),
      value: toBuffer(value, 'value'),
      expectedModRevision: checkRevision(expectedModRevision, 'expectedModRevision'),
      prevKv: true,
    };
    const res = await this.#write('Put', request, options, session);
    const header = toHeader(res.header);
    const kv = toKeyValue(res.prevKv);
    return res.succeeded ? { succeeded: true, header, revision: header.revision, prev: kv } : { succeeded: false, header, current: kv };
  }

  async #compareAndDelete(key: Bytes, expectedModRevision: number, options: CompareAndSwapOptions, session: SessionState | undefined): Promise<SwapResult> {
    const request: DeleteRequest = {
      key: toKey(key),
      expectedModRevision: checkRevision(expectedModRevision, 'expectedModRevision'),
      prevKv: true,
    };
    const res = await this.#write('Delete', request, options, session);
    const header = toHeader(res.header);
    const kv = toKeyValue(res.prevKv);
    return res.succeeded ? { succeeded: true, header, revision: header.revision, prev: kv } : { succeeded: false, header, current: kv };
  }

  async #range(selector: RangeSelector, options: RangeOptions, session: SessionState | undefined): Promise<RangePage> {
    const read = this.#readOptions(options, session);
    const request = this.#rangeRequest(selector, options.limit, options.keysOnly, read.wire);
    if (options.continuation !== undefined) request.continuation = toBuffer(options.continuation, 'continuation');
    const res = await this.#read('Range', request, options, read, session);
    const kvs: KeyValue[] = [];
    for (const kv of res.kvs) {
      const converted = toKeyValue(kv);
      if (converted) kvs.push(converted);
    }
    const continuation = res.more && res.continuation.length > 0 ? view(res.continuation) : undefined;
    return { header: toHeader(res.header), kvs, more: res.more, continuation };
  }

  async *#scan(selector: RangeSelector, options: ScanOptions, session: SessionState | undefined): AsyncGenerator<KeyValue, void, undefined> {
    const pageSize = options.pageSize === undefined ? undefined : checkLimit(options.pageSize, 'pageSize');
    const total = options.limit === undefined ? Number.POSITIVE_INFINITY : checkLimit(options.limit, 'limit', Number.MAX_SAFE_INTEGER);
    let yielded = 0;
    let continuation: Uint8Array | undefined;
    while (yielded < total) {
      const remaining = total - yielded;
      const limit = pageSize === undefined ? (remaining < 1000 ? remaining : undefined) : Math.min(pageSize, remaining);
      const { pageSize: _p, limit: _l, ...rest } = options;
      const page = await this.#range(selector, { ...rest, limit, continuation }, session);
      for (const kv of page.kvs) {
        if (yielded >= total) return;
        yielded++;
        yield kv;
      }
      if (!page.more || !page.continuation) return;
      continuation = page.continuation;
    }
  }

  #readOptions(options: ReadOptions, session: SessionState | undefined): { wire: WireReadOptions; mode: ReadMode; minIndex: number } {
    if (options === null || typeof options !== 'object') throw new InvalidArgument('options: must be an object');
    const mode = options.mode === undefined ? this.#readMode : checkMode(options.mode, 'mode');
    const wire: WireReadOptions = { mode: WIRE_MODE[mode] };
    let minIndex = 0;
    if (mode === 'read-your-writes') {
      const known = this.#tracker.clusterId;
      if (session?.clusterId !== undefined && known !== undefined && session.clusterId !== known) {
        throw new InvalidArgument(`token: the session belongs to cluster ${session.clusterId}, but this client talks to cluster ${known}`);
      }
      const floor = options.minIndex === undefined ? 0 : checkRevision(options.minIndex, 'minIndex');
      minIndex = Math.max(floor, (session ?? this.#session).index);
      wire.minIndex = minIndex;
    }
    if (mode === 'any-follower') {
      const bound = options.maxStalenessMs === undefined ? this.#maxStalenessMs : checkUint32(options.maxStalenessMs, 'maxStalenessMs');
      if (bound !== undefined) wire.maxStalenessMs = bound;
    }
    return { wire, mode, minIndex };
  }

  #rangeRequest(selector: RangeSelector, limit: number | undefined, keysOnly: boolean | undefined, read: WireReadOptions): RangeRequest {
    if (typeof selector !== 'object' || selector === null) {
      throw new InvalidArgument('selector: must be { prefix } or { start?, end? }');
    }
    const request: RangeRequest = { read, keysOnly: keysOnly === true };
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

  async #write<M extends 'Put' | 'Delete' | 'Txn' | 'Grant' | 'Revoke'>(
    method: M,
    request: MethodRequest<M>,
    options: CallOptions,
    session: SessionState | undefined,
  ): Promise<MethodResponse<M>> {
    const parts = this.#context(options);
    if (this.closed) throw new Cancelled(`${method}: the client is closed`, { method });
    const linked = CancelToken.link([parts.signal, this.#closing]);
    try {
      if (linked.token.aborted) throw this.#cancelledBeforeSending(method, linked.token.reason);
      // The pair is fixed here, once per logical write; retries resend `request` as is.
      const sequence = await this.#sequencer.acquire(linked.token, parts.deadline, method);
      try {
        const wire: { clientId?: string; sequence?: number | string | object; minUnackedSequence?: number | string | object } = request;
        wire.clientId = this.clientId;
        wire.sequence = sequence;
        const op: Operation<M> = {
          method,
          kind: 'write',
          request,
          clientId: this.clientId,
          sequence,
          // Every attempt tells the cluster which results it may forget.
          beforeAttempt: () => {
            wire.minUnackedSequence = this.#sequencer.floor();
          },
        };
        return await this.#execute(op, { deadline: parts.deadline, signal: linked.token }, session);
      } finally {
        this.#sequencer.release(sequence);
      }
    } finally {
      linked.dispose();
    }
  }

  #read<M extends 'Get' | 'Range'>(
    method: M,
    request: MethodRequest<M>,
    options: CallOptions,
    read: { mode: ReadMode; minIndex: number },
    session: SessionState | undefined,
  ): Promise<MethodResponse<M>> {
    const op: Operation<M> = { method, kind: 'read', request, readMode: read.mode, minIndex: read.minIndex };
    return this.#run(op, this.#context(options), session);
  }

  #call<M extends 'Status' | 'Members' | 'TransferLeadership' | 'TimeToLive' | 'List'>(method: M, request: MethodRequest<M>, options: CallOptions): Promise<MethodResponse<M>> {
    return this.#run({ method, kind: 'read', request }, this.#context(options), undefined);
  }

  /** A membership change: routed to the leader like a write (following its hints), with no session. */
  async #change<C extends ChangeRequest>(change: C, options: CallOptions): Promise<MethodResponse<C['method']>> {
    const parts = this.#context(options);
    try {
      return await this.#run({ method: change.method, kind: 'write', request: change.request as MethodRequest<C['method']> }, parts, undefined);
    } catch (err) {
      if (!(err instanceof BellwetherError) || !refusedAfterPossibleEffect.has(err)) throw err;
      // The member list a member answers is its applied one, which can trail
      // the configuration that refused the retry by a commit: look a few times.
      for (let look = 0; ; look++) {
        const now = await this.#run({ method: 'Members', kind: 'read', request: {} }, parts, undefined);
        const settled = settledChange(change, err, now.members);
        if (settled) return settled as MethodResponse<C['method']>;
        if (look === SETTLE_LOOKS - 1 || Date.now() + SETTLE_LOOK_EVERY_MS >= parts.deadline) throw err;
        await new Promise((r) => setTimeout(r, SETTLE_LOOK_EVERY_MS));
      }
    }
  }

  #context(options: CallOptions): { deadline: number; signal: AbortSignal | undefined } {
    if (options === null || typeof options !== 'object') throw new InvalidArgument('options: must be an object');
    const deadlineMs = options.deadlineMs === undefined ? this.#deadlineMs : checkDeadline(options.deadlineMs, 'deadlineMs');
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new InvalidArgument('signal: must be an AbortSignal');
    }
    return { deadline: Date.now() + deadlineMs, signal: options.signal };
  }

  async #run<M extends Method>(op: Operation<M>, parts: { deadline: number; signal: AbortSignal | undefined }, session: SessionState | undefined) {
    if (this.closed) {
      throw new Cancelled(`${op.method}: the client is closed`, { method: op.method });
    }
    const linked = CancelToken.link([parts.signal, this.#closing]);
    try {
      return await this.#execute(op, { deadline: parts.deadline, signal: linked.token }, session);
    } finally {
      linked.dispose();
    }
  }

  async #execute<M extends Method>(op: Operation<M>, ctx: CallContext, session: SessionState | undefined): Promise<MethodResponse<M>> {
    const response = await this.#invoker.run(op, ctx);
    if ('header' in response) {
      const header = toHeader(response.header);
      if (op.kind === 'read' && session?.clusterId !== undefined && header.clusterId && header.clusterId !== session.clusterId) {
        // Checked late when the token was resumed before the client knew its cluster.
        throw new InvalidArgument(`token: the session belongs to cluster ${session.clusterId}, but cluster ${header.clusterId} answered`);
      }
      this.#session.observe(header);
      session?.observe(header);
    }
    return response;
  }

  #cancelledBeforeSending(method: string, reason: unknown): Cancelled {
    const why = reason instanceof Cancelled ? reason.message : 'cancelled by the caller';
    return new Cancelled(`${method}: ${why}`, { method, cause: reason });
  }

  #dispatch(e: TrackerEvent): void {
    if (e.type === 'leaderChange') {
      const event: LeaderChangeEvent = {
        leaderId: e.leader?.id,
        leaderAddress: e.leader?.address ?? (e.leader ? this.#tracker.addressOf(e.leader.id) : undefined),
        term: e.leader?.term ?? this.#tracker.term,
        previousLeaderId: e.previous?.id,
        reason: e.reason,
      };
      this.#emit('leaderChange', event);
    } else {
      this.#emit(e.type, { memberId: e.member.id, address: e.member.address, reason: e.reason });
    }
  }

  #emit<E extends ClientEventName>(event: E, payload: ClientEventMap[E]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) (listener as ClientEventListener<E>)(payload);
  }
}

function memberView(m: MemberState, leaderId: string | undefined, link: { connected: boolean; streams: number }): MemberView {
  return {
    id: m.id,
    address: m.address,
    voter: m.voter,
    state: m.health,
    isLeader: m.id !== undefined && m.id === leaderId,
    lastContactAt: m.lastContactAt,
    appliedIndex: m.appliedIndex,
    term: m.term,
    rttMs: m.rttMs === undefined ? undefined : Math.round(m.rttMs * 100) / 100,
    outstanding: m.outstanding,
    leaderContactAgeMs: m.leaderContactAgeMs,
    lastError: m.lastError,
    ...link,
  };
}

function makeLog(logger: ClientLogger | undefined, clientId: string): LogFn {
  if (logger === undefined) return () => {};
  if (logger === null || typeof logger !== 'object') throw new InvalidArgument('logger: must be an object with debug/info/warn/error methods');
  return (level, message, fields) => {
    const fn = logger[level];
    if (typeof fn !== 'function') return;
    try {
      fn.call(logger, { clientId, ...fields }, message);
    } catch {
      // A failing logger must not break the client.
    }
  };
}

/**
 * Creates a client for the cluster reachable at `options.endpoints`.
 *
 * This resolves at once, without waiting for the cluster: discovery starts
 * in the background (every seed is asked for the member list and watched for
 * the leader), and calls made meanwhile wait for it within their deadline.
 * Seeds may be any subset of the members; unreachable ones are skipped.
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
  const client = new BellwetherClient(options, CONSTRUCT);
  try {
    // A wrong password fails here, not on the first call.
    await client.authenticated();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
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

function checkBoolean(v: unknown, field: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new InvalidArgument(`${field}: must be a boolean, got ${typeof v}`);
  return v;
}

function checkBackoff(b: unknown): { initialMs: number; maxMs: number } {
  if (b === undefined) return { initialMs: 25, maxMs: 1000 };
  if (b === null || typeof b !== 'object') throw new InvalidArgument('backoff: must be { initialMs?, maxMs? }');
  const { initialMs, maxMs } = b as { initialMs?: unknown; maxMs?: unknown };
  const initial = initialMs === undefined ? 25 : checkDeadline(initialMs, 'backoff.initialMs');
  const max = maxMs === undefined ? Math.max(1000, initial) : checkDeadline(maxMs, 'backoff.maxMs');
  if (max < initial) throw new InvalidArgument('backoff: maxMs must be >= initialMs');
  return { initialMs: initial, maxMs: max };
}

function checkBalancing(v: unknown): LoadBalancing {
  if (v === undefined) return 'least-outstanding';
  if (v !== 'least-outstanding' && v !== 'round-robin') {
    throw new InvalidArgument(`loadBalancing: must be 'least-outstanding' or 'round-robin', got ${JSON.stringify(v)}`);
  }
  return v;
}

function checkTransport(v: unknown): Transport {
  if (v === undefined) return 'stream';
  if (v !== 'stream' && v !== 'unary') throw new InvalidArgument(`transport: must be 'stream' or 'unary', got ${JSON.stringify(v)}`);
  return v;
}

const EVENTS: readonly ClientEventName[] = ['leaderChange', 'memberUp', 'memberDown'];

function checkEvent(event: unknown): void {
  if (!EVENTS.includes(event as ClientEventName)) {
    throw new InvalidArgument(`event: must be 'leaderChange', 'memberUp' or 'memberDown', got ${JSON.stringify(event)}`);
  }
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
