// Cluster.TransferLeadership at the edge: checks the request, runs the
// transfer (leadership.ts) and maps its outcome to gRPC statuses.
import type { TransferLeadershipRequest__Output, TransferLeadershipResponse } from '@bellwether/proto';
import { type sendUnaryData, type ServerUnaryCall, status } from '@grpc/grpc-js';
import { invalidArgument, notLeader, RpcError, toServiceError } from './errors';
import { TransferFailed, TransferRefused, transferLeadership, transferTarget } from './leadership';
import type { Replica } from './replica';

export interface TransferContext {
  replica: Replica;
  /** Milliseconds since a message from a peer last arrived. */
  lastContactMs(id: string): number | undefined;
  electionTimeoutMs: number;
}

/** Longest the call waits for the target to take over (the caller's deadline may cut it shorter). */
export function transferBoundMs(electionTimeoutMs: number): number {
  return Math.max(2000, electionTimeoutMs * 10);
}

function toRpcError(err: unknown, replica: Replica): unknown {
  if (err instanceof TransferRefused) {
    switch (err.kind) {
      case 'not-leader':
        return notLeader(replica.memberId, replica.leaderHint());
      case 'unknown-member':
        return new RpcError(status.NOT_FOUND, err.message);
      default:
        return new RpcError(status.FAILED_PRECONDITION, err.message);
    }
  }
  if (err instanceof TransferFailed) return new RpcError(status.ABORTED, err.message);
  return err;
}

export function transferLeadershipHandler(ctx: TransferContext) {
  return (call: ServerUnaryCall<TransferLeadershipRequest__Output, TransferLeadershipResponse>, callback: sendUnaryData<TransferLeadershipResponse>) => {
    const { replica } = ctx;
    const targetId = call.request.targetId ?? '';
    if (targetId.length > 63) {
      callback(toServiceError(invalidArgument('target_id: at most 63 characters')));
      return;
    }
    const contact = { lastContactMs: ctx.lastContactMs, recentContactMs: ctx.electionTimeoutMs * 2 };
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
    const boundMs = Math.min(transferBoundMs(ctx.electionTimeoutMs), Number.isFinite(deadlineMs) ? Math.max(1, deadlineMs - Date.now()) : Number.POSITIVE_INFINITY);
    let target: string;
    try {
      target = transferTarget(replica, targetId, contact);
    } catch (err) {
      callback(toServiceError(toRpcError(err, replica)));
      return;
    }
    transferLeadership(replica, target, { timeoutMs: boundMs, ...contact }).then(
      ({ leaderId, term }) => {
        const address = replica.memberList().find((m) => m.id === leaderId)?.address ?? '';
        callback(null, { leaderId, leaderAddress: address, term });
      },
      (err: unknown) => callback(toServiceError(toRpcError(err, replica))),
    );
  };
}
