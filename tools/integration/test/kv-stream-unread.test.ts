// A KV.Stream client that keeps sending but never reads its replies costs the
// member a bounded amount: once the stream holds MAX_UNSENT_REPLY_BYTES of
// unsent replies, the member stops reading that stream's requests until it
// drains (HTTP/2 flow control then stops the client's sends), while other
// clients carry on. When the client reads again, every call is answered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@bellwether/client';
import { loadPublicApi, type StreamResponse__Output } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { waitFor } from '../src/cluster';
import { httpGet, startMetricsCluster } from '../src/metrics-cluster';

const MIB = 1024 * 1024;
/** kv-stream.ts MAX_UNSENT_REPLY_BYTES and MAX_READS_READING_PER_STREAM. */
const MAX_UNSENT = 8 * MIB;
const MAX_READS_READING = 256;
const VALUE_BYTES = 256 * 1024;
const KEYS = 16;
const CALLS_PER_MESSAGE = 8;
const MESSAGES = 300; // 2,400 gets: 600 MiB of replies if all were answered at once

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

test('a KV.Stream client that does not read its replies stops being read; the member holds a bounded backlog and other clients carry on', { timeout: 180_000 }, async (t) => {
  const { cluster, http } = await startMetricsCluster(1);
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  const metrics = async () => (await httpGet(`http://${http(leader)}/metrics`)).body;
  const client = await connect({ endpoints: [leader.address], deadlineMs: 30_000 });
  t.after(() => client.close());
  const value = (i: number) => Buffer.alloc(VALUE_BYTES, 65 + i);
  for (let i = 0; i < KEYS; i++) await client.put(`big/${i}`, value(i));

  const api = loadPublicApi();
  // A raw grpc-js client of its own connection, with stock settings.
  const raw = new api.bellwether.kv.v1.KV(leader.address, grpc.credentials.createInsecure(), {});
  t.after(() => raw.close());
  const stream = raw.Stream();
  stream.on('error', () => {});
  const answered = new Map<number, number>();
  stream.on('data', (msg: StreamResponse__Output) => {
    for (const r of msg.results) answered.set(Number(r.id), r.get?.kv?.value.length ?? -1);
  });
  stream.pause();
  let id = 0;
  for (let m = 0; m < MESSAGES; m++) {
    const calls = Array.from({ length: CALLS_PER_MESSAGE }, () => {
      id++;
      return { id, get: { key: Buffer.from(`big/${id % KEYS}`), read: { mode: 'READ_MODE_ANY_FOLLOWER' as const } } };
    });
    // Ignores write()'s backpressure on purpose: the client keeps sending.
    stream.write({ calls });
  }

  await waitFor(async () => (metric(await metrics(), 'bellwether_kv_streams_paused') === 1 ? true : undefined), 60_000, 'the member stops reading the stream');
  // Another client is served meanwhile.
  await client.put('other/k', 'v');
  assert.equal(Buffer.from((await client.get('other/k')).value ?? []).toString(), 'v');
  let text = '';
  for (let i = 0; i < 10; i++) {
    text = await metrics();
    assert.ok(metric(text, 'bellwether_kv_streams_paused') <= 1);
  }
  const heldMax = metric(text, 'bellwether_kv_stream_reply_bytes_held_max');
  // The budget, plus the replies of the reads reading values when it filled.
  const bound = MAX_UNSENT + MAX_READS_READING * (VALUE_BYTES + 1024);
  assert.ok(heldMax > 0 && heldMax <= bound, `the stream held at most ${heldMax} bytes of replies (bound ${bound})`);
  const gets = Number(/^bellwether_kv_operations_total\{op="get",result="ok"\} (\S+)$/m.exec(text)?.[1] ?? 0);
  assert.ok(gets < (MESSAGES * CALLS_PER_MESSAGE) / 2, `only ${gets} of ${MESSAGES * CALLS_PER_MESSAGE} calls were run while the client did not read`);
  assert.ok(metric(text, 'bellwether_kv_stream_pauses_total') >= 1);
  t.diagnostic(`held at most ${heldMax} bytes of replies; ran ${gets} of ${MESSAGES * CALLS_PER_MESSAGE} gets while the client did not read`);

  // Reading again: every call is answered, with the right value.
  stream.resume();
  await waitFor(() => (answered.size === MESSAGES * CALLS_PER_MESSAGE ? true : undefined), 120_000, `every call is answered (${answered.size})`);
  for (const [n, length] of answered) assert.equal(length, VALUE_BYTES, `call ${n}`);
  stream.end();
  await new Promise<void>((resolve) => stream.on('end', resolve));
  await waitFor(async () => {
    const after = await metrics();
    return metric(after, 'bellwether_kv_stream_reply_bytes_held') === 0 && metric(after, 'bellwether_kv_streams_paused') === 0 ? true : undefined;
  }, 30_000, 'nothing is held once the stream ends');
});
