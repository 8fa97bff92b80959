export { RawNode } from './raft.js';
export type { InitialState, RaftConfig } from './raft.js';
export type { Ready } from './ready.js';
export * from './types.js';
export * from './messages.js';
export {
  RaftError,
  NotLeaderError,
  ConfigError,
  ConfChangeError,
  UsageError,
  InvariantError,
} from './errors.js';
export {
  encodeConfChange,
  decodeConfChange,
  applyConfChange,
  checkConfChange,
  isVoter,
  isLearner,
  isMember,
} from './confchange.js';
export { majority } from './quorum.js';
export { Rng } from './rng.js';
