import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { GetResponse__Output, PutResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { clientsFor, closeClients, freePorts, NodeProcess, unary, waitFor } from '../src/cluster';

const canMount = process.getuid?.() === 0;

test('a full disk stops the node without losing an acknowledged write; it recovers once there is room', { skip: canMount ? false : 'needs root to mount a small tmpfs' }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bellwether-disk-'));
  const mnt = join(root, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3M', 'tmpfs', mnt]);
  t.after(() => {
    execFileSync('umount', ['-l', mnt]);
    rmSync(root, { recursive: true, force: true });
  });
  const [port] = await freePorts(1);
  const address = `127.0.0.1:${port}`;
  const dataDir = join(mnt, 'n1');
  const node = new NodeProcess('n1', address, dataDir, ['--id', 'n1', '--listen', address, '--data-dir', dataDir], root);
  t.after(async () => {
    closeClients();
    await node.stop();
  });
  node.start();
  const kv = () => clientsFor(address).kv as unknown as grpc.Client;
  await waitFor(() => unary(kv(), 'Get', { key: Buffer.from('probe') }, 500).then(() => true), 10_000, 'the node serves');

  // Fill the disk: 8 KiB values until writes stop being acknowledged.
  const acked = new Map<string, number>();
  const value = Buffer.alloc(8 * 1024, 1);
  let failures = 0;
  for (let i = 0; i < 2000 && failures < 20; i++) {
    try {
      const res = await unary<PutResponse__Output>(kv(), 'Put', { key: Buffer.from(`fill-${i}`), value }, 2000);
      acked.set(`fill-${i}`, res.header!.revision);
    } catch {
      failures++;
    }
  }
  assert.ok(failures > 0, 'the disk filled up');
  assert.ok(acked.size > 10, `${acked.size} writes were acknowledged before it did`);
  const code = await Promise.race([node.waitExit(), new Promise<'running'>((r) => setTimeout(() => r('running'), 10_000))]);
  assert.equal(code, 1, 'the node exits non-zero once its storage fails');
  assert.match(node.log(), /storage failed/);

  // Make room and restart: every acknowledged write is there.
  execFileSync('mount', ['-o', 'remount,size=64M', mnt]);
  closeClients();
  node.start();
  await waitFor(() => unary(kv(), 'Get', { key: Buffer.from('probe') }, 500).then(() => true), 15_000, 'the node serves again');
  for (const [key, revision] of acked) {
    const g = await unary<GetResponse__Output>(kv(), 'Get', { key: Buffer.from(key) });
    assert.equal(g.kv?.modRevision, revision, `${key} survived`);
  }
  const after = await unary<PutResponse__Output>(kv(), 'Put', { key: Buffer.from('after'), value: Buffer.from('room') });
  assert.ok(after.succeeded);
});
