// client.watch(): a change feed that survives failover. One KV.Watch stream
// to one member at a time; the feed remembers the revision every received
// response covers (its header) and, when the stream breaks, goes silent or
// the member is lost, watches again on another member from the revision
// after it. A response never splits a revision and everything received is
// delivered, so a resume neither repeats nor skips a change.
import type { WatchCreateRequest, WatchRequest, WatchResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { type Bytes, toKey } from './bytes';
import { CancelToken } from './cancel';
import { BellwetherError, type BellwetherErrorOptions, Cancelled, InvalidArgument, PermissionDenied, StatusCode, Unauthenticated } from './errors';
import type { ReadMode } from './pipeline';
import { type KeyValue, type ResponseHeader, toHeader, toKeyValue } from './results';

/** Which keys a watch follows: one key, a prefix, or `[start, end)` (no `end`: every key from `start` on). */
export type WatchSelector =
  | { key: Bytes; prefix?: never; start?: never; end?: never }
  | { prefix: Bytes; key?: never; start?: never; end?: never }
  | { start: Bytes; end?: Bytes; key?: never; prefix?: never };

/** Options of {@link BellwetherClient.watch}. */
export interface WatchOptions {
  /**
   * The first revision to report (default: from now, i.e. changes after the
   * serving member has caught up with the leader's commit index).
   */
  startRevision?: number;
  /** Attach each key's previous state to its event as `prev`. */
  prevKv?: boolean;
  /** Leave out puts or deletes. */
  filters?: { noPut?: boolean; noDelete?: boolean };
  /** Ends the iteration (it returns; no error). */
  signal?: AbortSignal;
  /**
   * How fresh "from now" is (only without `startRevision`; default
   * `'linearizable'`: nothing acknowledged before the watch started is
   * reported as new). Resumes always continue from an exact revision.
   */
  mode?: ReadMode;
  /** A member that sends nothing, not even a progress notification, for this long is given up on (default 5000 ms). */
  idleTimeoutMs?: number;
  /** Events received but not yet consumed before the stream is paused (default 1000). */
  maxBufferedEvents?: number;
}

/** One change to one key. */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  /** After a put, the key as written; after a delete, the key (empty value) with `modRevision` = the delete's revision. */
  readonly kv: KeyValue;
  /** The key before the change, when `prevKv` was asked for and it existed. */
  readonly prev: KeyValue | undefined;
  /** The revision (log index) of the change; a transaction's changes share one. */
  readonly revision: number;
  /** The header of the response that carried the event. */
  readonly header: ResponseHeader;
}

/**
 * The watch's start (or the revision it had reached when it had to resume)
 * is older than every member's watch history. Read the current state (e.g.
 * `client.range`) and watch again from `header.revision + 1` of that read.
 */
export class Compacted extends BellwetherError {
  /** The highest revision no longer available: watch from after it. */
  readonly compactRevision: number;

  constructor(message: string, compactRevision: number, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.OUT_OF_RANGE, method: 'Watch', ...options });
    this.compactRevision = compactRevision;
  }
}

/** @internal what the feed needs of the client. */
interface WatchDeps {
  /** Addresses of usable members, preferred first. */
  members(): string[];
  connect(address: string): grpc.ClientDuplexStream<WatchRequest, WatchResponse__Output>;
  /** Resolves at the next topology change (or when the token fires). */
  changed(token: CancelToken): Promise<void>;
  closing: CancelToken;
  observe(header: ResponseHeader): void;
}

const WIRE_MODE = { linearizable: 'READ_MODE_LINEARIZABLE', 'read-your-writes': 'READ_MODE_READ_YOUR_WRITES', 'any-follower': 'READ_MODE_ANY_FOLLOWER' } as const;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1000;

function buildCreate(selector: WatchSelector, options: WatchOptions): WatchCreateRequest {
  if (selector === null || typeof selector !== 'object') throw new InvalidArgument('watch: selector must be { key }, { prefix } or { start, end? }');
  if (options === null || typeof options !== 'object') throw new InvalidArgument('watch: options must be an object');
  const create: WatchCreateRequest = { prevKv: options.prevKv === true, progressNotify: true };
  const given = ['key', 'prefix', 'start'].filter((k) => (selector as Record<string, unknown>)[k] !== undefined);
  if (given.length !== 1) throw new InvalidArgument('watch: selector must have exactly one of key, prefix or start');
  if (selector.key !== undefined) create.key = toKey(selector.key);
  else if (selector.prefix !== undefined) create.prefix = toKey(selector.prefix, 'prefix');
  else {
    create.key = toKey(selector.start!, 'start');
    // "\0" asks for every key from `start` on.
    create.rangeEnd = selector.end === undefined ? Buffer.from([0]) : toKey(selector.end, 'end');
    if (selector.end !== undefined && Buffer.compare(create.key, create.rangeEnd) >= 0) throw new InvalidArgument('watch: start must be < end');
  }
  const filters: ('NOPUT' | 'NODELETE')[] = [];
  if (options.filters?.noPut) filters.push('NOPUT');
  if (options.filters?.noDelete) filters.push('NODELETE');
  create.filters = filters;
  return create;
}

function positive(v: unknown, field: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new InvalidArgument(`${field}: must be a positive integer, got ${String(v)}`);
  return v;
}

/** @internal the generator behind `client.watch()`; see the comment at the top of this file. */
export async function* watchChanges(deps: WatchDeps, selector: WatchSelector, options: WatchOptions): AsyncGenerator<WatchEvent, void, undefined> {
  const create = buildCreate(selector, options);
  let next = options.startRevision === undefined ? 0 : positive(options.startRevision, 'startRevision', 0);
  const mode = options.mode ?? 'linearizable';
  if (!Object.hasOwn(WIRE_MODE, mode)) throw new InvalidArgument(`mode: must be 'linearizable', 'read-your-writes' or 'any-follower', got ${JSON.stringify(mode)}`);
  const idleMs = positive(options.idleTimeoutMs, 'idleTimeoutMs', 5000);
  const maxBuffered = positive(options.maxBufferedEvents, 'maxBufferedEvents', 1000);
  const linked = CancelToken.link([options.signal, deps.closing]);
  const queue: WatchEvent[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const offAbort = linked.token.onAbort(poke);
  let stream: grpc.ClientDuplexStream<WatchRequest, WatchResponse__Output> | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let turn = 0;
  let failures = 0;
  let retryAt = 0;
  let paused = false;
  /** Members that said the resume point is compacted; only when every member says so is it an error. */
  const compactedOn = new Set<string>();

  const endSession = (delivered: boolean) => {
    clearTimeout(idleTimer);
    const s = stream;
    stream = undefined;
    paused = false;
    s?.removeAllListeners();
    s?.on('error', () => {});
    s?.cancel();
    turn++;
    failures = delivered ? 0 : failures + 1;
    retryAt = Date.now() + (failures === 0 ? 0 : Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1)));
    poke();
  };

  const open = (address: string) => {
    const s = deps.connect(address);
    stream = s;
    let delivered = false;
    const armIdle = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        if (stream === s) endSession(delivered);
      }, idleMs);
    };
    armIdle();
    s.on('data', (r: WatchResponse__Output) => {
      if (stream !== s) return;
      armIdle();
      const header = toHeader(r.header);
      if (r.canceled) {
        if (r.compactRevision > 0 || r.cancelCode === StatusCode.OUT_OF_RANGE) {
          // A member that restarted keeps history only from then on; another may still have it.
          compactedOn.add(address);
          if (deps.members().every((m) => compactedOn.has(m))) {
            failure = new Compacted(`Watch: revision ${next} is compacted on every member (last ${address}: ${r.cancelReason})`, Number(r.compactRevision));
          }
        } else if (r.cancelCode === StatusCode.INVALID_ARGUMENT) {
          failure = new InvalidArgument(`Watch: ${r.cancelReason}`, { method: 'Watch' });
        } else if (r.cancelCode === StatusCode.PERMISSION_DENIED) {
          failure = new PermissionDenied(`Watch: ${r.cancelReason}`, { method: 'Watch' });
        } else if (r.cancelCode === StatusCode.UNAUTHENTICATED) {
          failure = new Unauthenticated(`Watch: ${r.cancelReason}`, { method: 'Watch' });
        }
        // Any other reason (too slow, too many watches, no leader for the read mode): watch again.
        endSession(delivered || compactedOn.has(address));
        return;
      }
      if (r.events.length > 0) {
        for (const e of r.events) {
          const kv = toKeyValue(e.kv)!;
          queue.push({ type: e.type === 'DELETE' ? 'delete' : 'put', kv, prev: toKeyValue(e.prevKv), revision: kv.modRevision, header });
        }
        delivered = true;
        compactedOn.clear();
        deps.observe(header);
      }
      // Created, events or progress: every change up to header.revision is now received.
      if (header.revision + 1 > next) next = header.revision + 1;
      if (queue.length >= maxBuffered && !paused) {
        paused = true;
        s.pause();
      }
      poke();
    });
    s.on('error', () => {
      if (stream === s) endSession(delivered);
    });
    s.on('end', () => {
      if (stream === s) endSession(delivered);
    });
    const request: WatchCreateRequest = { ...create, startRevision: next, read: { mode: next === 0 ? WIRE_MODE[mode] : 'READ_MODE_ANY_FOLLOWER' } };
    s.write({ createRequest: request });
  };

  try {
    for (;;) {
      while (queue.length > 0) {
        const ev = queue.shift()!;
        if (paused && queue.length < maxBuffered / 2 && stream) {
          paused = false;
          stream.resume();
        }
        yield ev;
        if (linked.token.aborted) return;
      }
      if (failure) throw failure;
      if (linked.token.aborted) {
        if (deps.closing.aborted && !options.signal?.aborted) throw new Cancelled('Watch: the client was closed', { method: 'Watch' });
        return;
      }
      if (!stream) {
        const waitMs = retryAt - Date.now();
        const members = deps.members();
        if (waitMs > 0 || members.length === 0) {
          await waitFor(waitMs > 0 ? waitMs : RETRY_MAX_MS, linked.token, members.length === 0 ? deps.changed : undefined);
          continue;
        }
        open(members[turn % members.length]!);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (queue.length > 0 || failure || linked.token.aborted || !stream) poke();
      });
    }
  } finally {
    offAbort();
    linked.dispose();
    if (stream) endSession(true);
  }
}

async function waitFor(ms: number, token: CancelToken, changed?: (t: CancelToken) => Promise<void>): Promise<void> {
  const local = CancelToken.link([token]);
  try {
    await Promise.race([
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        local.token.onAbort(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
      ...(changed ? [changed(local.token)] : []),
    ]);
  } finally {
    local.token.abort();
    local.dispose();
  }
}
