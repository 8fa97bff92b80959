// What the attempt chain (attempts.ts) works with: one logical call
// (Operation), its limits (CallContext), what it has learned so far
// (CallState), and the two policies it consults (Router, RetryPolicy).
import type { CancelToken } from './cancel';
import type { BellwetherError, OperationKind } from './errors';
import type { MemberConnection, Method, MethodRequest } from './member';
import type { ResponseHeader } from './results';
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
 * Chooses the member for each attempt and learns from what comes back. The
 * client's cluster router (routing.ts) sends writes to the tracked leader and
 * reads by read mode, and learns from response headers, NOT_LEADER hints and
 * WatchLeader.
 */
export interface Router {
  /**
   * The member to send attempt number `attempt` (1-based) of `op` to, or
   * `undefined` when there is nowhere to send it yet (no leader known): the
   * call then waits for a topology change or a back-off delay.
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
  /**
   * Whether `member` still leads, asked now and answered within `timeoutMs`
   * (false when it does not answer). A write sent to it that outlasts its
   * attempt timeout keeps waiting while this says yes: a busy leader is not
   * a fault, and abandoning the write would make its outcome unknown.
   */
  confirmLeader?(member: MemberConnection, timeoutMs: number, signal: CancelToken): Promise<boolean>;
  /** Resolves at the next topology change (a leader learned, a member back up), or when `signal` fires. */
  changed?(signal: CancelToken): Promise<void>;
}

/**
 * Decides whether a failed attempt is tried again. The client's policy
 * (routing.ts) returns a back-off delay for retryable failures
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
