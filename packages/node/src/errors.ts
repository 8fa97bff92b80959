import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { LEADER_ADDRESS_METADATA, LEADER_ID_METADATA } from '@bellwether/proto';
import { type LeaderHint, NotLeader, Overloaded, ReplicaError, Unavailable } from './replica-errors';

export type { LeaderHint } from './replica-errors';

/** An error a handler throws; the service layer sends it as the gRPC status. */
export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
    readonly metadata: Metadata = new Metadata(),
  ) {
    super(message);
  }

  toServiceError(): Partial<ServiceError> {
    return { code: this.code, details: this.message, metadata: this.metadata };
  }
}

function hintMetadata(leader: LeaderHint | undefined): Metadata {
  const md = new Metadata();
  if (leader) {
    md.set(LEADER_ID_METADATA, leader.id);
    md.set(LEADER_ADDRESS_METADATA, leader.address);
  }
  return md;
}

export const invalidArgument = (message: string) => new RpcError(status.INVALID_ARGUMENT, message);

/** A write on a non-leader: FAILED_PRECONDITION naming the leader, or UNAVAILABLE when none is known. */
export function notLeader(memberId: string, leader: LeaderHint | undefined): RpcError {
  return replicaRpcError(new NotLeader(memberId, leader));
}

export function unavailable(message: string, leader?: LeaderHint): RpcError {
  return new RpcError(status.UNAVAILABLE, message, hintMetadata(leader));
}

export const notFound = (message: string) => new RpcError(status.NOT_FOUND, message);

export const alreadyExists = (message: string) => new RpcError(status.ALREADY_EXISTS, message);

export const failedPrecondition = (message: string) => new RpcError(status.FAILED_PRECONDITION, message);

export const resourceExhausted = (message: string) => new RpcError(status.RESOURCE_EXHAUSTED, message);

export const deadlineExceeded = (message: string) => new RpcError(status.DEADLINE_EXCEEDED, message);

/** The status of a replica's refusal: the leader hint travels as metadata. */
function replicaRpcError(err: ReplicaError): RpcError {
  if (err instanceof NotLeader) return new RpcError(err.leader ? status.FAILED_PRECONDITION : status.UNAVAILABLE, err.message, hintMetadata(err.leader));
  if (err instanceof Overloaded) return new RpcError(status.RESOURCE_EXHAUSTED, err.message);
  if (err instanceof Unavailable) return new RpcError(status.UNAVAILABLE, err.message, hintMetadata(err.leader));
  return new RpcError(status.INTERNAL, err.message);
}

/** The node's domain errors as the RpcError a service sends; anything else as it is. */
export function toRpcError(err: unknown): unknown {
  return err instanceof ReplicaError ? replicaRpcError(err) : err;
}

/** Converts anything thrown by a handler into what grpc-js sends. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof ReplicaError) return replicaRpcError(err).toServiceError();
  if (err instanceof RpcError) return err.toServiceError();
  return { code: status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}
