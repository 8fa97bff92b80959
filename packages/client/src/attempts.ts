// The attempt chain: how one logical call becomes attempts on members. Each
// link does one thing and hands the attempt to the next:
//
//   retry → route → attempt deadline → transport
//
// - retry: loops over attempts within the call's deadline and cancellation,
//   asks the retry policy whether (and when) a failure is tried again, takes
//   a retry-budget slot for every attempt after the first, and turns the end
//   of the call into its error (Cancelled, DeadlineExceeded, OutcomeUnknown);
// - route: picks the member (or says there is none yet), lets the router end
//   an attempt early (member down, leader changed) and tells it what came back;
// - attempt deadline: bounds one attempt (attemptTimeoutMs), and tells an
//   attempt that ran out of its own time from the call running out of its;
// - transport: sends the request on the member's connection, converts the
//   response header (the one place it is converted) and maps a failure to a
//   typed error.
//
// Retry sits outside route because every attempt is routed again (a NOT_LEADER
// hint names the next member). Every promise the chain returns settles by the
// call's deadline: no attempt outlives it and no wait ignores it.
import { CancelToken } from './cancel';
import { type BellwetherError, Cancelled, DeadlineExceeded, fromGrpcError, OutcomeUnknown, Unavailable } from './errors';
import type { MemberConnection, Method, MethodResponse } from './member';
import { type CallContext, type CallState, type Operation, type RetryPolicy, type Router, refusedAfterPossibleEffect } from './pipeline';
import { type ResponseHeader, toHeader } from './results';

/** The converted header of method `M`'s response: `undefined` for the few responses without one (Status, Members, lease listings). */
type HeaderOf<M extends Method> = MethodResponse<M> extends { header: unknown } ? ResponseHeader : undefined;

/** A response with its header converted, once, for the router, the sessions and the result. */
export interface Answer<M extends Method = Method> {
  readonly response: MethodResponse<M>;
  readonly header: HeaderOf<M>;
}

/** One attempt of a call, as the links fill it in. */
interface Attempt {
  /** 1-based. */
  readonly number: number;
  /** The member it goes to (set by the route link). */
  member: MemberConnection | undefined;
  /** When this attempt stops (`Date.now()` ms): the call's deadline unless the attempt-deadline link shortens it. */
  deadline: number;
  /** The per-attempt limit in ms that set `deadline`, if any. */
  limitMs: number | undefined;
  /** Cancels this attempt only: the caller's signal, the client's close, or the router giving up on it. */
  signal: CancelToken;
  /** Whether the request was handed to the transport (a write may then have applied). */
  sent: boolean;
  /** The raw failure the transport saw, kept as the `cause` of errors made from it. */
  raw: unknown;
}

/** Sends one attempt of `op`; rejects with a {@link BellwetherError}, or {@link NO_ROUTE}. */
type Send = <M extends Method>(op: Operation<M>, ctx: CallContext, call: CallState, attempt: Attempt) => Promise<Answer<M>>;

/** Wraps the rest of the chain. */
type Link = (next: Send) => Send;

/** Runs a whole call: all its attempts. */
export type RunCall = <M extends Method>(op: Operation<M>, ctx: CallContext) => Promise<Answer<M>>;

/** Thrown by the route link when there is nowhere to send the attempt yet (no leader known). */
const NO_ROUTE: unique symbol = Symbol('no member to send the attempt to');

/** The least time a member gets to confirm it still leads (a small attempt timeout must not make a busy leader look gone). */
const CONFIRM_MIN_MS = 1000;

/** A DEADLINE_EXCEEDED this close to the call's deadline is the call's own. */
const DEADLINE_SLACK_MS = 5;

/** The client's chain: retry → route → attempt deadline → transport. */
export function attemptChain(router: Router, policy: RetryPolicy): RunCall {
  return retrying(policy, router, routing(router)(attemptDeadline(policy, router)(transport)));
}

/** The last link: sends the request and converts what comes back. */
const transport: Send = async (op, ctx, _call, attempt) => {
  const member = attempt.member;
  if (member === undefined) throw new TypeError('transport: the attempt was not routed');
  op.beforeAttempt?.();
  try {
    const response = await member.call(op.method, op.request, {
      deadline: attempt.deadline,
      signal: attempt.signal,
      onSent: () => {
        attempt.sent = true;
      },
    });
    return { response, header: ('header' in response ? toHeader(response.header) : undefined) as HeaderOf<typeof op.method> };
  } catch (raw) {
    attempt.raw = raw;
    throw fromGrpcError(raw, {
      method: op.method,
      kind: op.kind,
      sent: attempt.sent,
      clientId: op.clientId,
      sequence: op.sequence,
      cancelledByCaller: ctx.signal.aborted,
      cancelReason: ctx.signal.reason,
    });
  }
};

/**
 * Bounds one attempt by the policy's attempt timeout; an attempt out of its
 * own time is retryable, not the call's deadline. A write, once sent, is not
 * cut short by it while its member confirms it still leads (see
 * {@link watchSentWrite}).
 */
function attemptDeadline(policy: RetryPolicy, router: Router): Link {
  return (next) => async (op, ctx, call, attempt) => {
    const limitMs = policy.attemptTimeoutMs?.(op);
    attempt.limitMs = limitMs;
    const watched = limitMs !== undefined && op.kind === 'write' && router.confirmLeader !== undefined;
    attempt.deadline = limitMs === undefined || watched ? ctx.deadline : Math.min(ctx.deadline, Date.now() + limitMs);
    const watch = watched ? watchSentWrite(router, attempt, limitMs) : undefined;
    try {
      return await next(op, ctx, call, attempt);
    } catch (error) {
      if (watch?.cutShort !== undefined && !ctx.signal.aborted) {
        throw new Unavailable(`${op.method}: ${where(attempt)} ${watch.cutShort}${attempt.sent ? '; the write may or may not have been applied' : ''}`, {
          method: op.method,
          cause: attempt.raw,
          mayHaveApplied: attempt.sent,
        });
      }
      if (error instanceof DeadlineExceeded && Date.now() < ctx.deadline - DEADLINE_SLACK_MS) {
        // Only this attempt's time ran out (or the member gave up early), not the call's: try again.
        const write = op.kind === 'write';
        const what = attempt.deadline < ctx.deadline ? `did not answer within ${limitMs} ms` : 'answered DEADLINE_EXCEEDED before the deadline';
        throw new Unavailable(`${op.method}: ${where(attempt)} ${what}${write && attempt.sent ? '; the write may or may not have been applied' : ''}`, {
          method: op.method,
          cause: attempt.raw,
          mayHaveApplied: write && attempt.sent,
        });
      }
      throw error;
    } finally {
      watch?.stop();
    }
  };
}

/**
 * The attempt timeout of a write, as a watch rather than a deadline: the
 * transport gets the call's deadline, and every `limitMs` the attempt is
 * looked at. Not sent yet: it is cut short and retried (nothing can have
 * applied). Sent: its member is asked whether it still leads; while it says
 * so the write keeps waiting (a busy leader is not a fault: cutting the write
 * short would only send the same bytes again and end in OutcomeUnknown at the
 * deadline); a member that is silent or no longer leads is left, and the
 * write is retried with the same client id and sequence. The member's answer
 * bounds the wait, so a paused leader is left within about `limitMs` plus
 * max(`limitMs`, 1 s).
 */
function watchSentWrite(router: Router, attempt: Attempt, limitMs: number): { readonly cutShort: string | undefined; stop(): void } {
  const linked = CancelToken.link([attempt.signal]);
  attempt.signal = linked.token;
  const state = { cutShort: undefined as string | undefined, stop };
  let timer: NodeJS.Timeout | undefined;
  const cut = (why: string) => {
    state.cutShort = why;
    linked.token.abort(new Error(why));
  };
  const check = async () => {
    timer = undefined;
    const member = attempt.member;
    if (linked.token.aborted) return;
    if (!attempt.sent || member === undefined || router.confirmLeader === undefined) {
      cut(`did not answer within ${limitMs} ms`);
      return;
    }
    const leads = await router.confirmLeader(member, Math.max(limitMs, CONFIRM_MIN_MS), linked.token);
    if (linked.token.aborted) return;
    if (leads) timer = setTimeout(() => void check(), limitMs);
    else cut(`did not answer the write within ${limitMs} ms and did not confirm it still leads`);
  };
  timer = setTimeout(() => void check(), limitMs);
  function stop(): void {
    clearTimeout(timer);
    linked.dispose();
  }
  return state;
}

/** Picks the member of each attempt and tells the router what came of it. */
function routing(router: Router): Link {
  return (next) => async (op, ctx, call, attempt) => {
    const member = router.route(op, attempt.number, call);
    if (member === undefined) throw NO_ROUTE;
    attempt.member = member;
    call.lastAddress = member.address;
    const linked = CancelToken.link([ctx.signal]);
    attempt.signal = linked.token;
    let abandoned: string | undefined;
    const end = router.attempt?.(op, member, (reason) => {
      if (abandoned !== undefined) return;
      abandoned = reason;
      linked.token.abort(new Error(reason));
    });
    try {
      const answer = await next(op, ctx, call, attempt);
      if (answer.header) router.observe(member, answer.header);
      return answer;
    } catch (thrown) {
      let error = thrown as BellwetherError;
      if (!ctx.signal.aborted && abandoned !== undefined) {
        const write = op.kind === 'write';
        error = new Unavailable(
          `${op.method}: gave up waiting on ${where(attempt)}: ${abandoned}${write && attempt.sent ? '; the write may or may not have been applied' : ''}`,
          { method: op.method, cause: attempt.raw, mayHaveApplied: write && attempt.sent },
        );
      }
      router.observeError(member, error, call);
      throw error;
    } finally {
      end?.();
      linked.dispose();
    }
  };
}

/** The first link: every attempt of a call, until one succeeds, the policy gives up, the deadline passes or the call is cancelled. */
function retrying(policy: RetryPolicy, router: Router, next: Send): RunCall {
  return async (op, ctx) => {
    let mayHaveApplied = false;
    let last: BellwetherError | undefined;
    let sentAny = false;
    const call: CallState = { startedAt: Date.now(), tried: new Set(), hintAddress: undefined, consecutiveHints: 0, lastAddress: undefined };
    for (let number = 1; ; number++) {
      if (ctx.signal.aborted) throw cancelled(op, mayHaveApplied, ctx.signal.reason);
      if (Date.now() >= ctx.deadline) throw deadlineError(op, mayHaveApplied, last, sentAny);
      // A retry takes a slot of the client's budget first, so a failover does not send every call back at once.
      const slot = number > 1 && policy.budget ? await policy.budget.acquire(ctx.signal, ctx.deadline) : undefined;
      if (number > 1 && policy.budget && slot === undefined) continue; // cancelled or out of time: the checks above end it
      const attempt: Attempt = { number, member: undefined, deadline: ctx.deadline, limitMs: undefined, signal: ctx.signal, sent: false, raw: undefined };
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        slot?.();
      };
      try {
        let error: BellwetherError;
        try {
          return await next(op, ctx, call, attempt);
        } catch (thrown) {
          if (thrown !== NO_ROUTE) error = thrown as BellwetherError;
          else {
            release();
            // Nowhere to send it (no leader known): wait for news or a back-off step.
            await wait(router, backoffWhileWaiting(number), ctx);
            continue;
          }
        }
        sentAny ||= attempt.sent;
        mayHaveApplied ||= error.mayHaveApplied;
        // The call's own deadline: say so, with the most telling earlier failure.
        if (error instanceof DeadlineExceeded && !ctx.signal.aborted) throw deadlineError(op, mayHaveApplied, last ?? error, sentAny);
        last = error;
        if (ctx.signal.aborted) throw cancelled(op, mayHaveApplied, ctx.signal.reason);
        const delayMs = policy.nextDelayMs(error, op, number, ctx, call);
        if (delayMs === undefined) {
          if (mayHaveApplied && !error.mayHaveApplied && op.kind === 'write') throw unknownAfterRefusal(op, error);
          throw error;
        }
        // The retry's slot is held through its back-off: a retry waiting its turn counts against the budget.
        if (delayMs > 0) await wait(router, delayMs, ctx);
      } finally {
        release();
      }
    }
  };
}

function where(attempt: Attempt): string {
  const member = attempt.member;
  if (!member) return 'no member';
  return member.memberId ? `${member.memberId} at ${member.address}` : member.address;
}

function backoffWhileWaiting(attempt: number): number {
  return Math.min(1000, 25 * 2 ** Math.min(attempt - 1, 6));
}

/** Sleeps `ms`, waking early on a topology change, the deadline or the signal. */
async function wait(router: Router, ms: number, ctx: CallContext): Promise<void> {
  const remaining = Math.max(0, ctx.deadline - Date.now());
  const linked = CancelToken.link([ctx.signal]);
  try {
    const waits = [sleep(Math.min(ms, remaining), linked.token)];
    if (router.changed) waits.push(router.changed(linked.token));
    await Promise.race(waits);
  } finally {
    // Ends whichever wait is still pending.
    linked.token.abort();
    linked.dispose();
  }
}

function cancelled(op: Operation, mayHaveApplied: boolean, reason: unknown): Cancelled {
  const write = op.kind === 'write';
  const why = reason instanceof Cancelled ? reason.message : 'cancelled by the caller';
  return new Cancelled(`${op.method}: ${why}${write && mayHaveApplied ? '; the write may or may not have been applied' : ''}`, {
    cause: reason,
    method: op.method,
    mayHaveApplied: write && mayHaveApplied,
  });
}

/** An earlier attempt may have applied the write; a later refusal cannot say it did not. */
function unknownAfterRefusal(op: Operation, error: BellwetherError): BellwetherError {
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

function deadlineError(op: Operation, mayHaveApplied: boolean, last: BellwetherError | undefined, sentAny: boolean): BellwetherError {
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
