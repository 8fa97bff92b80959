import type { Entry, NodeId, SnapshotMeta } from './types.js';

/**
 * Messages between Raft peers. Every message carries `from`, `to` and the
 * sender's `term` (for a pre-vote and a granted pre-vote response: the term the
 * candidate would campaign in). Plain objects only, so a transport can encode them.
 */

interface Base {
  from: NodeId;
  to: NodeId;
  term: number;
}

/** Pre-vote (dissertation §9.6): ask whether a vote would be granted, without bumping anyone's term. */
export interface PreVoteMsg extends Base {
  type: 'preVote';
  /** Term of the candidate's last entry. */
  logTerm: number;
  /** Index of the candidate's last entry. */
  index: number;
}

export interface PreVoteRespMsg extends Base {
  type: 'preVoteResp';
  reject: boolean;
}

export interface VoteMsg extends Base {
  type: 'vote';
  logTerm: number;
  index: number;
  /** Set when campaigning because of TimeoutNow: voters ignore their leader lease (§3.10). */
  transfer?: boolean;
}

export interface VoteRespMsg extends Base {
  type: 'voteResp';
  reject: boolean;
}

export interface AppendMsg extends Base {
  type: 'append';
  /** Term of the entry at `index` (the one before `entries`). */
  logTerm: number;
  /** Index of the entry immediately before `entries`. */
  index: number;
  entries: Entry[];
  commit: number;
  /**
   * Set on an empty append that only carries a new `commit` to a follower in
   * replicate state: every entry up to `index` went out on earlier appends,
   * whose answers tell the leader the follower's match. The follower does
   * not answer it when it accepts it; a rejection is still answered.
   */
  commitOnly?: boolean;
}

export interface AppendRespMsg extends Base {
  type: 'appendResp';
  /** On success: the follower's last index that matches the leader. On reject: the rejected `index`. */
  index: number;
  reject: boolean;
  /** On reject: the follower's guess of the last index that may match (fast backtracking). */
  rejectHint: number;
  /** On reject: the follower's term at `rejectHint` (0 if unknown). */
  logTerm: number;
}

export interface HeartbeatMsg extends Base {
  type: 'heartbeat';
  commit: number;
  /** ReadIndex context being confirmed by this round, echoed back in the response. */
  context?: Uint8Array;
}

export interface HeartbeatRespMsg extends Base {
  type: 'heartbeatResp';
  context?: Uint8Array;
}

/**
 * Tells a follower to install the state-machine snapshot described by `snapshot`.
 * The node layer transfers the data out of band and steps this message on the
 * follower once the data is installed.
 */
export interface SnapshotMsg extends Base {
  type: 'snapshot';
  snapshot: SnapshotMeta;
}

/** A follower asks the leader for a read index on behalf of its client. */
export interface ReadIndexMsg extends Base {
  type: 'readIndex';
  context: Uint8Array;
}

export interface ReadIndexRespMsg extends Base {
  type: 'readIndexResp';
  index: number;
  context: Uint8Array;
}

/** Leader → transfer target: start an election now, skipping pre-vote (§3.10). */
export interface TimeoutNowMsg extends Base {
  type: 'timeoutNow';
}

/** A transfer request forwarded to the leader by a follower. */
export interface TransferLeaderMsg extends Base {
  type: 'transferLeader';
  transferee: NodeId;
}

export type Message =
  | PreVoteMsg
  | PreVoteRespMsg
  | VoteMsg
  | VoteRespMsg
  | AppendMsg
  | AppendRespMsg
  | HeartbeatMsg
  | HeartbeatRespMsg
  | SnapshotMsg
  | ReadIndexMsg
  | ReadIndexRespMsg
  | TimeoutNowMsg
  | TransferLeaderMsg;

export type MessageType = Message['type'];

/** Every message type name, in a fixed order (usable as a protobuf enum ordering). */
export const MESSAGE_TYPES: readonly MessageType[] = [
  'preVote',
  'preVoteResp',
  'vote',
  'voteResp',
  'append',
  'appendResp',
  'heartbeat',
  'heartbeatResp',
  'snapshot',
  'readIndex',
  'readIndexResp',
  'timeoutNow',
  'transferLeader',
] as const;

/** Distributes over the union so `Omit` keeps each variant's own fields. */
export type MessageDraft = Message extends infer M ? (M extends Message ? Omit<M, 'from' | 'term'> : never) : never;
