// The client's options: their types and documentation, their checks, and
// the settings a client runs with once they are checked. A bad option is an
// InvalidArgument thrown before anything is contacted.
import type * as grpc from '@grpc/grpc-js';
import type { AuthOptions } from './auth';
import type { Bytes } from './bytes';
import { InvalidArgument } from './errors';
import type { Lease } from './lease';
import type { Transport } from './member';
import type { ReadMode as PipelineReadMode } from './pipeline';
import type { LoadBalancing } from './routing';
import type { TlsOptions } from './tls';
import type { LogFn } from './tracker';

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
   * A write already sent is not cut short by it while its member, asked then
   * (a Status call bounded by the same time, at least 1 s), confirms it still leads: a busy
   * leader is waited for, so its writes do not end as `OutcomeUnknown`; a
   * silent or deposed one is left (within about twice this time) and the
   * write is sent again with the same `(clientId, sequence)`.
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

/** Options of {@link BellwetherClient.session}. */
export interface SessionOptions {
  /**
   * Resume a session exported by {@link Session.token}, possibly in another
   * process: reads of the new session then see every write the old one made
   * or saw.
   */
  token?: string;
}

/** The read modes, as the client names them. */
const READ_MODES: readonly ReadMode[] = ['linearizable', 'read-your-writes', 'any-follower'];

const MAX_RANGE_LIMIT = 10_000;
const MAX_CLIENT_ID_BYTES = 128;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Well below the 4096 results the cluster keeps per client beyond its oldest unanswered write. */
const MAX_PENDING_WRITES = 2048;

/** A client's options once checked, with their defaults filled in. */
interface ClientSettings {
  endpoints: string[];
  /** The id given, or undefined for a generated one. */
  clientId: string | undefined;
  deadlineMs: number;
  readMode: ReadMode;
  maxStalenessMs: number | undefined;
  retryWrites: boolean;
  retryReads: boolean;
  attemptTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  heartbeatIntervalMs: number | undefined;
  heartbeatTimeoutMs: number;
  refreshIntervalMs: number;
  loadBalancing: LoadBalancing;
  maxPendingWrites: number;
  transport: Transport;
}

/** Checks every option of {@link connect} that needs no connection, filling in the defaults. */
export function checkClientOptions(options: ClientOptions): ClientSettings {
  return {
    endpoints: checkEndpoints(options.endpoints),
    clientId: options.clientId === undefined ? undefined : checkClientId(options.clientId),
    deadlineMs: options.deadlineMs === undefined ? DEFAULT_DEADLINE_MS : checkDeadline(options.deadlineMs, 'deadlineMs'),
    readMode: options.readMode === undefined ? DEFAULT_READ_MODE : checkMode(options.readMode, 'readMode'),
    maxStalenessMs: options.maxStalenessMs === undefined ? undefined : checkUint32(options.maxStalenessMs, 'maxStalenessMs'),
    retryWrites: checkBoolean(options.retryWrites, 'retryWrites', true),
    retryReads: checkBoolean(options.retryReads, 'retryReads', true),
    attemptTimeoutMs: options.attemptTimeoutMs === undefined ? 3000 : checkDeadline(options.attemptTimeoutMs, 'attemptTimeoutMs'),
    backoff: checkBackoff(options.backoff),
    heartbeatIntervalMs: options.heartbeatIntervalMs === undefined ? undefined : checkDeadline(options.heartbeatIntervalMs, 'heartbeatIntervalMs'),
    heartbeatTimeoutMs: options.heartbeatTimeoutMs === undefined ? 1000 : checkDeadline(options.heartbeatTimeoutMs, 'heartbeatTimeoutMs'),
    refreshIntervalMs: options.refreshIntervalMs === undefined ? 300_000 : checkDeadline(options.refreshIntervalMs, 'refreshIntervalMs'),
    loadBalancing: checkBalancing(options.loadBalancing),
    maxPendingWrites: options.maxPendingWrites === undefined ? 1024 : checkLimit(options.maxPendingWrites, 'maxPendingWrites', MAX_PENDING_WRITES),
    transport: checkTransport(options.transport),
  };
}

/** The deadline and signal of one call, checked; the deadline is absolute (`Date.now()` ms). */
export function checkCallOptions(options: CallOptions, defaultDeadlineMs: number): { deadline: number; signal: AbortSignal | undefined } {
  if (options === null || typeof options !== 'object') throw new InvalidArgument('options: must be an object');
  const deadlineMs = options.deadlineMs === undefined ? defaultDeadlineMs : checkDeadline(options.deadlineMs, 'deadlineMs');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidArgument('signal: must be an AbortSignal');
  }
  return { deadline: Date.now() + deadlineMs, signal: options.signal };
}

/** The client's log function: every line carries `clientId`; a missing or throwing logger is harmless. */
export function makeLog(logger: ClientLogger | undefined, clientId: string): LogFn {
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

export function checkMode(mode: unknown, field: string): ReadMode {
  if (typeof mode !== 'string' || !READ_MODES.includes(mode as ReadMode)) {
    throw new InvalidArgument(`${field}: must be 'linearizable', 'read-your-writes' or 'any-follower', got ${JSON.stringify(mode)}`);
  }
  return mode as ReadMode;
}

export function checkRevision(n: unknown, field: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgument(`${field}: must be a non-negative integer, got ${String(n)}`);
  }
  return n;
}

export function checkUint32(n: unknown, field: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new InvalidArgument(`${field}: must be an integer in 0..4294967295, got ${String(n)}`);
  }
  return n;
}

export function checkLimit(n: unknown, field: string, max = MAX_RANGE_LIMIT): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    throw new InvalidArgument(`${field}: must be an integer in 1..${max}, got ${String(n)}`);
  }
  return n;
}
