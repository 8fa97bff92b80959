// Graceful shutdown. grpc-js's tryShutdown waits for every open stream, and
// every SDK client keeps a WatchLeader stream and a KV.Stream open to every
// member, so a member that only called tryShutdown never stopped while a
// client was connected. Here a stopping member hands leadership over (when it
// leads), ends the streams itself with UNAVAILABLE (which clients treat as
// "try another member") after announcing the leader it knows, stops Raft,
// and forces the server down once the grace period is spent.
import type { Store } from '@bellwether/store';
import type * as grpc from '@grpc/grpc-js';
import type { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { type RpcError, unavailable } from './errors';
import { mostCaughtUpVoter, transferLeadership } from './leadership';
import type { Replica } from './replica';

/** The part of a grpc-js server stream needed to end it with a status. */
interface ServerStream {
  readonly cancelled: boolean;
  emit(event: 'error', err: Partial<grpc.ServiceError>): boolean;
  on(event: 'close' | 'finish' | 'cancelled' | 'error', listener: () => void): unknown;
}

function endWith(call: ServerStream, err: RpcError): void {
  if (call.cancelled) return;
  try {
    call.emit('error', err.toServiceError());
  } catch {
    // Already closed by the peer.
  }
}

/** Server streams (WatchLeader, KV.Stream) a stopping member must end itself. */
export class OpenStreams {
  private readonly calls = new Set<ServerStream>();
  private closing: RpcError | undefined;

  /** Registers a call until it ends; one opened after {@link OpenStreams.endAll} is ended at once. */
  track(call: ServerStream): void {
    if (this.closing) {
      endWith(call, this.closing);
      return;
    }
    this.calls.add(call);
    const forget = () => this.calls.delete(call);
    for (const event of ['close', 'finish', 'cancelled', 'error'] as const) call.on(event, forget);
  }

  get size(): number {
    return this.calls.size;
  }

  /** Ends every open stream with `err`, and every later one too. */
  endAll(err: RpcError): void {
    this.closing = err;
    const calls = [...this.calls];
    this.calls.clear();
    for (const call of calls) endWith(call, err);
  }
}

export interface ShutdownParts {
  replica: Replica;
  server: Pick<grpc.Server, 'tryShutdown' | 'forceShutdown'>;
  health: HealthImplementation;
  streams: OpenStreams;
  store: Store;
  log: Logger;
  /** Milliseconds since a message from a peer last arrived. */
  lastContactMs(id: string): number | undefined;
  electionTimeoutMs: number;
}

/** Share of the grace period a leader spends handing over at most (the rest drains and closes). */
const HAND_OVER_SHARE = 0.5;
/** Longest a member waits for its own in-flight writes to be answered before failing them (clients retry them exactly once elsewhere). */
const DRAIN_WRITES_MS = 500;

const remaining = (deadline: number) => Math.max(0, deadline - Date.now());
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Stops a member within `timeoutMs`: hand over leadership, let in-flight
 * writes be answered, end client streams, stop Raft and the peer streams,
 * shut the server down (forced when the grace period is spent), close the
 * store. Never waits on clients.
 */
export async function shutDown(parts: ShutdownParts, timeoutMs: number): Promise<void> {
  const { replica, log } = parts;
  const deadline = Date.now() + timeoutMs;
  parts.health.setStatus('', 'NOT_SERVING');
  if (replica.isLeader) await handOver(parts, Math.min(timeoutMs * HAND_OVER_SHARE, parts.electionTimeoutMs * 10));
  // Writes proposed here before the handover commit under the new leader; answer them rather than make clients retry.
  const drainUntil = Date.now() + Math.min(DRAIN_WRITES_MS, remaining(deadline) / 4);
  while (replica.pendingWriteCount > 0 && Date.now() < drainUntil) await sleep(10);
  const hint = replica.leaderHint();
  const leaving = hint && hint.id !== replica.memberId ? hint : undefined;
  log.info({ openStreams: parts.streams.size, leaderId: leaving?.id }, 'ending client streams');
  parts.streams.endAll(
    unavailable(`member ${replica.memberId} is shutting down; ${leaving ? `the leader is ${leaving.id} at ${leaving.address}` : 'try another member'}`, leaving),
  );
  await withTimeout(replica.stop(), remaining(deadline) / 2);
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      log.warn('connections still open at the end of the grace period; closing them');
      parts.server.forceShutdown();
      resolve();
    }, Math.max(0, remaining(deadline) - 100));
    parts.server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
  await withTimeout(parts.store.close(), remaining(deadline));
}

async function handOver(parts: ShutdownParts, boundMs: number): Promise<void> {
  const { replica, log } = parts;
  const target = mostCaughtUpVoter(replica, { lastContactMs: parts.lastContactMs, recentContactMs: parts.electionTimeoutMs * 2 });
  if (!target) {
    log.warn('leader stopping with no other voter reachable: leadership is not handed over');
    return;
  }
  const started = Date.now();
  try {
    const { term } = await transferLeadership(replica, target, { timeoutMs: boundMs });
    log.info({ to: target, term, ms: Date.now() - started }, 'leadership handed over');
  } catch (err) {
    log.warn({ to: target, err: (err as Error).message }, 'leadership not handed over before stopping; the others elect a leader after an election timeout');
  }
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

/** Wraps the named streaming handlers of a service so each call is tracked by `streams`. */
export function trackingStreams<H extends object>(handlers: H, names: readonly (keyof H)[], streams: OpenStreams): H {
  const out = { ...handlers };
  for (const name of names) {
    const handler = handlers[name] as unknown as (call: ServerStream) => void;
    (out as Record<keyof H, unknown>)[name] = (call: ServerStream) => {
      streams.track(call);
      handler(call);
    };
  }
  return out;
}
