/**
 * Plain data shapes shared by the Raft core and its callers. Everything here is
 * serializable (no classes, no functions) so a transport or a store can encode it.
 */

export type NodeId = string;

export type EntryType = 'normal' | 'noop' | 'conf';

/** One log entry. For `conf` entries `data` is an encoded {@link ConfChange}. */
export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  data: Uint8Array;
  /**
   * Set only on entries the log hands out after evicting their data from
   * memory (see `RaftConfig.maxLogMemoryBytes`): `data` is empty here and held
   * this many bytes. The caller reads the data back from its own storage (by
   * index) before the entry leaves in a message.
   */
  evictedBytes?: number;
}

/**
 * `memberMetadata` changes no voter or learner: it only carries node-layer
 * data about members in `context` (e.g. which incarnation of a member's disk
 * the cluster knows), so that data is replicated and ordered with the log.
 */
export type ConfChangeKind = 'addVoter' | 'addLearner' | 'promoteLearner' | 'removeNode' | 'memberMetadata';

/** A single-server membership change (dissertation §4.1): one voter at a time. */
export interface ConfChange {
  kind: ConfChangeKind;
  nodeId: NodeId;
  /** Opaque to raft (e.g. the node's address); carried in the log for the node layer. */
  context?: Uint8Array;
}

export interface ClusterConfig {
  voters: NodeId[];
  learners: NodeId[];
}

/** What must be durable before any message of the same Ready is sent. */
export interface HardState {
  term: number;
  vote: NodeId | null;
  commit: number;
}

/** Describes the state-machine snapshot at a compaction point; the data itself never passes through raft. */
export interface SnapshotMeta {
  index: number;
  term: number;
  config: ClusterConfig;
}

export type Role = 'follower' | 'candidate' | 'preCandidate' | 'leader';

export interface SoftState {
  leaderId: NodeId | null;
  role: Role;
  term: number;
}

/** A ReadIndex result: once `applied >= index`, a read issued with `ctx` may be served linearizably. */
export interface ReadState {
  index: number;
  ctx: Uint8Array;
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  /** Append messages sent and not yet acknowledged. */
  inflight: number;
  recentActive: boolean;
  /** Only meaningful in `snapshot` state: the index of the snapshot being sent. */
  pendingSnapshot: number;
  isLearner: boolean;
}

export interface Status {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId | null;
  leaderId: NodeId | null;
  commit: number;
  applied: number;
  lastIndex: number;
  /** Index of the last compaction point (the snapshot the log starts after). */
  firstIndex: number;
  /** Size of the log after the compaction point (entrySizeBytes of each entry). */
  logBytes: number;
  /** Bytes of entry data the log holds in memory (bounded by maxLogMemoryBytes once applied). */
  logMemoryBytes: number;
  config: ClusterConfig;
  /** Set during a leadership transfer on the leader. */
  leadTransferee: NodeId | null;
  /** Only on the leader. */
  progress?: Record<NodeId, ProgressStatus>;
}
