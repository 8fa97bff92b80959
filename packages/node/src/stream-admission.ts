// Sheds a storm of new client streams (every client of a fleet reconnecting
// after a leader change) instead of falling over: new KV.Stream and
// WatchLeader streams are admitted at a bounded rate (a token bucket). A
// stream over the rate is refused at once with RESOURCE_EXHAUSTED and the
// trailing metadata `bellwether-retry-after-ms`: each refusal is handed the
// next free slot of the bucket, so the refused clients come back spread over
// time instead of together. Nothing ran on a refused stream.
import { RETRY_AFTER_METADATA } from '@bellwether/proto';
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { RpcError } from './errors';

/** The longest retry-after handed out: past it the bucket is not booked further ahead. */
export const MAX_RETRY_AFTER_MS = 5000;

/** A token bucket of `ratePerSecond` with room for `burst`; refusals book future tokens. */
export class StreamAdmission {
  #tokens: number;
  #at: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new RangeError('stream admission: rate must be > 0 and burst >= 1');
    this.#tokens = burst;
    this.#at = now();
  }

  /** Admits one stream (undefined), or says after how many ms to try again. */
  admit(): number | undefined {
    const now = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.ratePerSecond) / 1000);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return undefined;
    }
    // Book the next free slot: the wait until the bucket holds one more token than is owed.
    const waitMs = Math.ceil(((1 - this.#tokens) * 1000) / this.ratePerSecond);
    if (waitMs >= MAX_RETRY_AFTER_MS) return MAX_RETRY_AFTER_MS;
    this.#tokens -= 1;
    return waitMs;
  }
}

/** The refusal of a stream over the rate. */
export function shedding(retryAfterMs: number): RpcError {
  const md = new Metadata();
  md.set(RETRY_AFTER_METADATA, String(retryAfterMs));
  return new RpcError(status.RESOURCE_EXHAUSTED, `too many new streams on this member right now; retry after ${retryAfterMs} ms (metadata ${RETRY_AFTER_METADATA})`, md);
}

interface RefusableStream {
  emit(event: 'error', err: Partial<ServiceError>): boolean;
}

/** Wraps the named streaming handlers so each new call passes `admission` first. */
export function admittingStreams<H extends object>(handlers: H, names: readonly (keyof H)[], admission: StreamAdmission): H {
  const out = { ...handlers };
  for (const name of names) {
    const handler = handlers[name] as unknown as (call: RefusableStream) => void;
    (out as Record<keyof H, unknown>)[name] = (call: RefusableStream) => {
      const retryAfterMs = admission.admit();
      if (retryAfterMs === undefined) {
        handler(call);
        return;
      }
      try {
        call.emit('error', shedding(retryAfterMs).toServiceError());
      } catch {
        // Already closed by the peer.
      }
    };
  }
  return out;
}
