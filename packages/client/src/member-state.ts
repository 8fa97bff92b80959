// The client's state for one member of the cluster, as the tracker
// (tracker.ts) keeps it and routing reads it.
import type { LeaderEvent__Output, StatusResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';

/** Whether the client can reach a member: not yet known, answering, or not answering. */
export type MemberHealth = 'unknown' | 'up' | 'down';

/** Where the leader is, as the client knows it. */
export interface LeaderInfo {
  /** The leader's member id. */
  readonly id: string;
  /** Its `host:port`, when known. */
  readonly address: string | undefined;
  /** The Raft term it leads in (the highest term the client has seen). */
  readonly term: number;
  /**
   * Learned from a NOT_LEADER hint, which carries no term: any member's
   * report of a leader in the same term replaces it.
   */
  readonly tentative?: boolean;
}

/** The client's state for one member (internal, mutable). */
export class MemberState {
  id: string | undefined;
  voter = true;
  /** Listed by the last Members answer. */
  listed = false;
  health: MemberHealth = 'unknown';
  lastContactAt: number | undefined;
  appliedIndex = 0;
  term = 0;
  rttMs: number | undefined;
  outstanding = 0;
  leaderContactAgeMs: number | undefined;
  lastError: string | undefined;
  /** Consecutive failed probes. */
  probeFailures = 0;
  /** When (performance.now()) it last confirmed it leads, for writes waiting on it (confirmLeader). */
  confirmedLeaderAt = Number.NEGATIVE_INFINITY;
  /** The Status question in flight, shared by probes and by the writes waiting on confirmLeader. */
  asking: Promise<StatusResponse__Output> | undefined;
  /** When it last refused a read (behind the session index, too stale, no leader): `Date.now()` ms. */
  refusedReadAt = 0;
  /** Answered with another cluster's id: never used. */
  foreign = false;
  /** Answered with this client's cluster id at least once (its WatchLeader events count from then on). */
  clusterChecked = false;
  /** A WatchLeader event that came before the member's cluster was checked. */
  pendingEvent: LeaderEvent__Output | undefined;
  removed = false;
  watch: grpc.ClientReadableStream<LeaderEvent__Output> | undefined;
  probeTimer: NodeJS.Timeout | undefined;
  probing = false;
  /** The delay before the next probe of a down member (doubles while it stays down). */
  downProbeMs = 0;
  /** Stops following the member's connection state. */
  unwatchConnection: (() => void) | undefined;

  constructor(
    readonly address: string,
    readonly seed: boolean,
  ) {}

  /** Usable for routing: not known down, not another cluster's. */
  get usable(): boolean {
    return this.health !== 'down' && !this.foreign && !this.removed;
  }
}
