import type { KeyChange } from './changes';
import type { LeaseChange } from './leases';
import type { WriteResult } from './records';

/**
 * The three narrow seams a Raft driver needs from storage, in the spirit of
 * hashicorp/raft's LogStore/StableStore, FSM and SnapshotStore. The LevelDB
 * implementations (wal/wal-log.ts, state-machine.ts, snapshots.ts) are the only
 * production ones; the node simulator runs them on memory-level and wraps
 * them to inject faults.
 */

/** A Raft log entry as stored (structurally the same as @bellwether/raft's Entry). */
export interface LogEntry {
  index: number;
  term: number;
  type: 'normal' | 'noop' | 'conf';
  data: Uint8Array;
}

export interface HardState {
  term: number;
  vote: string | null;
  commit: number;
}

/** The Raft log and hard state (term, vote, commit). */
export interface LogStore {
  /** Index of the last stored entry (the snapshot index right after a reset; 0 when empty). */
  readonly lastIndex: number;
  loadHardState(): Promise<HardState | undefined>;
  /** The compaction point's meta (opaque here), as last given to compactLog or resetLog. */
  loadSnapshotMeta(): Promise<Uint8Array | undefined>;
  /** Every log entry still stored, in index order. */
  loadLog(): Promise<LogEntry[]>;
  /** Stored log entries in [lo, hi], in index order (fewer if some were compacted away meanwhile). */
  readLog(lo: number, hi: number): Promise<LogEntry[]>;
  /**
   * Appends entries (overwriting any conflicting suffix) and records the hard
   * state, in one batch. With `sync` the batch is on disk before this
   * resolves: Raft may only acknowledge or count entries after that.
   * `inline`: nothing else waits meanwhile (no message is on its way out),
   * so a small write may block the event loop briefly rather than take a
   * thread-pool round trip.
   */
  persist(update: { hardState?: HardState; entries: LogEntry[] }, sync?: boolean, inline?: boolean): Promise<void>;
  /**
   * Drops entries up to and including `upTo` and records the compaction point
   * `snapshot` (the Raft snapshot meta, opaque here). The state covering the
   * dropped entries is made durable first; compacting past the applied index
   * is refused.
   */
  compactLog(upTo: number, snapshot: Uint8Array): Promise<void>;
  /** Raft restored a snapshot at `snapshotIndex`: the whole stored log is superseded. */
  resetLog(snapshot: Uint8Array, snapshotIndex: number): Promise<void>;
}

export interface ApplyOutcome {
  /** Results of the 'normal' entries, by log index. */
  results: Map<number, WriteResult>;
  appliedIndex: number;
  /** Every key change, in revision order (empty unless the store tracks changes). */
  changes: KeyChange[];
  /** Leases granted and revoked (or expired), in order. */
  leases: LeaseChange[];
}

/** The replicated state machine as the driver sees it: committed entries go in, results come out. */
export interface StateMachine {
  readonly appliedIndex: number;
  /**
   * Applies the entries past the applied index in one atomic batch, together
   * with `meta` (node metadata that must move in step with the state, e.g.
   * the member list). Without `sync` the batch is not fsynced: the log
   * replays it after a crash.
   *
   * `answer`, when given, gets the entries' results as soon as they are
   * computed, before the batch is written, when the batch changes only keys
   * and sessions: the entries are committed (the log holds them durably), so
   * a writer may be answered then; the applied index, and every read gated
   * on it, moves only once the batch is in. A batch that changes auth or
   * leases does not call it (the member must know the change before its
   * writer hears of it): take the results from the outcome.
   */
  apply(entries: LogEntry[], meta?: Record<string, Uint8Array>, sync?: boolean, answer?: (results: Map<number, WriteResult>) => void): Promise<ApplyOutcome>;
}

export interface SnapshotReader {
  /** The applied index the pinned state corresponds to. */
  appliedIndex: number;
  chunks(): AsyncGenerator<Buffer>;
}

export interface SnapshotInstaller {
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the installed state current at `appliedIndex`; false (and nothing changes) if the local state is already as new. */
  finish(appliedIndex: number, meta: Record<string, Uint8Array>): Promise<boolean>;
  abort(): Promise<void>;
}

/** State snapshots: read the current state out in chunks, install a leader's in its place. */
export interface SnapshotStore {
  /**
   * Pins the current state and returns a reader of it. Call it while no
   * apply is in flight: the state it pins is exactly the state at its
   * `appliedIndex`. A chunk never exceeds `maxChunkBytes` unless one record
   * alone does.
   */
  snapshotReader(maxChunkBytes?: number): SnapshotReader;
  /** Starts installing a snapshot beside the current state, which keeps serving until `finish` swaps them. */
  beginSnapshotInstall(): Promise<SnapshotInstaller>;
}

/** What a Raft driver (the node's Replica) takes: the three seams, usually of one Store. */
export interface ReplicaStorage {
  readonly log: LogStore;
  readonly stateMachine: StateMachine;
  readonly snapshots: SnapshotStore;
}
