// KV.Stream from the client's side: one long-lived bidirectional stream per
// member carries many KV calls at once. Each call is tagged with an id and
// keeps its own deadline (a client-side timer, and `timeout_ms` for the
// server's waits); replies are matched by id. Calls made within one turn of
// the event loop leave as one StreamRequest (bounded in calls and bytes).
//
// Every way a call ends mirrors a unary call, so the retry layer above cannot
// tell the two apart:
// - a StreamError becomes the grpc-js error the unary call would have ended
//   with (same code, message and leader-hint trailing metadata);
// - a deadline or an abort settles the call here at once; the server may
//   still run it (its late reply is ignored), as with a cancelled unary call;
// - a broken stream fails every call sent on it with UNAVAILABLE, so writes
//   are retried with their (client_id, sequence);
// - an UNIMPLEMENTED stream (an older server) makes the member use unary.
//
// Memory is bounded: at most `maxInFlight` calls are sent and unanswered at
// once (calls given up on count until the server answers them, so the
// server's own per-stream limit is never reached); more wait in a queue of at
// most `maxQueued`, beyond which calls fail with RESOURCE_EXHAUSTED. The
// stream's write backpressure is respected: nothing more is written until it
// drains.
import {
  LEADER_ADDRESS_METADATA,
  LEADER_ID_METADATA,
  RETRY_AFTER_METADATA,
  type StreamCall,
  type StreamError__Output,
  type StreamRequest,
  type StreamResponse__Output,
} from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import type { AttemptOptions, KvMethod, MethodRequest, MethodResponse } from './member';

/** The bounds of one member's stream. */
export interface StreamLimits {
  /** Calls sent and not yet answered at once, including those given up on (default 4096; the server allows 8192). */
  maxInFlight: number;
  /** Calls waiting for an in-flight slot; more fail with RESOURCE_EXHAUSTED (default 65 536). */
  maxQueued: number;
  /** Calls in one StreamRequest at most (default 1024). */
  maxBatchCalls: number;
  /** Estimated encoded bytes of one StreamRequest at most; a larger single call goes alone (default 1 MiB). */
  maxBatchBytes: number;
}

const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxInFlight: 4096,
  maxQueued: 65_536,
  maxBatchCalls: 1024,
  maxBatchBytes: 1024 * 1024,
};

/** The member answered the Stream RPC with UNIMPLEMENTED: send this call (and later ones) as unary. */
export class StreamUnsupported extends Error {
  constructor(address: string) {
    super(`${address} does not implement KV.Stream`);
    this.name = 'StreamUnsupported';
  }
}

/** How long a member that refused KV.Stream is served by unary calls before the stream is tried again. */
const UNSUPPORTED_RETRY_MS = 60_000;
/** Reopening after consecutive failures waits this long, doubling ... */
const REOPEN_BACKOFF_MIN_MS = 50;
/** ... up to this. */
const REOPEN_BACKOFF_MAX_MS = 2000;
const MAX_TIMEOUT_MS = 0xffff_ffff;

const FIELD = { Put: 'put', Get: 'get', Delete: 'delete', Range: 'range', Txn: 'txn' } as const satisfies Record<KvMethod, string>;

type Duplex = grpc.ClientDuplexStream<StreamRequest, StreamResponse__Output>;

/** A failure shaped like the error grpc-js gives a unary callback, so `fromGrpcError` maps both alike. */
function grpcError(code: grpc.status, details: string, metadata = new grpc.Metadata()): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata });
}

/** The unary trailing metadata a StreamError's leader hint stands for. */
function fromStreamError(e: StreamError__Output): grpc.ServiceError {
  const md = new grpc.Metadata();
  if (e.leaderId) md.set(LEADER_ID_METADATA, e.leaderId);
  if (e.leaderAddress) md.set(LEADER_ADDRESS_METADATA, e.leaderAddress);
  if (e.retryAfterMs > 0) md.set(RETRY_AFTER_METADATA, String(e.retryAfterMs));
  return grpcError(e.code as grpc.status, e.message, md);
}

/** Bytes a request will take on the wire, roughly (its byte fields, nested ones of a Txn too, plus a margin). */
function estimateBytes(request: object): number {
  let n = 64;
  for (const v of Object.values(request)) {
    if (v instanceof Uint8Array) n += v.byteLength;
    else if (typeof v === 'string') n += v.length * 3;
    else if (typeof v === 'object' && v !== null) n += estimateBytes(v);
  }
  return n;
}

interface Entry {
  readonly id: number;
  readonly method: KvMethod;
  readonly request: object;
  readonly deadline: number;
  readonly bytes: number;
  readonly opts: AttemptOptions;
  state: 'queued' | 'sent' | 'done';
  timer: NodeJS.Timeout | undefined;
  /** Detaches the entry from its attempt's cancellation. */
  offAbort: (() => void) | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** One member's KV.Stream: see the comment at the top of this file. */
export class MemberStream {
  readonly #address: string;
  readonly #open: () => Duplex;
  readonly #limits: StreamLimits;
  #stream: Duplex | undefined;
  /** Bumped whenever the stream is replaced: events of an older one are ignored. */
  #generation = 0;
  #nextId = 1;
  /** Calls waiting to be written, oldest first, from `#head` on; settled ones are skipped. */
  #queue: Entry[] = [];
  #head = 0;
  /** Live (not settled) entries in the queue. */
  #queued = 0;
  /** Sent and awaiting their reply. */
  readonly #inFlight = new Map<number, Entry>();
  /** Sent, given up on (deadline, abort), reply not yet seen: they still take a server slot. */
  readonly #orphans = new Set<number>();
  #flushScheduled = false;
  #draining = false;
  /** Streams in a row that broke without delivering anything. */
  #failures = 0;
  #reopenAt = 0;
  /** The last failure was the member shedding new streams (RESOURCE_EXHAUSTED with a retry-after). */
  #shed = false;
  #unsupportedUntil = 0;
  #closed = false;
  /** Messages written, for tests and diagnostics. */
  messagesSent = 0;
  /** Streams opened so far. */
  opened = 0;

  constructor(address: string, open: () => Duplex, limits: Partial<StreamLimits> = {}) {
    this.#address = address;
    this.#open = open;
    this.#limits = { ...DEFAULT_STREAM_LIMITS, ...limits };
  }

  /** Whether a KV.Stream is open to the member now. */
  get isOpen(): boolean {
    return this.#stream !== undefined;
  }

  /** Whether the member refused KV.Stream lately (its calls go unary meanwhile). */
  get unsupported(): boolean {
    return Date.now() < this.#unsupportedUntil;
  }

  /** Calls sent and unanswered, including those given up on. */
  get inFlight(): number {
    return this.#inFlight.size + this.#orphans.size;
  }

  /**
   * Sends one call over the stream. Settles exactly as the unary call would:
   * resolves with the response, or rejects with a grpc-js-shaped error (or
   * with {@link StreamUnsupported}: then send it as unary).
   */
  call<M extends KvMethod>(method: M, request: MethodRequest<M>, opts: AttemptOptions): Promise<MethodResponse<M>> {
    return new Promise((resolve, reject) => {
      if (opts.signal.aborted) {
        reject(grpcError(grpc.status.CANCELLED, 'Cancelled before sending'));
        return;
      }
      if (this.#closed) {
        reject(grpcError(grpc.status.CANCELLED, 'the connection is closed'));
        return;
      }
      if (this.unsupported) {
        reject(new StreamUnsupported(this.#address));
        return;
      }
      const now = Date.now();
      if (this.#stream === undefined && now < this.#reopenAt) {
        if (this.#shed) {
          // The member asked for a pause: pass its hint on, so the call waits rather than hammers.
          const md = new grpc.Metadata();
          md.set(RETRY_AFTER_METADATA, String(this.#reopenAt - now));
          reject(grpcError(grpc.status.RESOURCE_EXHAUSTED, `the member ${this.#address} is shedding new streams; retry after ${this.#reopenAt - now} ms`, md));
        } else {
          reject(grpcError(grpc.status.UNAVAILABLE, `the stream to ${this.#address} failed ${this.#failures} times in a row; reopening in ${this.#reopenAt - now} ms`));
        }
        return;
      }
      if (this.#queued >= this.#limits.maxQueued) {
        reject(
          grpcError(
            grpc.status.RESOURCE_EXHAUSTED,
            `${this.#queued} calls already wait for one of ${this.#limits.maxInFlight} in-flight slots on the stream to ${this.#address}; back off`,
          ),
        );
        return;
      }
      const entry: Entry = {
        id: this.#nextId++,
        method,
        request: request as object,
        deadline: opts.deadline,
        bytes: estimateBytes(request as object),
        opts,
        state: 'queued',
        timer: undefined,
        offAbort: undefined,
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      entry.timer = setTimeout(() => this.#giveUp(entry, grpcError(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded')), Math.max(0, opts.deadline - now));
      entry.offAbort = opts.signal.onAbort(() => this.#giveUp(entry, grpcError(grpc.status.CANCELLED, 'Cancelled on client')));
      this.#queue.push(entry);
      this.#queued++;
      this.#scheduleFlush();
    });
  }

  /** Cancels the stream; calls still on it fail with CANCELLED (the client cancels its own calls first). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const stream = this.#stream;
    this.#generation++;
    this.#stream = undefined;
    this.#failAll(grpcError(grpc.status.CANCELLED, 'the connection is closed'), grpcError(grpc.status.CANCELLED, 'the connection is closed'));
    stream?.cancel();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Nothing in flight (as Nagle's rule): send once this turn's promise
    // jobs have queued their calls. Otherwise after every call made in this
    // turn of the event loop, replies included, has been queued.
    if (this.inFlight === 0) process.nextTick(() => this.#flush());
    else setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed || this.#queued === 0 || this.#draining) return;
    if (this.#stream === undefined) this.#openStream();
    const stream = this.#stream;
    if (stream === undefined) return;
    const { maxInFlight, maxBatchCalls, maxBatchBytes } = this.#limits;
    while (this.#queued > 0 && !this.#draining) {
      const room = Math.min(maxInFlight - this.inFlight, maxBatchCalls);
      if (room <= 0) return; // a reply frees a slot and flushes again
      const now = Date.now();
      const calls: StreamCall[] = [];
      const sent: Entry[] = [];
      let bytes = 0;
      while (this.#head < this.#queue.length && calls.length < room) {
        const e = this.#queue[this.#head]!;
        if (e.state !== 'queued') {
          this.#head++;
          continue;
        }
        if (calls.length > 0 && bytes + e.bytes > maxBatchBytes) break;
        this.#head++;
        this.#queued--;
        e.state = 'sent';
        this.#inFlight.set(e.id, e);
        const timeoutMs = Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.ceil(e.deadline - now)));
        calls.push({ id: e.id, timeoutMs, [FIELD[e.method]]: e.request });
        sent.push(e);
        bytes += e.bytes;
      }
      this.#compact();
      if (calls.length === 0) return;
      const more = stream.write({ calls });
      this.messagesSent++;
      for (const e of sent) e.opts.onSent?.();
      if (!more) {
        this.#draining = true;
        const generation = this.#generation;
        stream.once('drain', () => {
          if (generation !== this.#generation) return;
          this.#draining = false;
          this.#scheduleFlush();
        });
      }
    }
  }

  /** Drops the settled prefix of the queue now and then. */
  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #openStream(): void {
    const generation = ++this.#generation;
    const stream = this.#open();
    this.#stream = stream;
    this.#draining = false;
    this.opened++;
    stream.on('data', (msg: StreamResponse__Output) => {
      if (generation !== this.#generation) return;
      this.#failures = 0;
      this.#onMessage(msg);
    });
    stream.on('error', (err: Partial<grpc.ServiceError>) => {
      if (generation === this.#generation) this.#broken(err);
    });
    stream.on('end', () => {
      if (generation === this.#generation) this.#broken({ code: grpc.status.UNAVAILABLE, details: 'the member ended the stream' });
    });
  }

  #onMessage(msg: StreamResponse__Output): void {
    for (const r of msg.results) {
      const e = this.#inFlight.get(r.id);
      if (e === undefined) {
        this.#orphans.delete(r.id); // a call given up on: its late reply is ignored
        continue;
      }
      this.#inFlight.delete(r.id);
      this.#settle(e);
      if (r.response === 'error' && r.error) {
        e.reject(fromStreamError(r.error));
      } else if (r.response === FIELD[e.method] && r[FIELD[e.method]]) {
        e.resolve(r[FIELD[e.method]]);
      } else {
        e.reject(grpcError(grpc.status.INTERNAL, `the stream answered call ${r.id} (${e.method}) with ${r.response ?? 'nothing'}`));
      }
    }
    if (this.#queued > 0) this.#scheduleFlush();
  }

  #broken(err: Partial<grpc.ServiceError>): void {
    const stream = this.#stream;
    this.#generation++;
    this.#stream = undefined;
    this.#draining = false;
    stream?.cancel();
    const details = err.details ?? String(err);
    if (err.code === grpc.status.UNIMPLEMENTED) {
      // An older server: nothing sent on it ran. The member's calls go unary for a while.
      this.#unsupportedUntil = Date.now() + UNSUPPORTED_RETRY_MS;
      const unsupported = new StreamUnsupported(this.#address);
      this.#failAll(unsupported, unsupported);
      return;
    }
    const retryAfter = err.code === grpc.status.RESOURCE_EXHAUSTED && err.metadata instanceof grpc.Metadata ? Number(err.metadata.get(RETRY_AFTER_METADATA)[0]) : Number.NaN;
    this.#shed = Number.isFinite(retryAfter);
    if (this.#shed) {
      // Refused before anything on it ran: every call fails as refused, nothing applied; reopen after the hint.
      this.#reopenAt = Date.now() + retryAfter;
      const refused = grpcError(grpc.status.RESOURCE_EXHAUSTED, `the member ${this.#address} refused a new stream: ${details}`, err.metadata as grpc.Metadata);
      this.#failAll(refused, refused);
      return;
    }
    this.#failures++;
    const delay = this.#failures <= 1 ? 0 : Math.min(REOPEN_BACKOFF_MAX_MS, REOPEN_BACKOFF_MIN_MS * 2 ** (this.#failures - 2));
    this.#reopenAt = Date.now() + delay;
    // A member that is shutting down ends the stream with the leader it knows in the trailers: keep that hint.
    const broke = grpcError(grpc.status.UNAVAILABLE, `the stream to ${this.#address} broke: ${details}`, err.metadata instanceof grpc.Metadata ? err.metadata : undefined);
    if (delay === 0) {
      // Calls not yet sent wait for the new stream.
      this.#failSent(broke);
      if (this.#queued > 0) this.#scheduleFlush();
    } else {
      this.#failAll(broke, grpcError(grpc.status.UNAVAILABLE, `the stream to ${this.#address} failed ${this.#failures} times in a row: ${details}`));
    }
  }

  #failSent(error: unknown): void {
    const sent = [...this.#inFlight.values()];
    this.#inFlight.clear();
    this.#orphans.clear();
    for (const e of sent) {
      this.#settle(e);
      e.reject(error);
    }
  }

  #failAll(sentError: unknown, queuedError: unknown): void {
    this.#failSent(sentError);
    const queued = this.#queue.slice(this.#head).filter((e) => e.state === 'queued');
    this.#queue = [];
    this.#head = 0;
    this.#queued = 0;
    for (const e of queued) {
      this.#settle(e);
      e.reject(queuedError);
    }
  }

  #settle(e: Entry): void {
    e.state = 'done';
    clearTimeout(e.timer);
    e.offAbort?.();
  }

  #giveUp(e: Entry, error: unknown): void {
    if (e.state === 'done') return;
    if (e.state === 'queued') {
      this.#queued--;
    } else {
      this.#inFlight.delete(e.id);
      this.#orphans.add(e.id);
    }
    this.#settle(e);
    e.reject(error);
  }
}
