// Caps the client connections one member serves: in all, and per client
// address. grpc-js has no such knob, so the gate watches the sockets its HTTP/2
// servers accept. A connection over a cap is not dropped silently (a client
// would see only "connection reset"): its HTTP/2 session is set up, every call
// on it is answered RESOURCE_EXHAUSTED saying which limit was hit, and the
// connection is closed right after (or after a short grace if it sends
// nothing), so it never holds a slot.
import type { Http2Session } from 'node:http2';
import type { Server as NodeServer, Socket } from 'node:net';
import { RETRY_AFTER_METADATA } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';

/** The retry-after hint (`bellwether-retry-after-ms`) of a refused connection's calls. */
export const REFUSED_RETRY_AFTER_MS = 1000;
/** A refused connection that sends no call is closed after this long. */
export const REFUSED_CONNECTION_GRACE_MS = 2000;

export interface ConnectionLimits {
  /** Client connections served at once, in all. */
  maxConnections: number;
  /** Client connections served at once from one remote address. */
  maxConnectionsPerAddress: number;
}

/** Which accepted connections are served and which are over a limit, by `address:port` (what grpc-js's getPeer() says). */
export class ConnectionGate {
  readonly #open = new Set<string>();
  readonly #perAddress = new Map<string, number>();
  /** Refused connections: why, and their HTTP/2 session once set up. */
  readonly #refused = new Map<string, { why: string; session?: Http2Session }>();
  refusedTotal = 0;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly memberId: string,
  ) {
    for (const [name, v] of Object.entries(limits)) if (!Number.isInteger(v) || v <= 0) throw new RangeError(`connection limits: ${name} must be a positive integer`);
  }

  get openConnections(): number {
    return this.#open.size;
  }

  /** A connection was accepted: served (undefined), or why it is refused. */
  accept(address: string, port: number): string | undefined {
    const key = peerKey(address, port);
    const fromAddress = this.#perAddress.get(address) ?? 0;
    let why: string | undefined;
    if (this.#open.size >= this.limits.maxConnections) {
      why = `member ${this.memberId} serves at most ${this.limits.maxConnections} client connections (--max-connections) and all are in use; try another member or retry later`;
    } else if (fromAddress >= this.limits.maxConnectionsPerAddress) {
      why = `member ${this.memberId} serves at most ${this.limits.maxConnectionsPerAddress} connections from one client address (--max-connections-per-address) and ${address} has them all; reuse a connection (one channel per member) or retry later`;
    }
    if (why) {
      this.#refused.set(key, { why });
      this.refusedTotal++;
      return why;
    }
    this.#open.add(key);
    this.#perAddress.set(address, fromAddress + 1);
    return undefined;
  }

  /** The connection closed: its slot is free again. */
  closed(address: string, port: number): void {
    const key = peerKey(address, port);
    if (this.#refused.delete(key)) return;
    if (!this.#open.delete(key)) return;
    const n = (this.#perAddress.get(address) ?? 1) - 1;
    if (n > 0) this.#perAddress.set(address, n);
    else this.#perAddress.delete(address);
  }

  /** Why calls on the connection of `peer` (grpc-js getPeer()) are refused; undefined when it is served. */
  refusal(peer: string): string | undefined {
    return this.#refused.get(peer)?.why;
  }

  /** Remembers a refused connection's session, to close it once it has been told. */
  sessionOf(address: string, port: number, session: Http2Session): boolean {
    const refused = this.#refused.get(peerKey(address, port));
    if (!refused) return false;
    refused.session = session;
    return true;
  }

  /** Closes a refused connection gracefully (GOAWAY after the calls in flight are answered). */
  closeRefused(peer: string): void {
    const session = this.#refused.get(peer)?.session;
    if (session && !session.closed && !session.destroyed) session.close();
  }
}

function peerKey(address: string, port: number): string {
  return `${address}:${port}`;
}

/** A server interceptor answering every call on a refused connection with RESOURCE_EXHAUSTED, then closing it. */
export function connectionGateInterceptor(gate: ConnectionGate): grpc.ServerInterceptor {
  return (_method, call) => {
    const peer = call.getPeer();
    const why = gate.refusal(peer);
    // A served connection's calls go on untouched (no pass-through layer on every call).
    // (grpc-js types an interceptor's result as its class, but uses only the interface that `call` has.)
    if (!why) return call as grpc.ServerInterceptingCall;
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({});
        // Answered before any handler runs; the connection goes once it is told.
        // A retry must come on a new connection: hint a pause long enough for this one to go.
        const metadata = new grpc.Metadata();
        metadata.set(RETRY_AFTER_METADATA, String(REFUSED_RETRY_AFTER_MS));
        call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details: why, metadata });
        setImmediate(() => gate.closeRefused(peer));
      },
    });
  };
}

/** Refusals are logged at most this often (a connection flood would otherwise flood the log). */
const REFUSAL_LOG_EVERY_MS = 5000;

/** Puts `gate` in front of every connection the grpc-js server accepts (its http2 servers are not public API; if they move, this says so and does nothing). */
export function gateConnections(server: grpc.Server, gate: ConnectionGate, log: Logger): void {
  const http2Servers = (server as unknown as { http2Servers?: Map<NodeServer, unknown> }).http2Servers;
  if (!(http2Servers instanceof Map)) {
    log.warn('--max-connections and --max-connections-per-address are not enforced: this grpc-js keeps its HTTP/2 servers elsewhere');
    return;
  }
  let loggedAtMs = Number.NEGATIVE_INFINITY;
  for (const http2Server of http2Servers.keys()) {
    http2Server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress ?? '';
      const port = socket.remotePort ?? 0;
      const why = gate.accept(address, port);
      socket.once('close', () => gate.closed(address, port));
      if (!why) return;
      if (performance.now() - loggedAtMs >= REFUSAL_LOG_EVERY_MS) {
        loggedAtMs = performance.now();
        log.warn({ address, open: gate.openConnections, refusedTotal: gate.refusedTotal }, `refused a client connection: ${why}`);
      }
      setTimeout(() => socket.destroy(), REFUSED_CONNECTION_GRACE_MS).unref();
    });
    http2Server.on('session', (session: Http2Session) => {
      const socket = session.socket;
      if (socket) gate.sessionOf(socket.remoteAddress ?? '', socket.remotePort ?? 0, session);
    });
  }
}
