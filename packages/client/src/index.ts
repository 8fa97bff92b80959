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
export type { AuthOptions } from './auth';
export { AuthAdmin, type AuthChange, type PermissionInfo, type PermissionKeys, type PermissionType } from './auth-admin';
export type { Pem, TlsOptions } from './tls';
export { BellwetherClient, connect } from './client';
export type { ClientEventListener, ClientEventMap, ClientEventName } from './events';
export {
  type CallOptions,
  type ClientLogger,
  type ClientOptions,
  type CompareAndSwapOptions,
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
  type SessionOptions,
} from './options';
export { Session } from './session';
export type { AddMemberOptions } from './membership';
export {
  Aborted,
  AlreadyExists,
  BellwetherError,
  type BellwetherErrorOptions,
  Cancelled,
  DeadlineExceeded,
  type ErrorMetadata,
  FailedPrecondition,
  Internal,
  InvalidArgument,
  type LeaderHint,
  NotFound,
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
export {
  EndpointClient,
  type EndpointCallOptions,
  type EndpointClientOptions,
  type MemberDescription,
  type SavedSnapshot,
  verifySnapshotFile,
} from './endpoint';
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
  MembershipChange,
  PutResult,
  RangePage,
  ResponseHeader,
  SwapFailed,
  SwapResult,
  SwapSucceeded,
} from './results';
export type { LoadBalancing } from './routing';
export {
  cmp,
  type CompareOperator,
  op,
  TxnBuilder,
  type TxnCommitOptions,
  type TxnCondition,
  type TxnDeleteResult,
  type TxnGetResult,
  type TxnOperation,
  type TxnOpResult,
  type TxnPutResult,
  type TxnRangeResult,
  type TxnRangeSelector,
  type TxnResult,
  type TxnResults,
} from './txn';
export { Compacted, type WatchEvent, type WatchOptions, type WatchSelector } from './watch';
export { Lease, type LeaseLostEvent, type LeaseOptions } from './lease';
export { LeaseAdmin, type LeaseInfo, type LeaseRevoked, type LeaseSummary } from './lease-admin';
export { type CampaignOptions, Election, type ElectionLeader, type LockHandle, type LockOptions } from './recipes';
export { DEAD_MEMBER_NOTICE_MS, SILENT_MEMBER_NOTICE_MS } from './tracker-settings';
export { KEEPALIVE_TIME_MS, KEEPALIVE_TIMEOUT_MS } from './member';
