import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { GetResponse__Output, PutResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { clientsFor, closeClients, freePorts, NodeProcess, SERVER_BIN, unary, waitFor } from '../src/cluster';

function tempRoot(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-it-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const kvOf = (address: string) => clientsFor(address).kv as unknown as grpc.Client;

test('a single node keeps every acknowledged write across kill -9', async (t) => {
  const root = tempRoot(t);
  const [port] = await freePorts(1);
  const address = `127.0.0.1:${port}`;
  const node = new NodeProcess('n1', address, join(root, 'n1'), ['--id', 'n1', '--listen', address, '--data-dir', join(root, 'n1')], root);
  t.after(async () => {
    closeClients();
    await node.stop();
  });
  node.start();
  await waitFor(() => unary(kvOf(address), 'Get', { key: Buffer.from('probe') }, 500).then(() => true), 10_000, 'the node serves');

  // Many writers in flight; kill -9 while they run.
  const acked = new Map<string, { value: string; revision: number }>();
  let stop = false;
  const writers = Array.from({ length: 16 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const key = `w${w}-${i % 20}`;
      const value = `${w}:${i}`;
      try {
        const res = await unary<PutResponse__Output>(kvOf(address), 'Put', { key: Buffer.from(key), value: Buffer.from(value) }, 2000);
        acked.set(key, { value, revision: res.header!.revision });
      } catch {
        return; // the node died under us: this write's outcome is unknown, not acknowledged
      }
    }
  });
  await waitFor(() => acked.size >= 200 || undefined, 20_000, '200 keys acknowledged');
  await node.kill9();
  stop = true;
  await Promise.all(writers);
  closeClients();

  node.start();
  await waitFor(() => unary(kvOf(address), 'Get', { key: Buffer.from('probe') }, 500).then(() => true), 10_000, 'the node serves again');
  for (const [key, { value, revision }] of acked) {
    const g = await unary<GetResponse__Output>(kvOf(address), 'Get', { key: Buffer.from(key), read: { mode: 'READ_MODE_LINEARIZABLE' } });
    assert.ok(g.kv, `acknowledged key ${key} survived`);
    assert.ok(g.kv.modRevision >= revision, `${key}: revision ${g.kv.modRevision} >= acknowledged ${revision}`);
    if (g.kv.modRevision === revision) assert.equal(g.kv.value.toString(), value);
  }
});

function runBin(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [SERVER_BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stderr: r.stderr };
}

test('bad configuration stops the process at start with a clear message, touching no data', async (t) => {
  const root = tempRoot(t);
  const [port, other] = await freePorts(2);
  const dir = join(root, 'fresh');

  let r = runBin(['serve', '--id', 'n1', '--listen', `127.0.0.1:${port}`, '--data-dir', dir, '--peers', 'n1=127.0.0.1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--peers n1: "127\.0\.0\.1" is not host:port/);

  r = runBin(['serve', '--id', 'n4', '--listen', `127.0.0.1:${port}`, '--data-dir', dir, '--peers', `n1=127.0.0.1:${port},n2=127.0.0.1:${other}`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--id: "n4" is not among --peers \(n1, n2\)/);

  r = runBin(['serve', '--id', 'n1', '--listen', `127.0.0.1:${port}`, '--data-dir', dir, '--heartbeat-ms', 'soon']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--heartbeat-ms: expected a positive integer/);

  r = runBin(['serve', '--id', 'n1', '--listen', `127.0.0.1:${port}`, '--data-dir', dir, '--no-such-flag']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown flag --no-such-flag/);
  assert.throws(() => readdirSync(dir), 'no data dir was created by a refused start');

  // A port in use: refused before the data dir is touched.
  const blocker = createServer().listen(port, '127.0.0.1');
  await new Promise((resolve) => blocker.once('listening', resolve));
  r = runBin(['serve', '--id', 'n1', '--listen', `127.0.0.1:${port}`, '--data-dir', dir]);
  blocker.close();
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--listen 127\.0\.0\.1:\d+: cannot listen \(EADDRINUSE\)/);
  assert.throws(() => readdirSync(dir), 'no data dir was created by a refused start');

  // A data dir that belongs to another member.
  const owned = join(root, 'owned');
  const n1 = new NodeProcess('n1', `127.0.0.1:${port}`, owned, ['--id', 'n1', '--listen', `127.0.0.1:${port}`, '--data-dir', owned], root);
  n1.start();
  const address = `127.0.0.1:${port}`;
  await waitFor(() => unary(kvOf(address), 'Put', { key: Buffer.from('k'), value: Buffer.from('v') }, 500).then(() => true), 10_000, 'n1 takes a write');
  closeClients();
  await n1.stop();
  r = runBin(['serve', '--id', 'n2', '--listen', `127.0.0.1:${other}`, '--data-dir', owned, '--peers', `n2=127.0.0.1:${other}`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--data-dir .*: belongs to member "n1", not "n2"/);
  r = runBin(['serve', '--id', 'n1', '--listen', `127.0.0.1:${port}`, '--data-dir', owned, '--cluster-id', 'another']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /belongs to cluster \w+, not another/);
  // The data is intact.
  n1.start();
  t.after(async () => {
    closeClients();
    await n1.stop();
  });
  const g = await waitFor(
    () => unary<GetResponse__Output>(kvOf(address), 'Get', { key: Buffer.from('k') }, 500),
    10_000,
    'n1 serves again',
  );
  assert.equal(g.kv?.value.toString(), 'v');
});

test('--help documents every flag', () => {
  const r = spawnSync(process.execPath, [SERVER_BIN, 'serve', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  for (const flag of ['--id', '--listen', '--data-dir', '--peers', '--heartbeat-ms', '--election-timeout-ms', '--max-value-bytes', '--config']) {
    assert.ok(r.stdout.includes(flag), `--help mentions ${flag}`);
  }
  assert.match(r.stdout, /BELLWETHER_/);
});
