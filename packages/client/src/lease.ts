// client.lease(): a lease that keeps itself alive. Keep-alives go to the
// leader (the only member with lease clocks) on one KeepAlive stream, every
// third of the TTL, reopened on the current leader when it breaks. The lease
// counts as lost once no keep-alive has been confirmed for a whole TTL since
// it was sent (the server may have expired it by then), or as soon as the
// leader says it no longer exists.
import type { LeaseKeepAliveRequest, LeaseKeepAliveResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { InvalidArgument } from './errors';

/** Options of {@link BellwetherClient.lease}. */
export interface LeaseOptions {
  /** The lease's time to live in milliseconds: 100 .. 86 400 000. */
  ttlMs: number;
  /** Cancels the grant. */
  signal?: AbortSignal;
  deadlineMs?: number;
}

/** Why a lease was lost. */
export interface LeaseLostEvent {
  readonly id: number;
  readonly reason: string;
}

/** @internal what a lease needs of the client. */
interface LeaseDeps {
  /** The leader's address, if known. */
  leader(): string | undefined;
  keepAlive(address: string): grpc.ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse__Output>;
  revoke(id: number): Promise<void>;
}

export const MIN_LEASE_TTL_MS = 100;
export const MAX_LEASE_TTL_MS = 24 * 60 * 60 * 1000;

export function checkTtl(ttlMs: unknown): number {
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < MIN_LEASE_TTL_MS || ttlMs > MAX_LEASE_TTL_MS) {
    throw new InvalidArgument(`ttlMs: must be an integer in ${MIN_LEASE_TTL_MS}..${MAX_LEASE_TTL_MS}, got ${String(ttlMs)}`);
  }
  return ttlMs;
}

/**
 * A granted lease, kept alive until {@link Lease.revoke} (or until the
 * client closes). Attach keys with `client.put(key, value, { lease })`: they
 * are deleted when the lease ends. Listen for `lost`: after it the keys may
 * be gone and the lease cannot be renewed.
 */
export class Lease {
  /** The lease's id (pass it, or the Lease, as `PutOptions.lease`). */
  readonly id: number;
  /** The granted time to live. */
  readonly ttlMs: number;
  readonly #deps: LeaseDeps;
  readonly #listeners = new Set<(e: LeaseLostEvent) => void>();
  #stream: grpc.ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse__Output> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** When the oldest unconfirmed keep-alive (or the grant) was sent: the server's clock started no earlier. */
  #confirmedFrom: number;
  readonly #pending: number[] = [];
  #ended: 'lost' | 'revoked' | undefined;

  /** @internal use `client.lease()`. */
  constructor(id: number, ttlMs: number, grantedAt: number, deps: LeaseDeps) {
    this.id = id;
    this.ttlMs = ttlMs;
    this.#deps = deps;
    this.#confirmedFrom = grantedAt;
    this.#tick();
  }

  /**
   * `Date.now()` until which the lease is surely still held: a TTL after the
   * last keep-alive the leader confirmed was sent (the leader restarted its
   * clock no earlier). Work that needs the lease should stop by then.
   */
  get validUntil(): number {
    return this.#confirmedFrom + this.ttlMs;
  }

  /** Whether the lease was lost (or revoked): it is no longer kept alive. */
  get ended(): boolean {
    return this.#ended !== undefined;
  }

  /** Calls `listener` once the lease is lost (expired on the server, or not renewable in time). */
  on(event: 'lost', listener: (e: LeaseLostEvent) => void): this {
    if (event !== 'lost') throw new InvalidArgument(`event: a Lease emits only 'lost', got ${JSON.stringify(event)}`);
    this.#listeners.add(listener);
    return this;
  }

  off(event: 'lost', listener: (e: LeaseLostEvent) => void): this {
    if (event === 'lost') this.#listeners.delete(listener);
    return this;
  }

  /** A promise that resolves when the lease is lost. */
  whenLost(): Promise<LeaseLostEvent> {
    return new Promise((resolve) => this.on('lost', resolve));
  }

  /** Ends the lease now: its keys are deleted (one log entry). Safe to call twice. */
  async revoke(): Promise<void> {
    if (this.#ended === 'revoked') return;
    const wasLost = this.#ended === 'lost';
    this.#stop('revoked');
    if (wasLost) return;
    await this.#deps.revoke(this.id);
  }

  /** @internal stops keeping it alive (the client closes). */
  close(): void {
    this.#stop('revoked');
  }

  #stop(how: 'lost' | 'revoked'): void {
    this.#ended ??= how;
    clearTimeout(this.#timer);
    const s = this.#stream;
    this.#stream = undefined;
    s?.removeAllListeners();
    s?.on('error', () => {});
    s?.cancel();
  }

  #lose(reason: string): void {
    if (this.#ended) return;
    this.#stop('lost');
    for (const l of [...this.#listeners]) {
      try {
        l({ id: this.id, reason });
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  #tick(): void {
    if (this.#ended) return;
    const now = Date.now();
    if (now >= this.#confirmedFrom + this.ttlMs) {
      this.#lose(`no keep-alive was confirmed within the ${this.ttlMs} ms TTL; the lease may have expired`);
      return;
    }
    this.#send();
    // Wake at the next keep-alive, or when the lease would run out, whichever is first, so `lost` is not late.
    const untilLost = this.#confirmedFrom + this.ttlMs - now;
    this.#timer = setTimeout(() => this.#tick(), Math.max(1, Math.min(Math.floor(this.ttlMs / 3), untilLost)));
  }

  #send(): void {
    if (!this.#stream) {
      const leader = this.#deps.leader();
      if (!leader) return;
      const s = this.#deps.keepAlive(leader);
      this.#stream = s;
      this.#pending.length = 0;
      s.on('data', (r: LeaseKeepAliveResponse__Output) => {
        const sentAt = this.#pending.shift();
        if (Number(r.ttlMs) === 0) {
          this.#lose('the leader no longer knows the lease (it expired or was revoked)');
          return;
        }
        if (sentAt !== undefined) this.#confirmedFrom = Math.max(this.#confirmedFrom, sentAt);
      });
      const broken = () => {
        if (this.#stream !== s) return;
        this.#stream = undefined;
        s.removeAllListeners();
        s.on('error', () => {});
        s.cancel();
      };
      s.on('error', broken);
      s.on('end', broken);
    }
    this.#pending.push(Date.now());
    this.#stream.write({ id: this.id });
  }
}
