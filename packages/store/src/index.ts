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
export { Reader, readU64be, u64be, Writer } from './codec';
export { prefixEnd } from './keys';
export {
  type Command,
  decodeCommand,
  encodeCommand,
  type KeyValueRecord,
  type SessionRecord,
  type WriteResult,
} from './records';
export {
  type ApplyOutcome,
  type HardState,
  type LogEntry,
  type RangeQuery,
  SESSION_EXPIRY_ENTRIES,
  SESSION_RESULTS_KEPT,
  type SnapshotInstaller,
  type SnapshotReader,
  Store,
} from './store';
