// Connection and concurrent-stream limits of a member (--max-connections,
// --max-connections-per-address, --max-concurrent-streams): a connection over
// a cap gets RESOURCE_EXHAUSTED naming the limit on its calls and is closed,
// a freed slot serves again, and one connection runs at most so many calls at
// once while served connections are unaffected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GetResponse__Output, type KVClient, loadPublicApi, type WatchResponse__Output } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { TestCluster, unary, waitFor } from '../src/cluster';
import { httpGet, startMetricsCluster } from '../src/metrics-cluster';

const PER_ADDRESS = 3;
const STREAMS = 4;

/** A KV client on a connection of its own (grpc-js shares connections between clients with equal options otherwise). */
function ownConnection(address: string): KVClient {
  const api = loadPublicApi();
  return new api.bellwether.kv.v1.KV(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 250 });
}

const get = (kv: KVClient) => unary<GetResponse__Output>(kv as unknown as grpc.Client, 'Get', { key: Buffer.from('k'), read: { mode: 'READ_MODE_ANY_FOLLOWER' } }, 10_000);

test('connections over --max-connections-per-address are refused with RESOURCE_EXHAUSTED and closed; a freed slot serves again', { timeout: 120_000 }, async (t) => {
  const { cluster, http } = await startMetricsCluster(1, ['--max-connections-per-address', String(PER_ADDRESS), '--max-connections', '64']);
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  const clients: KVClient[] = [];
  t.after(() => {
    for (const c of clients) c.close();
  });
  let served = 0;
  let refusal: grpc.ServiceError | undefined;
  // The harness holds one connection of its own from 127.0.0.1 (at most).
  while (!refusal && clients.length < PER_ADDRESS + 2) {
    const kv = ownConnection(leader.address);
    clients.push(kv);
    try {
      await get(kv);
      served++;
    } catch (err) {
      refusal = err as grpc.ServiceError;
    }
  }
  assert.ok(refusal, 'a connection over the cap is refused');
  assert.equal(refusal.code, grpc.status.RESOURCE_EXHAUSTED, refusal.details);
  assert.equal(refusal.metadata.get('bellwether-retry-after-ms')[0], '1000', 'with a retry-after hint');
  assert.match(refusal.details, /serves at most 3 connections from one client address \(--max-connections-per-address\) and 127\.0\.0\.1 has them all/);
  assert.ok(served >= PER_ADDRESS - 1 && served <= PER_ADDRESS, `${served} connections were served`);
  // The served connections keep working.
  for (const kv of clients.slice(0, served)) await get(kv);
  await waitFor(() => (/refused a client connection/.test(leader.log()) ? true : undefined), 10_000, 'the member logs the refusal');
  const metrics = (await httpGet(`http://${http(leader)}/metrics`)).body;
  assert.ok(Number(/^bellwether_client_connections_refused_total (\S+)$/m.exec(metrics)?.[1]) >= 1, 'refusals are counted');
  assert.ok(Number(/^bellwether_client_connections (\S+)$/m.exec(metrics)?.[1]) >= served, 'served connections are counted');

  // A slot freed: the refused client, reconnecting, is served.
  clients[0]!.close();
  const refused = clients[clients.length - 1]!;
  await waitFor(async () => ((await get(refused)).header ? true : undefined), 30_000, 'the refused client is served once a slot is free');
});

test('one connection runs at most --max-concurrent-streams calls at once; the rest wait for a free stream', { timeout: 120_000 }, async (t) => {
  const cluster = await TestCluster.start({ size: 1, args: ['--max-concurrent-streams', String(STREAMS)] });
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  const kv = ownConnection(leader.address);
  t.after(() => kv.close());
  const created = new Set<number>();
  const errors: grpc.ServiceError[] = [];
  const watches = Array.from({ length: STREAMS * 2 }, (_, i) => {
    const w = kv.Watch();
    w.on('data', (r: WatchResponse__Output) => {
      if (r.created) created.add(i);
    });
    w.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) errors.push(err);
    });
    w.write({ createRequest: { key: Buffer.from(`w/${i}`) } });
    return w;
  });
  await waitFor(() => (created.size === STREAMS ? true : undefined), 30_000, `${STREAMS} watches are created`);
  // A call on another connection is served meanwhile; one on this connection waits for a stream.
  await get(ownConnection(leader.address));
  let pendingGetDone = false;
  const pendingGet = get(kv).then(() => {
    pendingGetDone = true;
  });
  await get(ownConnection(leader.address));
  assert.equal(created.size, STREAMS, 'no more watches than streams are running');
  assert.equal(pendingGetDone, false);
  assert.deepEqual(errors, [], 'the calls over the limit wait, they do not fail');
  // Ending watches frees streams: the waiting calls run, in order.
  const first = [...created];
  for (const i of first) watches[i]!.cancel();
  await waitFor(() => (created.size === STREAMS * 2 ? true : undefined), 30_000, 'the waiting watches are created once streams are free');
  for (const [i, w] of watches.entries()) if (!first.includes(i)) w.cancel();
  await pendingGet;
});
