// bellwether.lease.v1.Lease at the edge: checks, proposals for grants and
// revocations, and the leader's clocks for keep-alives.
import type {
  LeaseGrantRequest__Output,
  LeaseGrantResponse,
  LeaseHandlers,
  LeaseKeepAliveRequest__Output,
  LeaseKeepAliveResponse,
  LeaseListResponse,
  LeaseRevokeRequest__Output,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest__Output,
  LeaseTimeToLiveResponse,
} from '@bellwether/proto';
import { type ServerDuplexStream, status } from '@grpc/grpc-js';
import { invalidArgument, RpcError, toServiceError } from '../errors';
import { checkRefused, header, type KvContext, unary } from '../kv-service';
import { checkRevision, checkSession } from '../validate';
import type { LeaseManager } from './manager';

export const MIN_LEASE_TTL_MS = 100;
export const MAX_LEASE_TTL_MS = 24 * 60 * 60 * 1000;

const seconds = (ms: number) => Math.ceil(ms / 1000);

export function leaseService(ctx: KvContext, leases: LeaseManager): LeaseHandlers {
  return {
    Grant: unary(async (r: LeaseGrantRequest__Output): Promise<LeaseGrantResponse> => {
      const ttlMs = Number(r.ttlMs) || Number(r.ttl) * 1000;
      if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_LEASE_TTL_MS || ttlMs > MAX_LEASE_TTL_MS) {
        throw invalidArgument(`ttl_ms: must be ${MIN_LEASE_TTL_MS}..${MAX_LEASE_TTL_MS} ms (or ttl in seconds), got ${ttlMs}`);
      }
      const id = Number(r.id);
      checkRevision('id', id);
      const sequence = Number(r.sequence);
      checkSession(r.clientId, sequence);
      const result = await ctx.replica.propose({ op: 'lease-grant', id, ttlMs, clientId: r.clientId, sequence, minUnackedSequence: Number(r.minUnackedSequence) });
      checkRefused(result, r.clientId, sequence);
      if (!result.succeeded) throw new RpcError(status.ALREADY_EXISTS, `lease ${id} already exists; grant another id, or 0 to let the server pick`);
      return { header: header(ctx, result.revision), id: id || result.revision, ttl: seconds(ttlMs), ttlMs };
    }),

    Revoke: unary(async (r: LeaseRevokeRequest__Output): Promise<LeaseRevokeResponse> => {
      const id = Number(r.id);
      if (!Number.isSafeInteger(id) || id <= 0) throw invalidArgument(`id: must be a lease id > 0, got ${id}`);
      const sequence = Number(r.sequence);
      checkSession(r.clientId, sequence);
      const result = await ctx.replica.propose({ op: 'lease-revoke', id, clientId: r.clientId, sequence, minUnackedSequence: Number(r.minUnackedSequence) });
      checkRefused(result, r.clientId, sequence);
      if (!result.succeeded) throw new RpcError(status.NOT_FOUND, `lease ${id} not found (expired or revoked)`);
      return { header: header(ctx, result.revision), deleted: result.deleted };
    }),

    KeepAlive: (stream: ServerDuplexStream<LeaseKeepAliveRequest__Output, LeaseKeepAliveResponse>) => {
      // Answers go out in request order, each only once a quorum has confirmed this member still
      // leads (a read index): a deposed leader that has not noticed yet must not confirm a
      // keep-alive the new leader never saw, or the holder would count on time it does not have.
      let answered: Promise<void> = Promise.resolve();
      stream.on('data', (r: LeaseKeepAliveRequest__Output) => {
        const id = Number(r.id);
        let ttlMs: number;
        try {
          ttlMs = leases.keepAlive(id);
        } catch (err) {
          stream.emit('error', toServiceError(err));
          return;
        }
        const confirmed = ctx.replica.readIndex();
        answered = answered.then(() =>
          confirmed.then(
            () => {
              stream.write({ header: header(ctx), id, ttl: seconds(ttlMs), ttlMs });
            },
            (err: unknown) => {
              stream.emit('error', toServiceError(err));
            },
          ),
        );
      });
      stream.on('end', () => stream.end());
      stream.on('error', () => {});
    },

    TimeToLive: unary(async (r: LeaseTimeToLiveRequest__Output): Promise<LeaseTimeToLiveResponse> => {
      const id = Number(r.id);
      const t = leases.timeToLive(id);
      if (!t) return { header: header(ctx), id, ttlMs: -1, grantedTtlMs: 0, keys: [] };
      return { header: header(ctx), id, ttlMs: t.leftMs, grantedTtlMs: t.ttlMs, keys: r.keys ? await ctx.store.leaseKeys(id) : [] };
    }),

    List: unary(async (): Promise<LeaseListResponse> => ({
      header: header(ctx),
      leases: leases.list().map((l) => ({ id: l.id, grantedTtlMs: l.ttlMs })),
    })),
  };
}
