// A cheap first question before a Status probe of a member whose connection
// is not open: does anything accept a TCP connection at its address?
//
// A probe made through grpc-js to a member that is gone costs far more than
// the question it asks. The call creates an error with a stack trace, and
// the failed connection puts the channel into grpc-js's "sticky transient
// failure", in which it reconnects on its own every 1-2 s for as long as
// the client lives, whether calls wait or not (~0.5 ms of CPU per attempt).
// After a leader is killed, a fleet of clients does this thousands of times
// a second while it should be finding the new leader (docs/fleet.md). A
// plain TCP connect that is refused answers "down" for a fraction of that,
// and leaves the channel idle, so it makes no attempts of its own.
import { connect } from 'node:net';

/** What a TCP connect to a member's address found. */
export type TcpReach =
  /** Something accepts connections there: ask it over gRPC. */
  | { kind: 'open' }
  /** Refused, or failed for another reason (no route, no such host): as UNAVAILABLE. */
  | { kind: 'failed'; reason: string }
  /** Nothing answered within the timeout: as an unanswered probe. */
  | { kind: 'silent' };

/** `host` and `port` of a `host:port` or `[v6]:port` address; undefined for other forms (`unix:`, `dns:///`...). */
export function hostAndPort(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]]+)):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

/**
 * Whether grpc-js dials this client's members through an HTTP proxy (its
 * `grpc_proxy` / `https_proxy` / `http_proxy` environment variables, unless
 * `grpc.enable_http_proxy` is 0). A direct TCP connect then says nothing
 * about what the channel can reach.
 */
export function proxied(channelOptions: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): boolean {
  if (channelOptions['grpc.enable_http_proxy'] === 0) return false;
  return Boolean(env['grpc_proxy'] || env['https_proxy'] || env['http_proxy']);
}

/** Opens a TCP connection to `host:port` and closes it at once; never rejects. */
export function tcpReach(host: string, port: number, timeoutMs: number): Promise<TcpReach> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: TcpReach) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {}); // late errors of a destroyed socket
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ kind: 'silent' }), timeoutMs);
    socket.once('connect', () => done({ kind: 'open' }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ kind: 'failed', reason: `${err.code ?? err.message} at ${host}:${port}` }));
  });
}
