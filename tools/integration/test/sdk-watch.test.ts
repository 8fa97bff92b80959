// client.watch() against real processes: every write to the watched prefix
// is delivered exactly once, in revision order, while the leader (and so the
// member serving the watch, when it is the leader) is killed with kill -9.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Compacted, type WatchEvent } from '@bellwether/client';
import { waitFor } from '../src/cluster';
import { clientFollows, elapsedSince, sdkClient, startSdkCluster } from '../src/sdk-helpers';

test('SDK: a watch survives a leader kill with no gap and no duplicate', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  const writer = await sdkClient(t, [leader.address], { deadlineMs: 30_000 });
  // The watcher is seeded with the leader only, so its first watch runs there.
  const watcher = await sdkClient(t, [leader.address]);
  await clientFollows(watcher, leader.id, 3);
  const controller = new AbortController();
  t.after(() => controller.abort());
  const seen: WatchEvent[] = [];
  const feed = (async () => {
    for await (const ev of watcher.watch({ prefix: 'articles/' }, { signal: controller.signal, prevKv: true, idleTimeoutMs: 2000 })) seen.push(ev);
  })();
  // A write outside the prefix, then the first article: the watch is live once the article shows.
  const written = new Map<number, string>();
  const publish = async (i: number) => {
    const r = await writer.put(`articles/${i % 7}`, `v${i}`);
    written.set(r.revision, `articles/${i % 7}=v${i}`);
    await writer.put(`other/${i}`, 'x');
  };
  await publish(0);
  await waitFor(() => (seen.length > 0 ? true : undefined), 20_000, 'the watch delivers');
  let i = 1;
  const writes = (async () => {
    for (; i <= 150; i++) await publish(i);
  })();
  await waitFor(() => (i > 40 ? true : undefined), 30_000, 'writes are flowing');
  const killedAt = Date.now();
  await leader.kill9();
  const newLeader = await cluster.waitForLeader(20_000);
  t.diagnostic(`new leader ${newLeader.id} ${elapsedSince(killedAt)} after the kill`);
  await writes;
  await waitFor(() => (seen.length >= written.size ? true : undefined), 30_000, `every write is seen (${seen.length}/${written.size})`);
  controller.abort();
  await feed;
  const revisions = seen.map((e) => e.revision);
  assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), 'revision order');
  assert.equal(new Set(revisions).size, revisions.length, 'no duplicate');
  assert.deepEqual(
    seen.map((e) => `${e.revision} ${e.kv.keyString}=${e.kv.valueString}`),
    [...written.entries()].sort(([a], [b]) => a - b).map(([rev, kv]) => `${rev} ${kv}`),
    'exactly the writes, no gap',
  );
  assert.ok(seen.every((e) => !e.kv.keyString.startsWith('other/')));
  const rewrite = seen.find((e) => e.kv.version > 1);
  assert.ok(rewrite?.prev, 'prevKv on a rewrite');
});

test('SDK: a watch from before the history window fails with Compacted', async (t) => {
  const { cluster } = await startSdkCluster(t, 1, ['--watch-history-revisions', '5']);
  const client = await sdkClient(t, [cluster.nodes[0]!.address]);
  for (let i = 0; i < 10; i++) await client.put('k', String(i));
  await assert.rejects(
    (async () => {
      for await (const _ of client.watch({ key: 'k' }, { startRevision: 1 })) break;
    })(),
    (err: unknown) => err instanceof Compacted && err.compactRevision > 1,
  );
});

test('SDK: a prev_kv watch from an older revision gets large previous values (kept in blob files, read when asked)', async (t) => {
  const { cluster } = await startSdkCluster(t, 1);
  const client = await sdkClient(t, [cluster.nodes[0]!.address]);
  // Over the 64 KiB threshold: each value goes to a blob file, and none is read back when it is replaced.
  const big = (n: number) => Buffer.alloc(200 * 1024, `doc ${n} `);
  const first = await client.put('doc', big(1));
  await client.put('doc', big(2));
  await client.put('doc', big(3));
  await client.delete('doc');
  const seen: WatchEvent[] = [];
  for await (const ev of client.watch({ key: 'doc' }, { startRevision: first.revision, prevKv: true })) {
    seen.push(ev);
    if (seen.length === 4) break;
  }
  assert.deepEqual(
    seen.map((e) => e.type),
    ['put', 'put', 'put', 'delete'],
  );
  assert.equal(seen[0]!.prev, undefined);
  for (let i = 1; i < 4; i++) {
    assert.ok(big(i).equals(seen[i]!.prev?.value ?? new Uint8Array()), `event ${i + 1} carries value ${i} as its previous value`);
    assert.equal(seen[i]!.prev?.modRevision, seen[i - 1]!.revision);
  }
});
