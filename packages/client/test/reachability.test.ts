// The TCP question asked before a Status probe of a member whose connection
// is not open (src/reachability.ts).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { hostAndPort, proxied, tcpReach } from '../src/reachability';

test('hostAndPort: host:port and [v6]:port; other target forms are left to grpc-js', () => {
  assert.deepEqual(hostAndPort('127.0.0.1:2379'), { host: '127.0.0.1', port: 2379 });
  assert.deepEqual(hostAndPort('db-1.internal:443'), { host: 'db-1.internal', port: 443 });
  assert.deepEqual(hostAndPort('[::1]:2379'), { host: '::1', port: 2379 });
  for (const other of ['unix:/run/bw.sock', 'dns:///db:2379', 'db', 'db:0', 'db:70000', '::1:2379', 'ipv4:127.0.0.1:1']) {
    assert.equal(hostAndPort(other), undefined, other);
  }
});

test('proxied: the proxy variables grpc-js reads, unless grpc.enable_http_proxy is 0', () => {
  assert.equal(proxied({}, {}), false);
  assert.equal(proxied({}, { grpc_proxy: 'http://proxy:3128' }), true);
  assert.equal(proxied({}, { https_proxy: 'http://proxy:3128' }), true);
  assert.equal(proxied({}, { http_proxy: 'http://proxy:3128' }), true);
  assert.equal(proxied({ 'grpc.enable_http_proxy': 0 }, { http_proxy: 'http://proxy:3128' }), false);
});

test('tcpReach: open where something listens, failed (with the reason) where nothing does', async (t) => {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  assert.deepEqual(await tcpReach('127.0.0.1', port, 2000), { kind: 'open' });

  // Closed: it stops listening at once, and the callback runs once the accepted connection is gone too.
  await new Promise((resolve) => server.close(resolve));
  const gone = await tcpReach('127.0.0.1', port, 2000);
  assert.equal(gone.kind, 'failed');
  assert.match(gone.kind === 'failed' ? gone.reason : '', new RegExp(`^ECONNREFUSED at 127\\.0\\.0\\.1:${port}$`));
  assert.equal(accepted, 1);
});
