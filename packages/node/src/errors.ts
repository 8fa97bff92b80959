import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { LEADER_ADDRESS_METADATA, LEADER_ID_METADATA } from '@bellwether/proto';

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

export interface LeaderHint {
  id: string;
  address: string;
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
  if (!leader) return new RpcError(status.UNAVAILABLE, `member ${memberId} is not the leader and no leader is known yet; retry shortly`);
  return new RpcError(
    status.FAILED_PRECONDITION,
    `member ${memberId} is not the leader; send writes to leader ${leader.id} at ${leader.address}`,
    hintMetadata(leader),
  );
}

export function unavailable(message: string, leader?: LeaderHint): RpcError {
  return new RpcError(status.UNAVAILABLE, message, hintMetadata(leader));
}

export const notFound = (message: string) => new RpcError(status.NOT_FOUND, message);

export const alreadyExists = (message: string) => new RpcError(status.ALREADY_EXISTS, message);

export const failedPrecondition = (message: string) => new RpcError(status.FAILED_PRECONDITION, message);

export const resourceExhausted = (message: string) => new RpcError(status.RESOURCE_EXHAUSTED, message);

export const deadlineExceeded = (message: string) => new RpcError(status.DEADLINE_EXCEEDED, message);

/** Converts anything thrown by a handler into what grpc-js sends. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof RpcError) return err.toServiceError();
  return { code: status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}
