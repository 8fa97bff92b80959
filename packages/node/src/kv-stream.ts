import { LEADER_ADDRESS_METADATA, LEADER_ID_METADATA, RETRY_AFTER_METADATA, type StreamCall__Output, type StreamRequest__Output, type StreamResponse, type StreamResult } from '@bellwether/proto';
import { type ServerDuplexStream, status } from '@grpc/grpc-js';
import { RpcError, toRpcError } from './errors';
import type { KvGuard, KvOps, ReplyGate } from './kv-service';

/** Calls in flight on one stream before further calls are refused with RESOURCE_EXHAUSTED. */
export const MAX_CALLS_IN_FLIGHT_PER_STREAM = 8192;
/**
 * Most bytes of results in one reply message: under the 4 MiB that gRPC
 * clients accept by default, so other languages can use the stream with
 * stock settings. A single result larger than this still goes, alone (its
 * unary twin would be as large).
 */
export const MAX_REPLY_MESSAGE_BYTES = 4 * 1024 * 1024 - 64 * 1024;
/** A read's wait budget when the caller set no timeout (the read policy caps it further). */
const NO_TIMEOUT_BUDGET_MS = 60_000;

function errorResult(id: number, thrown: unknown): StreamResult {
  const err = toRpcError(thrown);
  if (err instanceof RpcError) {
    return {
      id,
      error: {
        code: err.code,
        message: err.message,
        leaderId: String(err.metadata.get(LEADER_ID_METADATA)[0] ?? ''),
        leaderAddress: String(err.metadata.get(LEADER_ADDRESS_METADATA)[0] ?? ''),
        retryAfterMs: Number(err.metadata.get(RETRY_AFTER_METADATA)[0] ?? 0),
      },
    };
  }
  return { id, error: { code: status.INTERNAL, message: err instanceof Error ? err.message : String(err) } };
}

function run(ops: KvOps, call: StreamCall__Output, gate: ReplyGate): Promise<Omit<StreamResult, 'id'>> {
  const budget = call.timeoutMs > 0 ? call.timeoutMs : NO_TIMEOUT_BUDGET_MS;
  switch (call.request) {
    case 'put':
      return ops.put(call.put!, budget).then((put) => ({ put }));
    case 'get':
      return ops.get(call.get!, budget, gate).then((get) => ({ get }));
    case 'delete':
      return ops.delete(call.delete!, budget).then((del) => ({ delete: del }));
    case 'range':
      return ops.range(call.range!, budget, gate).then((range) => ({ range }));
    case 'txn':
      return ops.txn(call.txn!).then((txn) => ({ txn }));
    default:
      return Promise.reject(new RpcError(status.INVALID_ARGUMENT, 'stream call: one of put, get, delete, range or txn must be set'));
  }
}

/**
 * Bytes of replies one stream may hold (answered, not yet written out to the
 * client) before it stops reading that stream's requests. A client that sends
 * and never reads would otherwise make the member buffer every reply.
 */
export const MAX_UNSENT_REPLY_BYTES = 8 * 1024 * 1024;
/**
 * Reads (get, range) reading values from the store at once on one stream,
 * once their wait for a read index is over (that wait is not limited). A
 * read's reply size is known only once it read, so this is what keeps a
 * burst of large reads from overshooting MAX_UNSENT_REPLY_BYTES: by at most
 * this many replies. While the stream is backlogged no read reads values.
 * Not lower: at 32, pipelined gets of small values (`pnpm bench --workload
 * get`, 256 in flight) cost the server twice the CPU per get, their replies
 * leaving in many small messages; at 256, 512 gets in flight ran at ~85% of
 * the throughput of no limit (security.md).
 */
export const MAX_READS_READING_PER_STREAM = 256;

/** Told how much each stream holds (metrics.ts). */
export interface ReplyBacklogObserver {
  /** A stream's unsent reply bytes changed by `delta`, to `held`. */
  replyBytes(delta: number, held: number): void;
  /** A stream stopped (true) or resumed (false) reading its requests. */
  paused(paused: boolean): void;
}

export interface KvStreamOptions {
  /** Default MAX_UNSENT_REPLY_BYTES. */
  maxUnsentReplyBytes?: number;
  observer?: ReplyBacklogObserver;
}

/**
 * The KV.Stream handler: runs each call as its unary twin would, and sends
 * the results that complete within one turn of the event loop as one message.
 *
 * Backpressure: calls start in the order received. While the stream holds
 * more than `maxUnsentReplyBytes` of replies (answered, but not yet taken by
 * HTTP/2, whose flow control stops when the client stops reading), or
 * grpc-js's write buffer is full, no call starts, reads already running are
 * held before they read values, and the stream's requests are not read
 * (HTTP/2 flow control then stops the client's sends); all go on once half
 * of it has drained. A stream so holds at most that budget plus the replies
 * of the reads reading when it filled (at most MAX_READS_READING_PER_STREAM)
 * and of the writes running (a put or delete with prev_kv or a failed
 * compare answers with a previous value; a transaction with its gets and
 * ranges).
 */
export function kvStreamHandler(allOps: KvOps, guard: KvGuard = (ops) => ops, options: KvStreamOptions = {}) {
  const maxUnsent = options.maxUnsentReplyBytes ?? MAX_UNSENT_REPLY_BYTES;
  const observer = options.observer;
  return (stream: ServerDuplexStream<StreamRequest__Output, StreamResponse>) => {
    // Every call on the stream is checked as its caller's (auth/guards.ts).
    const ops = guard(allOps, stream, false);
    let inFlight = 0;
    let pending: StreamResult[] = [];
    let flushScheduled = false;
    let open = true;
    let ending = false;
    /** Bytes of replies answered and not yet taken by HTTP/2 (pending, or written and not called back). */
    let unsentBytes = 0;
    /** grpc-js's own buffer said stop (write() returned false) until 'drain'. */
    let writeBlocked = false;
    let paused = false;
    let readsReading = 0;
    /** Reads held before reading values, in order, from `heldHead`. */
    let heldReads: (() => void)[] = [];
    let heldHead = 0;
    /** Calls received and not started yet, in order, from `head`. */
    let queue: StreamCall__Output[] = [];
    let head = 0;
    /** The stream is gone: what it held was dropped and is no longer counted. */
    let released = false;
    const hold = (delta: number) => {
      if (released) return;
      unsentBytes += delta;
      observer?.replyBytes(delta, unsentBytes);
    };
    /** Whether calls may start and reads may read; once paused, half the budget must drain first (no flapping per message). */
    const roomy = () => !writeBlocked && unsentBytes <= (paused ? maxUnsent / 2 : maxUnsent);
    /** Starts the calls whose turn it is, and pauses or resumes reading requests. */
    const pump = () => {
      if (!open) return;
      // Held reads go in waves (once half the reads reading are done): their
      // replies then leave together, not one small message each.
      const wave = readsReading <= MAX_READS_READING_PER_STREAM / 2;
      while (wave && heldHead < heldReads.length && readsReading < MAX_READS_READING_PER_STREAM && roomy()) {
        readsReading++;
        heldReads[heldHead++]!();
      }
      if (heldHead === heldReads.length) {
        heldReads = [];
        heldHead = 0;
      }
      while (head < queue.length && roomy()) start(queue[head++]!);
      if (head === queue.length) {
        queue = [];
        head = 0;
      }
      const stop = !roomy();
      if (stop && !paused) {
        paused = true;
        observer?.paused(true);
        stream.pause();
      } else if (!stop && paused) {
        paused = false;
        observer?.paused(false);
        stream.resume();
      }
    };
    const start = (call: StreamCall__Output) => {
      let reading = false;
      const gate: ReplyGate = () => {
        if (!open) return undefined;
        reading = true;
        if (heldHead === heldReads.length && readsReading < MAX_READS_READING_PER_STREAM && roomy()) {
          readsReading++;
          return undefined;
        }
        return new Promise<void>((resolve) => heldReads.push(resolve));
      };
      const done = (r: StreamResult) => {
        // Its reply is counted in unsentBytes from here on.
        if (reading) readsReading--;
        deliver(r);
        pump();
      };
      run(ops, call, gate).then(
        (res) => done({ id: call.id, ...res }),
        (err: unknown) => done(errorResult(call.id, err)),
      );
    };
    const flush = () => {
      flushScheduled = false;
      if (!open) return;
      if (pending.length > 0) {
        const results = pending;
        pending = [];
        for (const message of splitByBytes(results)) {
          const bytes = message.reduce((n, r) => n + resultBytes(r), 0);
          const ok = stream.write({ results: message }, () => {
            hold(-bytes);
            pump();
          });
          if (!ok && !writeBlocked) {
            writeBlocked = true;
            stream.once('drain', () => {
              writeBlocked = false;
              pump();
            });
          }
        }
        pump();
      }
      // The client half-closed: close ours once everything is answered.
      if (ending && inFlight === 0) {
        open = false;
        stream.end();
      }
    };
    const deliver = (r: StreamResult) => {
      inFlight--;
      if (!open) return;
      pending.push(r);
      hold(resultBytes(r));
      if (!flushScheduled) {
        flushScheduled = true;
        // The last call in flight: its caller waits on nothing else, so the
        // reply leaves as soon as this turn's promise jobs are done. With
        // more in flight, replies of the same loop turn share one message.
        if (inFlight === 0) process.nextTick(flush);
        else setImmediate(flush);
      }
    };
    stream.on('data', (req: StreamRequest__Output) => {
      for (const call of req.calls) {
        inFlight++;
        if (inFlight > MAX_CALLS_IN_FLIGHT_PER_STREAM) {
          deliver(errorResult(call.id, new RpcError(status.RESOURCE_EXHAUSTED, `more than ${MAX_CALLS_IN_FLIGHT_PER_STREAM} calls in flight on one stream; back off`)));
          continue;
        }
        queue.push(call);
      }
      pump();
    });
    const close = () => {
      open = false;
      queue = [];
      head = 0;
      // Held reads go on and end; their replies are dropped.
      for (let i = heldHead; i < heldReads.length; i++) heldReads[i]!();
      heldReads = [];
      heldHead = 0;
      if (released) return;
      // Whatever it held is dropped with the stream (or was all written out, on 'finish').
      hold(-unsentBytes);
      released = true;
      if (paused) observer?.paused(false);
    };
    stream.on('end', () => {
      ending = true;
      flush();
    });
    stream.on('finish', close);
    stream.on('cancelled', close);
    stream.on('error', close);
  };
}

interface SizedKv {
  key?: Uint8Array | string | null;
  value?: Uint8Array | string | null;
}

/** Roughly a result's encoded size: its keys and values plus a fixed allowance for the rest. */
function resultBytes(r: StreamResult): number {
  const kv = (x: SizedKv | null | undefined) => (x ? 32 + (x.key?.length ?? 0) + (x.value?.length ?? 0) : 0);
  let bytes = 64;
  if (r.put) bytes += kv(r.put.prevKv);
  else if (r.delete) bytes += kv(r.delete.prevKv);
  else if (r.get) bytes += kv(r.get.kv);
  else if (r.range) for (const x of r.range.kvs ?? []) bytes += kv(x);
  else if (r.txn) {
    for (const op of r.txn.responses ?? []) {
      bytes += 32 + kv(op.put?.prevKv ?? op.delete?.prevKv ?? op.get?.kv);
      for (const x of op.range?.kvs ?? []) bytes += kv(x);
    }
  }
  else if (r.error) bytes += Buffer.byteLength(r.error.message ?? '');
  return bytes;
}

/** Groups results into messages of at most MAX_REPLY_MESSAGE_BYTES each (in order). */
function splitByBytes(results: StreamResult[]): StreamResult[][] {
  const messages: StreamResult[][] = [];
  let current: StreamResult[] = [];
  let bytes = 0;
  for (const r of results) {
    const size = resultBytes(r);
    if (current.length > 0 && bytes + size > MAX_REPLY_MESSAGE_BYTES) {
      messages.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) messages.push(current);
  return messages;
}
