import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantileMs } from '../src/cluster-sampler';
import { RoundTripTracker } from '../src/peer-rtt';
import { singleNode } from './helpers';

test('quantileMs interpolates within the bucket, as histogram_quantile does', () => {
  const bounds = [0.001, 0.01, 0.1];
  // 100 observations: 50 under 1 ms, 40 in (1, 10] ms, 10 in (10, 100] ms.
  const cumulative = [50, 90, 100, 100];
  assert.equal(quantileMs(cumulative, bounds, 0.5), 1);
  assert.ok(Math.abs(quantileMs(cumulative, bounds, 0.99)! - 91) < 1e-9);
  assert.equal(quantileMs([0, 0, 0, 0], bounds, 0.99), null, 'no observations, no quantile');
  assert.equal(quantileMs([0, 0, 0, 5], bounds, 0.99), 100, 'beyond the last bound: the last bound');
});

test('a heartbeat round trip is timed from the heartbeat to the first response; one probe per peer at a time', () => {
  const seen: [string, number][] = [];
  const rtt = new RoundTripTracker((peer, s) => seen.push([peer, s]), 5000);
  rtt.sent('n2', [{ type: 'append' }], 0);
  rtt.received('n2', [{ type: 'heartbeatResp' }], 1);
  assert.deepEqual(seen, [], 'no heartbeat went out: nothing to time');
  rtt.sent('n2', [{ type: 'heartbeat' }], 10);
  rtt.sent('n2', [{ type: 'heartbeat' }], 12);
  rtt.received('n3', [{ type: 'heartbeatResp' }], 13);
  rtt.received('n2', [{ type: 'appendResp' }], 14);
  rtt.received('n2', [{ type: 'heartbeatResp' }], 15);
  rtt.received('n2', [{ type: 'heartbeatResp' }], 16);
  assert.deepEqual(seen, [['n2', 0.005]]);
  rtt.sent('n3', [{ type: 'heartbeat' }], 100);
  rtt.sent('n3', [{ type: 'heartbeat' }], 6000);
  rtt.received('n3', [{ type: 'heartbeatResp' }], 6001);
  assert.deepEqual(seen[1], ['n3', 0.001], 'a probe whose answer was lost is replaced after staleMs');
});

test('a single node: /metrics, /healthz, /readyz, the dashboard and its data; other paths 404, other methods 405', async (t) => {
  const { node } = await singleNode(t, { metricsListen: '127.0.0.1:0' });
  assert.ok(node.metricsPort);
  const base = `http://127.0.0.1:${node.metricsPort}`;
  const metrics = await fetch(`${base}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await metrics.text();
  assert.match(text, /^bellwether_raft_is_leader 1$/m);
  assert.match(text, /^# TYPE bellwether_grpc_server_handling_seconds histogram$/m);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 200, await ready.clone().text());
  assert.match(await ready.text(), /^ready: leader n1/);
  const page = await fetch(`${base}/`);
  assert.match(await page.text(), /<title>Bellwether<\/title>/);
  for (const asset of ['/dashboard.js', '/dashboard.css', '/vendor/uPlot.iife.min.js', '/vendor/uPlot.min.css']) {
    assert.equal((await fetch(`${base}${asset}`)).status, 200, asset);
  }
  type ClusterData = { servedBy: string; leader: { id: string } | null; members: { id: string; up: boolean }[] };
  // The first rounds may find the node busy (a loaded machine): wait for one that saw it lead.
  let data = (await (await fetch(`${base}/api/cluster`)).json()) as ClusterData;
  for (const until = Date.now() + 20_000; !data.leader && Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 100));
    data = (await (await fetch(`${base}/api/cluster`)).json()) as ClusterData;
  }
  assert.equal(data.servedBy, 'n1');
  assert.equal(data.leader?.id, 'n1');
  assert.deepEqual(data.members.map((m) => [m.id, m.up]), [['n1', true]]);
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
});
