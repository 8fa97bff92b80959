// Leases and locks whose holder is a separate process killed with kill -9:
// its keys outlive it for (about) the TTL and no less, then vanish through
// the log; a lock waiting behind it is handed over, with a larger fencing
// token.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LockHandle } from '@bellwether/client';
import { waitFor } from '../src/cluster';
import { sdkClient, startSdkCluster } from '../src/sdk-helpers';

const here = dirname(fileURLToPath(import.meta.url));

/** Starts src/holder.ts; resolves with its process and the JSON line it prints once it holds. */
async function holder(t: { after(fn: () => void): void }, args: string[]): Promise<{ child: ChildProcess; held: Record<string, number | string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, '..', 'src', 'holder.ts'), ...args], { cwd: join(here, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const line = await waitFor(() => (out.includes('\n') ? out.split('\n')[0] : undefined), 60_000, 'the holder holds');
  return { child, held: JSON.parse(line!) };
}

async function killHolder(child: ChildProcess): Promise<number> {
  const at = Date.now();
  child.kill('SIGKILL');
  if (child.exitCode === null) await once(child, 'exit');
  return at;
}

test('SDK: a lease whose holder is killed: its key outlives the holder for most of the TTL, then vanishes within TTL + bound', async (t) => {
  const TTL_MS = 3000;
  const { leader } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, [leader.address]);
  const { child, held } = await holder(t, ['lease', leader.address, 'workers/7', String(TTL_MS)]);
  assert.equal((await client.get('workers/7', { mode: 'linearizable' })).kv?.lease, held.lease);
  const killedAt = await killHolder(child);
  // The last keep-alive was at most TTL/3 before the kill, so the key must live at least until then + TTL.
  let goneAt = 0;
  while (!goneAt && Date.now() - killedAt < TTL_MS + 10_000) {
    const r = await client.get('workers/7', { mode: 'linearizable' });
    if (!r.found) goneAt = Date.now();
    else await new Promise((r) => setTimeout(r, 50));
  }
  t.diagnostic(`the key vanished ${goneAt - killedAt} ms after kill -9 of its holder (TTL ${TTL_MS} ms)`);
  assert.ok(goneAt > 0, 'the key vanished');
  assert.ok(goneAt - killedAt >= (TTL_MS * 2) / 3, `not before its TTL: gone ${goneAt - killedAt} ms after the kill`);
  assert.ok(goneAt - killedAt <= TTL_MS + 5000, `within TTL + bound: gone ${goneAt - killedAt} ms after the kill`);
});

test('SDK: a lock is handed over when its holder process dies; the fencing token grows', async (t) => {
  const { leader } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, [leader.address]);
  const { child, held } = await holder(t, ['lock', leader.address, 'locks/nightly', '2000']);
  const mine: { lock?: LockHandle } = {};
  const waiting = client.lock('locks/nightly', { ttlMs: 2000 }).then((l) => {
    mine.lock = l;
    return l;
  });
  // While the holder lives (three TTLs), the waiter does not get the lock.
  await new Promise((r) => setTimeout(r, 6000));
  assert.equal(mine.lock, undefined, 'the lock is not handed over while its holder lives');
  const killedAt = await killHolder(child);
  const lock = await waiting;
  t.diagnostic(`lock handed over ${Date.now() - killedAt} ms after kill -9 of its holder`);
  assert.ok(lock.revision > Number(held.revision), `fencing token ${lock.revision} > ${held.revision}`);
  // A third contender waits behind us until we release.
  const third: { lock?: LockHandle } = {};
  const next = client.lock('locks/nightly', { ttlMs: 2000 }).then((l) => {
    third.lock = l;
    return l;
  });
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(third.lock, undefined, 'a third contender waits while the lock is held');
  await lock.release();
  const after = await next;
  assert.ok(after.revision > lock.revision);
  await after.release();
});

test('SDK: election: campaign, leader, observe, resign', async (t) => {
  const { leader } = await startSdkCluster(t, 1);
  const client = await sdkClient(t, [leader.address]);
  const a = client.election('elect/db');
  const b = client.election('elect/db');
  const led = await a.campaign('node-a', { ttlMs: 5000 });
  assert.equal((await a.leader())?.value, 'node-a');
  const controller = new AbortController();
  const seen: (string | undefined)[] = [];
  const observing = (async () => {
    for await (const l of b.observe({ signal: controller.signal })) seen.push(l?.value);
  })();
  const bLeads = b.campaign('node-b', { ttlMs: 5000 });
  await waitFor(() => (seen.length >= 1 ? true : undefined), 10_000, 'observe yields the leader');
  await a.resign();
  const bLed = await bLeads;
  assert.ok(bLed.revision > led.revision);
  await waitFor(() => (seen.includes('node-b') ? true : undefined), 10_000, 'observe sees the new leader');
  controller.abort();
  await observing;
  assert.deepEqual(seen.slice(0, 2), ['node-a', 'node-b']);
  await b.resign();
  assert.equal(await b.leader(), undefined);
});

test('SDK: a kept-alive lease survives a leader kill: its key stays, it is not lost', async (t) => {
  // Room for the failover and the client finding the new leader on a loaded machine.
  const TTL_MS = 5000;
  const { cluster, leader } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, cluster.nodes.map((n) => n.address), { deadlineMs: 20_000 });
  const lease = await client.lease({ ttlMs: TTL_MS });
  let lost = '';
  lease.on('lost', (e) => {
    lost = e.reason;
  });
  await client.put('svc/primary', 'me', { lease });
  await leader.kill9();
  const newLeader = await cluster.waitForLeader(20_000);
  t.diagnostic(`new leader ${newLeader.id}`);
  // Two TTLs after the failover the key is still there and the lease kept.
  const until = Date.now() + 2 * TTL_MS;
  while (Date.now() < until) {
    const r = await client.get('svc/primary', { mode: 'linearizable' });
    assert.equal(r.kv?.lease, lease.id, 'the key outlives the failover');
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(lost, '', 'the lease was not lost');
  await lease.revoke();
  assert.equal((await client.get('svc/primary', { mode: 'linearizable' })).found, false, 'revoke deletes the key');
});
