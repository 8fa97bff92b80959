// A tiny round-robin HTTP proxy: each request goes to the next app process in
// turn, so consecutive requests of one browser land on different processes
// (what a load balancer without sticky sessions does). Streams (server-sent
// events) are piped through as they come.
import { once } from 'node:events';
import http from 'node:http';

export interface ProxyOptions {
  /** `host:port` of each app process. */
  targets: string[];
  /**
   * Runs when a request has been handed to its app process (headers sent)
   * and before its body follows; tests use it to act "mid-request".
   */
  onForward?: (req: http.IncomingMessage, target: string) => Promise<void> | void;
}

export interface RoundRobinProxy {
  /** `http://127.0.0.1:port` */
  url: string;
  close(): Promise<void>;
}

export async function startProxy(options: ProxyOptions, port = 0): Promise<RoundRobinProxy> {
  if (options.targets.length === 0) throw new Error('the proxy needs at least one target');
  let next = 0;
  const server = http.createServer((req, res) => {
    const target = options.targets[next++ % options.targets.length] as string;
    const [host, targetPort] = target.split(':') as [string, string];
    const upstream = http.request({ host, port: Number(targetPort), method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${target} failed: ${err.message}`);
    });
    // A reader closing the page ends its event stream at the app process too
    // (only an unfinished exchange: a finished one's socket may serve another request by now).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.flushHeaders();
    void Promise.resolve(options.onForward?.(req, target)).then(
      () => req.pipe(upstream),
      (err: unknown) => upstream.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
