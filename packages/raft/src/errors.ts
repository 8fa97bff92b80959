import type { NodeId } from './types.js';

/** Base class so callers can catch every raft error with one `instanceof`. */
export class RaftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The proposal was not accepted because this node is not the leader, or the
 * leader is handing leadership over. Nothing was appended; retry on `leaderId`
 * (when known).
 */
export class NotLeaderError extends RaftError {
  readonly leaderId: NodeId | null;
  readonly reason: 'notLeader' | 'transferring';
  constructor(leaderId: NodeId | null, reason: 'notLeader' | 'transferring' = 'notLeader') {
    super(
      reason === 'transferring'
        ? `leadership is being transferred to ${leaderId ?? 'another node'}; retry there shortly`
        : `not the leader; ${leaderId === null ? 'leader unknown, retry later' : `retry on ${leaderId}`}`,
    );
    this.leaderId = leaderId;
    this.reason = reason;
  }
}

/** The configuration passed to the constructor is unsafe or inconsistent. */
export class ConfigError extends RaftError {}

/** A membership change was refused; the configuration is unchanged. */
export class ConfChangeError extends RaftError {}

/** An argument violates the API contract (e.g. compacting beyond the applied index). */
export class UsageError extends RaftError {}

/** An internal invariant does not hold: a bug in raft (or corrupted input). */
export class InvariantError extends RaftError {}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
