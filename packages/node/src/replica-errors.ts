/**
 * What the replica refuses with, as domain errors: the replica knows nothing
 * of gRPC; the services map these to status codes and metadata at the edge
 * (errors.ts, toRpcError). Each says what happened and what the caller can do.
 */

/** Where the leader serves clients, when this member knows. */
export interface LeaderHint {
  id: string;
  address: string;
}

export abstract class ReplicaError extends Error {
  constructor(
    message: string,
    /** The leader to go to instead, when known. */
    readonly leader?: LeaderHint,
  ) {
    super(message);
  }
}

/** Writes (and membership changes) go to the leader; this member is not it. */
export class NotLeader extends ReplicaError {
  constructor(memberId: string, leader: LeaderHint | undefined) {
    super(
      leader
        ? `member ${memberId} is not the leader; send writes to leader ${leader.id} at ${leader.address}`
        : `member ${memberId} is not the leader and no leader is known yet; retry shortly`,
      leader,
    );
  }
}

/** Too much is already waiting on this member: back off and retry. */
export class Overloaded extends ReplicaError {}

/**
 * The request could not be served now and did not take effect (the member
 * stopped, leadership changed before a write committed, a read index was not
 * confirmed): retry, here or at the leader named.
 */
export class Unavailable extends ReplicaError {}
