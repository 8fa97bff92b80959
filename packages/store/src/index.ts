export {
  type AuthCommand,
  type AuthState,
  authCommandRefusal,
  emptyAuthState,
  type KeyPermission,
  type PermissionType,
  ROOT,
  type UserRecord,
} from './auth-state';
export { storeIoCounts } from './batch-counts';
export { Reader, readU64be, u64be, Writer } from './codec';
export { type DeferredValue, type KeyChange, keyChange, releaseChanges } from './changes';
export { prefixEnd } from './keys';
export type { StoreDatabase } from './database';
export { DEFAULT_RANGE_PAGE_BYTES, TXN_RANGE_BYTES } from './range-page';
export { SESSION_EXPIRE_BATCH, type SessionExpireCommand } from './session-expiry';
export {
  type Command,
  decodeCommand,
  encodeCommand,
  type KeyValueRecord,
  type SessionRecord,
  type WriteResult,
} from './records';
export { DEFAULT_MAX_OPEN_FILES, MAX_OPEN_FILES_RANGE, Store, type StoreOpenOptions } from './store';
export { MemoryWalFiles, NodeWalFiles, type WalFile, type WalFiles } from './wal/wal-files';
export type {
  ApplyOutcome,
  HardState,
  LogEntry,
  LogStore,
  ReplicaStorage,
  SnapshotInstaller,
  SnapshotReader,
  SnapshotStore,
  StateMachine,
} from './storage-interfaces';
export type { RangeQuery } from './kv-reads';
export { SESSION_EXPIRY_ENTRIES, SESSION_PREV_VALUE_KEPT_BYTES, SESSION_RESULTS_KEPT, SESSION_RESULTS_KEPT_BYTES } from './sessions';
export type { CompareOp, CompareTarget, TxnCommand, TxnCompare, TxnOp, TxnOpResult } from './txn';
export type { LeaseChange, LeaseCommand, LeaseRecord } from './leases';
