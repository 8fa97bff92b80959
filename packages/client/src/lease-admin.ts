// client.leases: leases by id, for tools and for a process that takes over a
// lease another one granted (etcd's Revoke, TimeToLive, Leases, KeepAlive and
// KeepAliveOnce). Granting stays client.lease(), which keeps what it grants.
import type {
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse__Output,
  LeaseListResponse__Output,
  LeaseRevokeResponse__Output,
  LeaseTimeToLiveResponse__Output,
} from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import type { CallOptions } from './options';
import { DeadlineExceeded, InvalidArgument, NotFound, Unavailable } from './errors';
import type { Lease } from './lease';
import type { ResponseHeader } from './results';

/** A lease as the leader sees it (see {@link LeaseAdmin.timeToLive}). */
export interface LeaseInfo {
  readonly id: number;
  /** Milliseconds left before the leader expires it. */
  readonly remainingMs: number;
  /** The TTL it was granted, in milliseconds. */
  readonly grantedTtlMs: number;
  /** The keys attached to it (only when asked for with `keys: true`). */
  readonly keys: readonly Buffer[];
  readonly header: ResponseHeader;
}

/** One lease in {@link LeaseAdmin.list}. */
export interface LeaseSummary {
  readonly id: number;
  readonly grantedTtlMs: number;
}

/** The outcome of {@link LeaseAdmin.revoke}. */
export interface LeaseRevoked {
  /** How many keys were deleted with the lease. */
  readonly deleted: number;
  /** The revision at which they were deleted. */
  readonly revision: number;
  readonly header: ResponseHeader;
}

/** @internal what the lease calls need of the client. */
interface LeaseAdminDeps {
  revoke(id: number, options: CallOptions): Promise<{ response: LeaseRevokeResponse__Output; header: ResponseHeader }>;
  timeToLive(id: number, keys: boolean, options: CallOptions): Promise<{ response: LeaseTimeToLiveResponse__Output; header: ResponseHeader }>;
  list(options: CallOptions): Promise<LeaseListResponse__Output>;
  /** The leader's address, if known. */
  leader(): string | undefined;
  keepAliveStream(address: string): grpc.ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse__Output>;
  /** Keeps an existing lease alive like one this client granted. */
  adopt(id: number, ttlMs: number, validUntil: number): Lease;
  defaultDeadlineMs: number;
}

/**
 * Leases by id (`bellwether.lease.v1.Lease`). Get it as `client.leases`.
 * Every call goes to the leader, the only member whose lease clocks run.
 */
export class LeaseAdmin {
  readonly #deps: LeaseAdminDeps;

  /** @internal use `client.leases`. */
  constructor(deps: LeaseAdminDeps) {
    this.#deps = deps;
  }

  /**
   * Ends lease `id` now: its keys are deleted in one log entry. Exactly once
   * across retries, like a write.
   * @throws {@link NotFound} when no such lease exists (expired or revoked).
   */
  async revoke(id: number, options: CallOptions = {}): Promise<LeaseRevoked> {
    const { response, header } = await this.#deps.revoke(checkLeaseId(id), options);
    return { deleted: Number(response.deleted), revision: header.revision, header };
  }

  /** Lease `id` as the leader sees it, or `undefined` when it does not exist. With `keys: true`, the keys attached to it. */
  async timeToLive(id: number, options: CallOptions & { keys?: boolean } = {}): Promise<LeaseInfo | undefined> {
    const { response, header } = await this.#deps.timeToLive(checkLeaseId(id), options.keys === true, options);
    const remainingMs = Number(response.ttlMs);
    if (remainingMs < 0) return undefined;
    return { id: Number(response.id), remainingMs, grantedTtlMs: Number(response.grantedTtlMs), keys: response.keys, header };
  }

  /** Every live lease, by id. */
  async list(options: CallOptions = {}): Promise<LeaseSummary[]> {
    const res = await this.#deps.list(options);
    return res.leases.map((l) => ({ id: Number(l.id), grantedTtlMs: Number(l.grantedTtlMs) }));
  }

  /**
   * Renews lease `id` once and resolves with its TTL in milliseconds (the
   * time it has again from now).
   * @throws {@link NotFound} when the lease does not exist.
   * @throws {@link Unavailable} when no leader is known.
   */
  async keepAliveOnce(id: number, options: CallOptions = {}): Promise<number> {
    // Also finds the leader for a client that has just connected (the call is routed to it).
    if (!(await this.timeToLive(id, options))) throw new NotFound(`KeepAlive: lease ${id} does not exist (expired or revoked)`, { method: 'KeepAlive' });
    const leader = this.#deps.leader();
    if (!leader) throw new Unavailable('KeepAlive: no leader is known; retry shortly', { method: 'KeepAlive' });
    const stream = this.#deps.keepAliveStream(leader);
    const deadlineMs = options.deadlineMs ?? this.#deps.defaultDeadlineMs;
    try {
      const ttlMs = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new DeadlineExceeded(`KeepAlive: no answer within ${deadlineMs} ms`, { method: 'KeepAlive' })), deadlineMs);
        const settle = (fn: () => void) => {
          clearTimeout(timer);
          fn();
        };
        stream.once('data', (r: LeaseKeepAliveResponse__Output) => settle(() => resolve(Number(r.ttlMs))));
        stream.once('error', (err: Error) => settle(() => reject(new Unavailable(`KeepAlive: ${err.message}`, { method: 'KeepAlive', cause: err }))));
        stream.once('end', () => settle(() => reject(new Unavailable('KeepAlive: the stream ended without an answer', { method: 'KeepAlive' }))));
        stream.write({ id });
      });
      if (ttlMs === 0) throw new NotFound(`KeepAlive: lease ${id} does not exist (expired or revoked)`, { method: 'KeepAlive' });
      return ttlMs;
    } finally {
      stream.removeAllListeners();
      stream.on('error', () => {});
      stream.cancel();
    }
  }

  /**
   * Keeps lease `id` (granted elsewhere, e.g. by another process or
   * `bwctl lease grant`) alive from this client, like a lease this client
   * granted, until `revoke()`, `lost` or `client.close()`.
   * @throws {@link NotFound} when the lease does not exist.
   */
  async keepAlive(id: number, options: CallOptions = {}): Promise<Lease> {
    const sentAt = Date.now();
    const info = await this.timeToLive(id, options);
    if (!info) throw new NotFound(`lease ${id} does not exist (expired or revoked)`, { method: 'TimeToLive' });
    return this.#deps.adopt(info.id, info.grantedTtlMs, sentAt + info.remainingMs);
  }
}

function checkLeaseId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) throw new InvalidArgument(`id: a lease id is a positive integer, got ${String(id)}`);
  return id;
}
