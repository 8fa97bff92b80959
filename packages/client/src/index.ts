/**
 * `@bellwether/client`: the SDK for Bellwether, a replicated key-value store.
 *
 * ```ts
 * import { connect } from '@bellwether/client';
 * const client = await connect({ endpoints: ['127.0.0.1:7001'] });
 * ```
 *
 * @packageDocumentation
 */
export { type Bytes, MAX_KEY_BYTES } from './bytes';
export {
  BellwetherClient,
  type CallOptions,
  type ClientEventListener,
  type ClientEventMap,
  type ClientEventName,
  type ClientLogger,
  type ClientOptions,
  type CompareAndSwapOptions,
  connect,
  DEFAULT_DEADLINE_MS,
  DEFAULT_READ_MODE,
  type DeleteOptions,
  type GetOptions,
  type PutOptions,
  type RangeOptions,
  type RangeSelector,
  type ReadMode,
  type ReadOptions,
  type ScanOptions,
  Session,
  type SessionOptions,
} from './client';
export {
  Aborted,
  BellwetherError,
  type BellwetherErrorOptions,
  Cancelled,
  DeadlineExceeded,
  type ErrorMetadata,
  FailedPrecondition,
  Internal,
  InvalidArgument,
  type LeaderHint,
  NotLeader,
  OutcomeUnknown,
  PermissionDenied,
  ResourceExhausted,
  StatusCode,
  type StatusCodeName,
  statusCodeName,
  Unauthenticated,
  Unavailable,
  Unimplemented,
} from './errors';
export type { Transport } from './member';
export type {
  ClusterMember,
  ClusterMembers,
  ClusterView,
  DeleteResult,
  FollowerProgress,
  GetResult,
  KeyValue,
  LeaderChangeEvent,
  LeadershipTransfer,
  MemberEvent,
  MemberRole,
  MemberState,
  MemberStatus,
  MemberView,
  PutResult,
  RangePage,
  ResponseHeader,
  SwapFailed,
  SwapResult,
  SwapSucceeded,
} from './results';
export type { LoadBalancing } from './routing';
export { DEAD_MEMBER_NOTICE_MS, SILENT_MEMBER_NOTICE_MS } from './tracker';
export { KEEPALIVE_TIME_MS, KEEPALIVE_TIMEOUT_MS } from './member';
