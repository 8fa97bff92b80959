import { type BellwetherError, Cancelled, DeadlineExceeded, fromGrpcError, type OperationKind, OutcomeUnknown } from './errors';
import type { Method, MethodRequest, MethodResponse, MemberConnection, MemberPool } from './member';
import type { ResponseHeader } from './results';
import { toHeader } from './results';

/**
 * One logical call: built once, then sent by one or more attempts. A write's
 * request carries its `(clientId, sequence)`; every attempt resends the very
 * same request object, so a retried write is applied at most once.
 */
export interface Operation<M extends Method = Method> {
  readonly method: M;
  readonly kind: OperationKind;
  readonly request: MethodRequest<M>;
  /** For writes: the exactly-once pair inside `request`. */
  readonly clientId?: string;
  readonly sequence?: number;
}

/** The limits of one logical call, shared by all its attempts. */
export interface CallContext {
  /** Absolute deadline (`Date.now()` ms) for the whole call, retries included. */
  readonly deadline: number;
  /** Fires on the caller's AbortSignal or on `client.close()`. */
  readonly signal: AbortSignal;
}

/**
 * Chooses the member for each attempt and learns from what comes back.
 * Today: {@link SingleEndpointRouter}. The leader-tracking layer replaces it
 * with one that sends writes to the known leader, reads by read mode, and
 * updates itself from response headers, NOT_LEADER hints and WatchLeader.
 */
export interface Router {
  /** The member to send attempt number `attempt` (1-based) of `op` to. */
  route(op: Operation, attempt: number): MemberConnection;
  /** A member answered; its header names itself, its term and its leader. */
  observe(member: MemberConnection, header: ResponseHeader): void;
  /** A member failed the call (a leader hint, an unreachable member, ...). */
  observeError(member: MemberConnection, error: BellwetherError): void;
}

/**
 * Decides whether a failed attempt is tried again. Today: {@link NO_RETRY}.
 * The retry layer returns a back-off delay for retryable failures (UNAVAILABLE,
 * NOT_LEADER, RESOURCE_EXHAUSTED; for writes also those with `mayHaveApplied`,
 * which is safe because the request keeps its sequence) until the deadline.
 */
export interface RetryPolicy {
  /** Milliseconds to wait before the next attempt, or `undefined` to fail with `error`. */
  nextDelayMs(error: BellwetherError, op: Operation, attempt: number, ctx: CallContext): number | undefined;
}

/** Never retries: every failure reaches the caller as it happened. */
export const NO_RETRY: RetryPolicy = { nextDelayMs: () => undefined };

/** Sends everything to one address (the first endpoint). */
export class SingleEndpointRouter implements Router {
  readonly #pool: MemberPool;
  readonly #address: string;

  constructor(pool: MemberPool, address: string) {
    this.#pool = pool;
    this.#address = address;
  }

  route(): MemberConnection {
    return this.#pool.get(this.#address);
  }

  observe(member: MemberConnection, header: ResponseHeader): void {
    if (header.memberId) member.memberId = header.memberId;
  }

  observeError(): void {}
}

/** Hooks the client uses to see every successful response (session index tracking). */
export type ResponseObserver = (header: ResponseHeader) => void;

/**
 * Runs operations: route, send, map the error, maybe retry, all within one
 * deadline and one AbortSignal.
 */
export class Invoker {
  constructor(
    readonly router: Router,
    readonly retry: RetryPolicy,
    readonly onResponse: ResponseObserver,
  ) {}

  async run<M extends Method>(op: Operation<M>, ctx: CallContext): Promise<MethodResponse<M>> {
    let mayHaveApplied = false;
    let last: BellwetherError | undefined;
    for (let attempt = 1; ; attempt++) {
      if (ctx.signal.aborted) throw this.#cancelled(op, mayHaveApplied, ctx.signal.reason);
      if (Date.now() >= ctx.deadline) throw this.#deadline(op, mayHaveApplied, last);
      const member = this.router.route(op, attempt);
      let sent = false;
      try {
        const response = await member.unary(op.method, op.request, {
          deadline: ctx.deadline,
          signal: ctx.signal,
          onSent: () => {
            sent = true;
          },
        });
        if ('header' in response) {
          const header = toHeader(response.header);
          this.router.observe(member, header);
          this.onResponse(header);
        }
        return response;
      } catch (raw) {
        const error = fromGrpcError(raw, {
          method: op.method,
          kind: op.kind,
          sent,
          clientId: op.clientId,
          sequence: op.sequence,
          cancelledByCaller: ctx.signal.aborted,
          cancelReason: ctx.signal.reason,
        });
        mayHaveApplied ||= error.mayHaveApplied;
        last = error;
        this.router.observeError(member, error);
        const delayMs = this.retry.nextDelayMs(error, op, attempt, ctx);
        if (delayMs === undefined) throw error;
        await sleep(Math.min(delayMs, Math.max(0, ctx.deadline - Date.now())), ctx.signal);
      }
    }
  }

  #cancelled(op: Operation, mayHaveApplied: boolean, reason: unknown): Cancelled {
    const write = op.kind === 'write';
    return new Cancelled(`${op.method}: cancelled by the caller${write && mayHaveApplied ? '; the write may or may not have been applied' : ''}`, {
      cause: reason,
      method: op.method,
      mayHaveApplied: write && mayHaveApplied,
    });
  }

  #deadline(op: Operation, mayHaveApplied: boolean, last: BellwetherError | undefined): BellwetherError {
    if (op.kind === 'write' && mayHaveApplied && op.clientId !== undefined && op.sequence !== undefined) {
      return new OutcomeUnknown(`${op.method}: deadline exceeded; the write may or may not have been applied`, {
        method: op.method,
        cause: last,
        clientId: op.clientId,
        sequence: op.sequence,
      });
    }
    return new DeadlineExceeded(`${op.method}: deadline exceeded${last ? ` (last failure: ${last.message})` : ''}`, {
      method: op.method,
      cause: last,
    });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * An AbortSignal that fires when any of `signals` fires; `dispose()` detaches
 * it (long-lived client signals must not collect one listener per call).
 */
export function linkSignals(signals: readonly (AbortSignal | undefined)[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  const already = present.find((s) => s.aborted);
  if (already) {
    controller.abort(already.reason);
    return { signal: controller.signal, dispose: () => {} };
  }
  const listeners = present.map((s) => {
    const onAbort = () => controller.abort(s.reason);
    s.addEventListener('abort', onAbort, { once: true });
    return () => s.removeEventListener('abort', onAbort);
  });
  return {
    signal: controller.signal,
    dispose: () => {
      for (const off of listeners) off();
    },
  };
}

