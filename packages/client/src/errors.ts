import { LEADER_ADDRESS_METADATA, LEADER_ID_METADATA, RETRY_AFTER_METADATA } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';

/**
 * The standard gRPC status codes, with the same numbers as every gRPC
 * implementation. Bellwether never invents codes of its own: a leader hint
 * travels in trailing metadata, not in a new code.
 */
export const StatusCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** One of the numeric values of {@link StatusCode}. */
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

/** The name of a gRPC status code, e.g. `'UNAVAILABLE'`. */
export type StatusCodeName = keyof typeof StatusCode;

const CODE_NAMES = new Map<number, StatusCodeName>(
  (Object.entries(StatusCode) as [StatusCodeName, StatusCode][]).map(([name, code]) => [code, name]),
);

/** The name of a numeric gRPC status code (`'UNKNOWN'` for a number outside the standard set). */
export function statusCodeName(code: number): StatusCodeName {
  return CODE_NAMES.get(code) ?? 'UNKNOWN';
}

/**
 * Trailing metadata of a failed call: lower-case keys, every value sent under
 * each key. Binary (`-bin`) values are `Uint8Array`, all others strings.
 */
export type ErrorMetadata = Readonly<Record<string, readonly (string | Uint8Array)[]>>;

/** What the caller was doing when an error happened; drives the write-outcome rules. */
export type OperationKind = 'read' | 'write';

/** Options every {@link BellwetherError} constructor accepts. */
export interface BellwetherErrorOptions {
  /** The gRPC status code; each subclass has a sensible default. */
  code?: StatusCode;
  /** The server's (or the transport's) status details, unchanged. */
  details?: string;
  /** Trailing metadata of the failed call. */
  metadata?: ErrorMetadata;
  /** The underlying error (a grpc-js `ServiceError`, an abort reason, ...). */
  cause?: unknown;
  /** The RPC that failed, e.g. `'Put'`. */
  method?: string;
  /**
   * True when the failed call was a write that may have been applied. See
   * {@link BellwetherError.mayHaveApplied}.
   */
  mayHaveApplied?: boolean;
}

/**
 * The base of every error the SDK throws. `instanceof BellwetherError` catches
 * them all; the subclasses say what happened and what to do about it.
 */
export class BellwetherError extends Error {
  /** The gRPC status code of the failure. */
  readonly code: StatusCode;
  /** The status details as the server (or transport) sent them; `''` if none. */
  readonly details: string;
  /** Trailing metadata of the failed call (empty when there was none). */
  readonly metadata: ErrorMetadata;
  /** The RPC that failed (`'Put'`, `'Get'`, `'Delete'`, `'Range'`), when known. */
  readonly method: string | undefined;
  /**
   * True when this error ended a write (put, delete, compare-and-swap) that
   * may nevertheless have been applied: the request may have reached the
   * leader and its answer was lost. False for reads and for failures the
   * server guarantees left nothing changed (invalid argument, not leader, ...).
   * Retrying such a write through the same client reuses its
   * `(clientId, sequence)`, so it is applied at most once.
   */
  readonly mayHaveApplied: boolean;

  /**
   * @param message - human-readable text: what failed and what to do.
   * @param options - code, details, metadata and cause.
   */
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? StatusCode.UNKNOWN;
    this.details = options.details ?? '';
    this.metadata = options.metadata ?? {};
    this.method = options.method;
    this.mayHaveApplied = options.mayHaveApplied ?? false;
  }

  /** The name of {@link BellwetherError.code}, e.g. `'UNAVAILABLE'`. */
  get codeName(): StatusCodeName {
    return statusCodeName(this.code);
  }
}

/**
 * The request was malformed (empty or oversized key, oversized value, bad
 * option). Nothing stored was changed. Fix the request; retrying will not help.
 * Thrown both by the server (INVALID_ARGUMENT, OUT_OF_RANGE) and by the SDK
 * itself before sending anything.
 */
export class InvalidArgument extends BellwetherError {
  /** @param message - names the field and the limit. */
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.INVALID_ARGUMENT, ...options });
  }
}

/** Where the current leader is, as a member reported it. */
export interface LeaderHint {
  /** The leader's member id; `undefined` when the member knew of no leader. */
  readonly leaderId: string | undefined;
  /** The leader's `host:port`; `undefined` when unknown. */
  readonly leaderAddress: string | undefined;
}

/**
 * FAILED_PRECONDITION: the server refused the call because of the cluster's
 * state: {@link NotLeader}, or a membership change refused now (it would
 * leave no quorum of members that are up, or a learner is not caught up
 * yet); the message says which and what to do. Nothing was changed.
 */
export class FailedPrecondition extends BellwetherError {
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.FAILED_PRECONDITION, ...options });
  }
}

/**
 * A write reached a member that is not the leader. The write was NOT applied.
 * {@link NotLeader.leaderId} and {@link NotLeader.leaderAddress} name the
 * current leader (from the `bellwether-leader-id` / `bellwether-leader-address`
 * trailing metadata). The client follows the hint by itself and retries the
 * write there; you see this error only with `retryWrites: false`.
 */
export class NotLeader extends FailedPrecondition implements LeaderHint {
  /** The current leader's member id; `undefined` if the member named none. */
  readonly leaderId: string | undefined;
  /** The current leader's `host:port`; `undefined` if the member named none. */
  readonly leaderAddress: string | undefined;

  constructor(message: string, options: BellwetherErrorOptions & Partial<LeaderHint> = {}) {
    super(message, { ...options, mayHaveApplied: false });
    this.leaderId = options.leaderId;
    this.leaderAddress = options.leaderAddress;
  }
}

/** NOT_FOUND: a membership change named a member the cluster does not have. Nothing was changed. */
export class NotFound extends BellwetherError {
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.NOT_FOUND, ...options, mayHaveApplied: false });
  }
}

/**
 * ALREADY_EXISTS: {@link BellwetherClient.addMember} named an id or an
 * address a member already has (possibly because an earlier attempt of the
 * same call succeeded). Nothing was changed by this attempt.
 */
export class AlreadyExists extends BellwetherError {
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.ALREADY_EXISTS, ...options, mayHaveApplied: false });
  }
}

/**
 * The member could not serve the call now: it is unreachable, no leader is
 * known (an election is under way), a read-your-writes read did not catch up
 * in time, or an any-follower read was too stale. Retrying later or on another
 * member is safe; for a write, {@link BellwetherError.mayHaveApplied} is true
 * because the connection may have broken after the request left.
 * The leader hint is set when the member knew a leader.
 */
export class Unavailable extends BellwetherError implements LeaderHint {
  /** The leader the member knew of, if any. */
  readonly leaderId: string | undefined;
  /** That leader's `host:port`, if known. */
  readonly leaderAddress: string | undefined;

  constructor(message: string, options: BellwetherErrorOptions & Partial<LeaderHint> = {}) {
    super(message, { code: StatusCode.UNAVAILABLE, ...options });
    this.leaderId = options.leaderId;
    this.leaderAddress = options.leaderAddress;
  }
}

/**
 * The call's deadline passed before an answer came. For a read nothing
 * happened; for a write the SDK throws the subclass {@link OutcomeUnknown}
 * instead (unless it knows the write was not applied).
 */
export class DeadlineExceeded extends BellwetherError {
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.DEADLINE_EXCEEDED, ...options });
  }
}

/**
 * A write's deadline passed (or the cluster forgot its result, code
 * ABORTED) after an attempt that may have been applied: it may or may not
 * have taken effect. It is a {@link DeadlineExceeded}, so code catching that
 * also catches this. Until then the client retried the write with the same
 * `clientId` and {@link OutcomeUnknown.sequence}, so it was applied at most
 * once. To learn the outcome, read the key back (a linearizable read). A
 * write that surely was not applied ends in a plain `DeadlineExceeded` with
 * `mayHaveApplied: false` instead.
 */
export class OutcomeUnknown extends DeadlineExceeded {
  /** The client id the write carried. */
  readonly clientId: string;
  /** The sequence number the write carried. */
  readonly sequence: number;

  constructor(message: string, options: BellwetherErrorOptions & { clientId: string; sequence: number }) {
    super(message, { ...options, mayHaveApplied: true });
    this.clientId = options.clientId;
    this.sequence = options.sequence;
  }
}

/**
 * The call was cancelled: its `AbortSignal` fired, the client was closed, or
 * the server cancelled it. For a write that had already been sent,
 * {@link BellwetherError.mayHaveApplied} is true.
 */
export class Cancelled extends BellwetherError {
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.CANCELLED, ...options });
  }
}

/**
 * ABORTED: the server gave up on the call (for example a conflict). Nothing
 * was applied; retrying is safe.
 */
export class Aborted extends BellwetherError {
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.ABORTED, ...options });
  }
}

/**
 * The member's bounded queues are full, or it is shedding a burst of new
 * streams. Nothing was applied; back off and retry (the client does, waiting
 * at least {@link ResourceExhausted.retryAfterMs}).
 */
export class ResourceExhausted extends BellwetherError {
  /** The member's hint (`bellwether-retry-after-ms` trailing metadata): try again no sooner than this many ms. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: BellwetherErrorOptions & { retryAfterMs?: number } = {}) {
    super(message, { code: StatusCode.RESOURCE_EXHAUSTED, ...options });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The retry-after hint of a RESOURCE_EXHAUSTED: a non-negative integer of ms, or undefined. */
function retryAfterOf(metadata: ErrorMetadata): number | undefined {
  const raw = firstString(metadata, RETRY_AFTER_METADATA);
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) return undefined;
  return Number(raw);
}

/** The caller is not allowed to make this call (PERMISSION_DENIED). */
export class PermissionDenied extends BellwetherError {
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.PERMISSION_DENIED, ...options });
  }
}

/** The caller did not present valid credentials (UNAUTHENTICATED). */
export class Unauthenticated extends BellwetherError {
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.UNAUTHENTICATED, ...options });
  }
}

/** The member does not implement this call: it runs an older or a different server. */
export class Unimplemented extends BellwetherError {
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.UNIMPLEMENTED, ...options });
  }
}

/**
 * The server or the transport failed in a way the caller cannot fix (UNKNOWN,
 * INTERNAL, DATA_LOSS). For a write, {@link BellwetherError.mayHaveApplied} is
 * true.
 */
export class Internal extends BellwetherError {
  constructor(message: string, options: BellwetherErrorOptions = {}) {
    super(message, { code: StatusCode.INTERNAL, ...options });
  }
}

/** A grpc-js error as it reaches a unary callback. */
type GrpcError = Partial<grpc.ServiceError>;

/** What {@link fromGrpcError} needs to know about the failed call. */
interface ErrorContext {
  /** The RPC, e.g. `'Put'`. */
  method: string;
  /** Reads never change anything; writes may have been applied. */
  kind: OperationKind;
  /** For writes: the exactly-once pair the request carried. */
  clientId?: string;
  sequence?: number;
  /** Whether the request was handed to the transport (false: it surely did nothing). */
  sent?: boolean;
  /** The caller's own cancellation fired (AbortSignal or `close()`). */
  cancelledByCaller?: boolean;
  /** Why the caller cancelled (the signal's reason). */
  cancelReason?: unknown;
}

function metadataOf(err: GrpcError): ErrorMetadata {
  const md = err.metadata;
  if (!md || typeof md.toJSON !== 'function') return {};
  const out: Record<string, (string | Uint8Array)[]> = {};
  for (const [key, values] of Object.entries(md.toJSON())) {
    out[key] = values.map((v) => (typeof v === 'string' ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)));
  }
  return out;
}

function firstString(md: ErrorMetadata, key: string): string | undefined {
  const v = md[key]?.[0];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Converts a failed gRPC call into the matching typed error. The rules, per
 * status code, are in the package README ("Errors").
 */
export function fromGrpcError(raw: unknown, ctx: ErrorContext): BellwetherError {
  if (raw instanceof BellwetherError) return raw;
  const err: GrpcError = typeof raw === 'object' && raw !== null ? (raw as GrpcError) : {};
  const code = typeof err.code === 'number' ? (err.code as StatusCode) : StatusCode.UNKNOWN;
  const details = typeof err.details === 'string' ? err.details : raw instanceof Error ? raw.message : String(raw);
  const metadata = metadataOf(err);
  const write = ctx.kind === 'write' && ctx.sent !== false;
  const base: BellwetherErrorOptions = { code, details, metadata, cause: raw, method: ctx.method };
  const hint: LeaderHint = {
    leaderId: firstString(metadata, LEADER_ID_METADATA),
    leaderAddress: firstString(metadata, LEADER_ADDRESS_METADATA),
  };
  const where = `${ctx.method}: `;
  const say = (text: string) => `${where}${text}${details ? ` (${details})` : ''}`;

  switch (code) {
    case StatusCode.CANCELLED:
      if (ctx.cancelledByCaller) {
        const why = ctx.cancelReason instanceof Cancelled ? ctx.cancelReason.message : 'cancelled by the caller';
        return new Cancelled(`${where}${why}${write ? '; the write may or may not have been applied' : ''}`, {
          ...base,
          cause: ctx.cancelReason ?? raw,
          mayHaveApplied: write,
        });
      }
      return new Cancelled(say(`cancelled by the server${write ? '; the write may or may not have been applied' : ''}`), {
        ...base,
        mayHaveApplied: write,
      });
    case StatusCode.INVALID_ARGUMENT:
    case StatusCode.OUT_OF_RANGE:
      return new InvalidArgument(say('invalid argument; nothing was changed'), base);
    case StatusCode.DEADLINE_EXCEEDED:
      if (write && ctx.clientId !== undefined && ctx.sequence !== undefined) {
        return new OutcomeUnknown(
          say('deadline exceeded; the write may or may not have been applied (retry it with the same client id and sequence to find out)'),
          { ...base, clientId: ctx.clientId, sequence: ctx.sequence },
        );
      }
      return new DeadlineExceeded(say('deadline exceeded'), { ...base, mayHaveApplied: write });
    case StatusCode.FAILED_PRECONDITION:
      if (LEADER_ID_METADATA in metadata || LEADER_ADDRESS_METADATA in metadata) {
        const to = hint.leaderId ? ` the leader is ${hint.leaderId}${hint.leaderAddress ? ` at ${hint.leaderAddress}` : ''}` : ' no leader is known';
        return new NotLeader(say(`this member is not the leader;${to}; the write was not applied`), { ...base, ...hint });
      }
      return new FailedPrecondition(say('failed precondition'), base);
    case StatusCode.UNAVAILABLE:
      return new Unavailable(say(`member unavailable${write ? '; the write may or may not have been applied' : ''}`), {
        ...base,
        ...hint,
        mayHaveApplied: write,
      });
    case StatusCode.NOT_FOUND:
      return new NotFound(say('not found; nothing was changed'), base);
    case StatusCode.ALREADY_EXISTS:
      return new AlreadyExists(say('already exists; nothing was changed'), base);
    case StatusCode.RESOURCE_EXHAUSTED: {
      const retryAfterMs = retryAfterOf(metadata);
      const when = retryAfterMs === undefined ? '' : ` (no sooner than ${retryAfterMs} ms)`;
      return new ResourceExhausted(say(`the member is overloaded; back off and retry${when}`), { ...base, retryAfterMs });
    }
    case StatusCode.ABORTED:
      return new Aborted(say('aborted by the server; nothing was applied'), base);
    case StatusCode.PERMISSION_DENIED:
      return new PermissionDenied(say('permission denied'), base);
    case StatusCode.UNAUTHENTICATED:
      return new Unauthenticated(say('unauthenticated'), base);
    case StatusCode.UNIMPLEMENTED:
      return new Unimplemented(say('not implemented by this member (is it an older server?)'), base);
    case StatusCode.UNKNOWN:
    case StatusCode.INTERNAL:
    case StatusCode.DATA_LOSS:
      return new Internal(say(`server error${write ? '; the write may or may not have been applied' : ''}`), {
        ...base,
        mayHaveApplied: write,
      });
    default:
      // Anything non-standard: Bellwether never sends these; they come from a
      // proxy or a foreign server.
      return new BellwetherError(say(`unexpected status ${statusCodeName(code)}`), { ...base, mayHaveApplied: write });
  }
}
