// A watcher that stops reading its stream costs the member bounded memory:
// once it falls --watch-max-lag-bytes of changes behind, its watch is
// cancelled with RESOURCE_EXHAUSTED and a reason, while writes and a watcher
// that keeps reading carry on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@bellwether/client';
import { loadPublicApi, type WatchResponse__Output } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { TestCluster, waitFor } from '../src/cluster';

const MAX_LAG_BYTES = 4 * 1024 * 1024;
const VALUE_BYTES = 256 * 1024;
const WRITES = 160; // 40 MiB of changes: ten times the lag bound

test('a watcher that stops reading is cancelled past --watch-max-lag-bytes; writes and a reading watcher are unaffected', async (t) => {
  const cluster = await TestCluster.start({ size: 1, args: ['--watch-max-lag-bytes', String(MAX_LAG_BYTES)] });
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  const api = loadPublicApi();
  // The default 64 KiB HTTP/2 window: what a client of another language gets.
  const raw = new api.bellwether.kv.v1.KV(leader.address, grpc.credentials.createInsecure(), {});
  t.after(() => raw.close());
  const slow = raw.Watch();
  const seen: WatchResponse__Output[] = [];
  slow.on('data', (r: WatchResponse__Output) => seen.push(r));
  slow.on('error', () => {});
  slow.write({ createRequest: { key: Buffer.from('big/'), rangeEnd: Buffer.from('big0') } });
  await waitFor(() => seen.some((r) => r.created) || undefined, 10_000, 'the slow watch is created');
  slow.pause();

  const client = await connect({ endpoints: [leader.address] });
  t.after(() => client.close());
  const abort = new AbortController();
  let delivered = 0;
  const reader = (async () => {
    for await (const _ev of client.watch({ prefix: 'big/' }, { signal: abort.signal })) {
      if (++delivered === WRITES) break;
    }
  })();
  const value = Buffer.alloc(VALUE_BYTES, 7);
  for (let i = 0; i < WRITES; i++) await client.put(`big/${i % 20}`, value);
  await reader;
  assert.equal(delivered, WRITES, 'the reading watcher saw every change');

  slow.resume();
  const cancel = await waitFor(() => seen.find((r) => r.canceled), 30_000, 'the slow watch is cancelled once read');
  slow.cancel();
  assert.equal(cancel.cancelCode, grpc.status.RESOURCE_EXHAUSTED, cancel.cancelReason);
  assert.match(cancel.cancelReason, /fell \d+ bytes of changes behind \(limit 4194304\): it does not read its stream fast enough; watch again from revision \d+/);
  // What it was sent before the cancel is bounded: far less than what was written.
  const sentBytes = seen.flatMap((r) => r.events).reduce((n, e) => n + (e.kv?.value.length ?? 0), 0);
  assert.ok(sentBytes < (WRITES * VALUE_BYTES) / 2, `the slow watcher was sent ${sentBytes} bytes of ${WRITES * VALUE_BYTES}`);
});
