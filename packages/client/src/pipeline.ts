import { CancelToken } from './cancel';
import { type BellwetherError, Cancelled, DeadlineExceeded, fromGrpcError, type OperationKind, OutcomeUnknown, Unavailable } from './errors';
import type { MemberConnection, MemberPool, Method, MethodRequest, MethodResponse } from './member';
import type { ResponseHeader } from './results';
import { toHeader } from './results';
import type { RetryBudget } from './retry-budget';


/**
 * Refusals of a write without an exactly-once pair (a membership change) that
 * came after an earlier attempt may have taken effect: the refusal may be the
 * earlier attempt's own effect (a retried RemoveMember finds the member gone),
 * so the caller checks the outcome itself.
 */
export const refusedAfterPossibleEffect = new WeakSet<BellwetherError>();

/** How fresh a read must be; see the client's `ReadMode` documentation. */
export type ReadMode = 'linearizable' | 'read-your-writes' | 'any-follower';

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
  /** For KV reads: the read mode (routing depends on it). */
  readonly readMode?: ReadMode;
  /** For read-your-writes reads: the `min_index` the request carries. */
  readonly minIndex?: number;
  /** Called before every attempt (a write refreshes its `min_unacked_sequence`). */
  readonly beforeAttempt?: () => void;
}

/** The limits of one logical call, shared by all its attempts. */
export interface CallContext {
  /** Absolute deadline (`Date.now()` ms) for the whole call, retries included. */
  readonly deadline: number;
  /** Fires on the caller's AbortSignal or on `client.close()`. */
  readonly signal: CancelToken;
}

/** What one logical call has learned so far; shared by the router and the retry policy. */
export interface CallState {
  /** `Date.now()` when the call started. */
  readonly startedAt: number;
  /** Addresses that failed this call (reads try elsewhere first). */
  readonly tried: Set<string>;
  /** The address a NOT_LEADER / UNAVAILABLE hint named; the next attempt goes there. */
  hintAddress: string | undefined;
  /** How many attempts in a row ended with a leader hint (a loop of stale hints backs off). */
  consecutiveHints: number;
  /** The address of the last attempt. */
  lastAddress: string | undefined;
  /** The read mode of the last attempt (`undefined` for writes and cluster calls). */
  lastReadMode?: ReadMode;
}

/**
 * Chooses the member for each attempt and learns from what comes back.
 * {@link SingleEndpointRouter} sends everything to one address; the client's
 * cluster router sends writes to the tracked leader and reads by read mode,
 * and learns from response headers, NOT_LEADER hints and WatchLeader.
 */
export interface Router {
  /**
   * The member to send attempt number `attempt` (1-based) of `op` to, or
   * `undefined` when there is nowhere to send it yet (no leader known): the
   * invoker then waits for a topology change or a back-off delay.
   */
  route(op: Operation, attempt: number, call: CallState): MemberConnection | undefined;
  /** A member answered; its header names itself, its term and its leader. */
  observe(member: MemberConnection, header: ResponseHeader): void;
  /** A member failed the call (a leader hint, an unreachable member, ...). */
  observeError(member: MemberConnection, error: BellwetherError, call?: CallState): void;
  /**
   * An attempt of `op` starts on `member`. The router may call `abandon`
   * while it runs (the member went down, the leader changed) to end it early
   * and retry elsewhere. Returns the function to call when the attempt ends.
   */
  attempt?(op: Operation, member: MemberConnection, abandon: (reason: string) => void): () => void;
  /** Resolves at the next topology change (a leader learned, a member back up), or when `signal` fires. */
  changed?(signal: CancelToken): Promise<void>;
}

/**
 * Decides whether a failed attempt is tried again: {@link NO_RETRY}, or the
 * client's policy, which returns a back-off delay for retryable failures
 * (UNAVAILABLE, NOT_LEADER, RESOURCE_EXHAUSTED, abandoned attempts; for
 * writes also those with `mayHaveApplied`, which is safe because the request
 * keeps its sequence) until the deadline.
 */
export interface RetryPolicy {
  /** Milliseconds to wait before the next attempt, or `undefined` to fail with `error`. */
  nextDelayMs(error: BellwetherError, op: Operation, attempt: number, ctx: CallContext, call?: CallState): number | undefined;
  /** Milliseconds one attempt may take at most (the call's deadline still bounds it); `undefined`: no per-attempt limit. */
  attemptTimeoutMs?(op: Operation): number | undefined;
  /** Bounds the retries (attempts after the first) in flight at once across the client's calls. */
  readonly budget?: RetryBudget;
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
 * deadline and one cancellation. Every promise it returns settles by the
 * deadline: no attempt outlives it and no wait ignores it.
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
    let sentAny = false;
    const call: CallState = { startedAt: Date.now(), tried: new Set(), hintAddress: undefined, consecutiveHints: 0, lastAddress: undefined };
    for (let attempt = 1; ; attempt++) {
      if (ctx.signal.aborted) throw this.#cancelled(op, mayHaveApplied, ctx.signal.reason);
      if (Date.now() >= ctx.deadline) throw this.#deadline(op, mayHaveApplied, last, sentAny);
      // A retry takes a slot of the client's budget first, so a failover does not send every call back at once.
      const slot = attempt > 1 && this.retry.budget ? await this.retry.budget.acquire(ctx.signal, ctx.deadline) : undefined;
      if (attempt > 1 && this.retry.budget && slot === undefined) continue; // cancelled or out of time: the checks above end it
      const member = this.router.route(op, attempt, call);
      if (member === undefined) {
        slot?.();
        // Nowhere to send it (no leader known): wait for news or a back-off step.
        await this.#wait(this.#backoffWhileWaiting(attempt), ctx);
        continue;
      }
      call.lastAddress = member.address;
      op.beforeAttempt?.();
      const attemptMs = this.retry.attemptTimeoutMs?.(op);
      const attemptDeadline = attemptMs === undefined ? ctx.deadline : Math.min(ctx.deadline, Date.now() + attemptMs);
      const linked = CancelToken.link([ctx.signal]);
      let abandoned: string | undefined;
      const end = this.router.attempt?.(op, member, (reason) => {
        if (abandoned !== undefined) return;
        abandoned = reason;
        linked.token.abort(new Error(reason));
      });
      let sent = false;
      try {
        const response = await member.call(op.method, op.request, {
          deadline: attemptDeadline,
          signal: linked.token,
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
        sentAny ||= sent;
        const error = this.#attemptError(raw, op, ctx, member, sent, abandoned, attemptDeadline, attemptMs);
        mayHaveApplied ||= error.mayHaveApplied;
        if (error instanceof DeadlineExceeded && !ctx.signal.aborted) {
          // The call's own deadline: say so, with the most telling earlier failure.
          this.router.observeError(member, error, call);
          throw this.#deadline(op, mayHaveApplied, last ?? error, sentAny);
        }
        last = error;
        this.router.observeError(member, error, call);
        if (ctx.signal.aborted) throw this.#cancelled(op, mayHaveApplied, ctx.signal.reason);
        const delayMs = this.retry.nextDelayMs(error, op, attempt, ctx, call);
        if (delayMs === undefined) {
          if (mayHaveApplied && !error.mayHaveApplied && op.kind === 'write') throw this.#unknownAfterRefusal(op, error);
          throw error;
        }
        if (delayMs > 0) await this.#wait(delayMs, ctx);
      } finally {
        end?.();
        linked.dispose();
        slot?.();
      }
    }
  }

  /** Maps a failed attempt to a typed error, telling an attempt the client gave up on from the call's own end. */
  #attemptError(
    raw: unknown,
    op: Operation,
    ctx: CallContext,
    member: MemberConnection,
    sent: boolean,
    abandoned: string | undefined,
    attemptDeadline: number,
    attemptMs: number | undefined,
  ): BellwetherError {
    const write = op.kind === 'write';
    const where = member.memberId ? `${member.memberId} at ${member.address}` : member.address;
    if (!ctx.signal.aborted && abandoned !== undefined) {
      return new Unavailable(`${op.method}: gave up waiting on ${where}: ${abandoned}${write && sent ? '; the write may or may not have been applied' : ''}`, {
        method: op.method,
        cause: raw,
        mayHaveApplied: write && sent,
      });
    }
    const error = fromGrpcError(raw, {
      method: op.method,
      kind: op.kind,
      sent,
      clientId: op.clientId,
      sequence: op.sequence,
      cancelledByCaller: ctx.signal.aborted,
      cancelReason: ctx.signal.reason,
    });
    if (error instanceof DeadlineExceeded && Date.now() < ctx.deadline - DEADLINE_SLACK_MS) {
      // Only this attempt's time ran out (or the member gave up early), not the call's: try again.
      const what = attemptDeadline < ctx.deadline ? `did not answer within ${attemptMs} ms` : 'answered DEADLINE_EXCEEDED before the deadline';
      return new Unavailable(
        `${op.method}: ${where} ${what}${write && sent ? '; the write may or may not have been applied' : ''}`,
        { method: op.method, cause: raw, mayHaveApplied: write && sent },
      );
    }
    return error;
  }

  #backoffWhileWaiting(attempt: number): number {
    return Math.min(1000, 25 * 2 ** Math.min(attempt - 1, 6));
  }

  /** Sleeps `ms`, waking early on a topology change, the deadline or the signal. */
  async #wait(ms: number, ctx: CallContext): Promise<void> {
    const remaining = Math.max(0, ctx.deadline - Date.now());
    const linked = CancelToken.link([ctx.signal]);
    try {
      const waits = [sleep(Math.min(ms, remaining), linked.token)];
      if (this.router.changed) waits.push(this.router.changed(linked.token));
      await Promise.race(waits);
    } finally {
      // Ends whichever wait is still pending.
      linked.token.abort();
      linked.dispose();
    }
  }

  #cancelled(op: Operation, mayHaveApplied: boolean, reason: unknown): Cancelled {
    const write = op.kind === 'write';
    const why = reason instanceof Cancelled ? reason.message : 'cancelled by the caller';
    return new Cancelled(`${op.method}: ${why}${write && mayHaveApplied ? '; the write may or may not have been applied' : ''}`, {
      cause: reason,
      method: op.method,
      mayHaveApplied: write && mayHaveApplied,
    });
  }

  /** An earlier attempt may have applied the write; a later refusal cannot say it did not. */
  #unknownAfterRefusal(op: Operation, error: BellwetherError): BellwetherError {
    if (op.clientId === undefined || op.sequence === undefined) {
      refusedAfterPossibleEffect.add(error);
      return error;
    }
    return new OutcomeUnknown(`${op.method}: an earlier attempt may have been applied, then: ${error.message}`, {
      method: op.method,
      cause: error,
      code: error.code,
      details: error.details,
      metadata: error.metadata,
      clientId: op.clientId,
      sequence: op.sequence,
    });
  }

  #deadline(op: Operation, mayHaveApplied: boolean, last: BellwetherError | undefined, sentAny: boolean): BellwetherError {
    if (op.kind === 'write' && mayHaveApplied && op.clientId !== undefined && op.sequence !== undefined) {
      return new OutcomeUnknown(
        `${op.method}: deadline exceeded; the write may or may not have been applied${last ? ` (last failure: ${last.message})` : ''}`,
        { method: op.method, cause: last, clientId: op.clientId, sequence: op.sequence },
      );
    }
    const what = op.kind === 'write' ? '; the write was not applied' : '';
    const why = last ? ` (last failure: ${last.message})` : sentAny ? '' : ' (no member to send it to: no leader was known)';
    return new DeadlineExceeded(`${op.method}: deadline exceeded${what}${why}`, { method: op.method, cause: last });
  }
}

/** A DEADLINE_EXCEEDED this close to the call's deadline is the call's own. */
const DEADLINE_SLACK_MS = 5;

function sleep(ms: number, signal: CancelToken): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      off();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const off = signal.onAbort(done);
  });
}
