// The membership fault: replace one member in place, as an operator replaces
// a failed one (docs/operations.md): RemoveMember on the leader (which hands
// leadership over first if it removes itself), stop the node, wipe its data
// dir, AddMember it back as a learner at the same address, start it empty with
// --initial-cluster-state existing; healing promotes it once it has caught up.
import { mkdirSync, rmSync } from 'node:fs';
import { clientsFor, type NodeProcess, waitFor } from '@bellwether/integration/cluster';
import { unary } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';

const CALL_DEADLINE_MS = 5000;
const STEP_TIMEOUT_MS = 30_000;
const PROMOTE_TIMEOUT_MS = 60_000;

export interface MemberFaultContext {
  /** The node that leads now, if any. */
  leader(): Promise<NodeProcess | undefined>;
}

/** A Cluster call on whichever node leads, retried across leader changes until it succeeds or `refused` says stop. */
async function onLeader(ctx: MemberFaultContext, method: string, req: object, timeoutMs: number, refused: (e: grpc.ServiceError) => boolean = () => false): Promise<'ok' | 'refused'> {
  return waitFor(
    async () => {
      const leader = await ctx.leader();
      if (!leader) return undefined;
      try {
        await unary(clientsFor(leader.address).cluster as unknown as grpc.Client, method, req, CALL_DEADLINE_MS);
        return 'ok' as const;
      } catch (err) {
        return refused(err as grpc.ServiceError) ? ('refused' as const) : undefined;
      }
    },
    timeoutMs,
    `${method} ${JSON.stringify(req)} succeeds`,
  );
}

/**
 * Removes `node` and adds it back empty; resolves with the heal (promotion),
 * or undefined when the cluster refused the removal (no quorum of members up
 * without it) — then nothing changed.
 */
export async function replaceMember(ctx: MemberFaultContext, node: NodeProcess): Promise<(() => Promise<void>) | undefined> {
  const quorumRefusal = (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION && /would leave|last voter|no other voter/.test(e.details ?? '');
  if ((await onLeader(ctx, 'RemoveMember', { id: node.id }, STEP_TIMEOUT_MS, quorumRefusal)) === 'refused') return undefined;
  await node.stop();
  rmSync(node.dataDir, { recursive: true, force: true });
  mkdirSync(node.dataDir, { recursive: true });
  await onLeader(ctx, 'AddMember', { id: node.id, peerAddress: node.address }, STEP_TIMEOUT_MS, (e) => e.code === grpc.status.ALREADY_EXISTS);
  node.start(['--initial-cluster-state', 'existing']);
  return async () => {
    await onLeader(ctx, 'PromoteMember', { id: node.id }, PROMOTE_TIMEOUT_MS);
  };
}
