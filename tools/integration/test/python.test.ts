import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '@bellwether/client';
import type * as grpc from '@grpc/grpc-js';
import { clientsFor, closeClients, freePorts, NodeProcess, TestCluster, unary, waitFor } from '../src/cluster';
import { generatePythonStubs, PYTHON, PYTHON_SCRIPTS } from '../src/python';

test('Python (grpcio, stubs generated from protos/) calls Put/Get/Range/Delete, Txn and Watch and lists services by reflection', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'bellwether-py-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  generatePythonStubs(work);

  const [port] = await freePorts(1);
  const address = `127.0.0.1:${port}`;
  const dataDir = join(work, 'data');
  const node = new NodeProcess('n1', address, dataDir, ['--id', 'n1', '--listen', address, '--data-dir', dataDir], work);
  t.after(async () => {
    closeClients();
    await node.stop();
  });
  node.start();
  await waitFor(
    () => unary(clientsFor(address).kv as unknown as grpc.Client, 'Put', { key: Buffer.from('warm'), value: Buffer.from('up') }, 500).then(() => true),
    10_000,
    'the node takes writes',
  );

  const out = JSON.parse(execFileSync(PYTHON, [join(PYTHON_SCRIPTS, 'interop.py'), work, address], { encoding: 'utf8' }));
  assert.ok(out.put_revision > 0);
  assert.equal(out.get_value, 'from python');
  assert.equal(out.get_mod_revision, out.put_revision);
  assert.deepEqual(out.range_keys, ['py/1', 'py/2']);
  assert.equal(out.deleted, 1);
  assert.deepEqual(out.big_value, [1024 * 1024, true]);
  assert.deepEqual(out.range_pages, [['py-page/0', 'py-page/1'], ['py-page/2', 'py-page/3']], 'pages of 1 MiB values stop at the 3 MiB byte budget');
  assert.deepEqual(out.range_keys_only, [4, 0, false], 'keys only: no values, and the keys fit one page');
  assert.deepEqual(out.empty_key, ['INVALID_ARGUMENT', 'key: must be 1..4096 bytes, got 0']);
  assert.equal(out.role, 'ROLE_LEADER');
  assert.ok(out.watch_leader_id, 'WatchLeader names the leader');
  assert.match(out.members_fingerprint, /^[0-9a-f]{8}$/);
  const [succeeded, txnRevision, stockValue, stockRevision] = out.txn;
  assert.deepEqual([succeeded, stockValue, stockRevision], [true, '3', txnRevision]);
  assert.deepEqual(out.txn_again, [false, '3']);
  assert.equal(out.watch_created, true);
  // py/1 put, py/2 put, py/2 delete, py/stock put by the transaction: in revision order.
  assert.deepEqual(
    out.watch_events.map((e: [string, string, number]) => [e[0], e[1]]),
    [
      ['PUT', 'py/1'],
      ['PUT', 'py/2'],
      ['DELETE', 'py/2'],
      ['PUT', 'py/stock'],
    ],
  );
  assert.equal(out.watch_events[3][2], txnRevision);
  assert.deepEqual(out.lease, {
    granted_ttl_ms: 5000,
    renewed_ttl_ms: 5000,
    time_to_live: [true, 5000, ['py-leased']],
    listed: true,
    revoked: [1, false],
    revoke_again: 'NOT_FOUND',
  });
  // A one-member cluster: the leader is already the target; there is no other voter to hand over to.
  assert.deepEqual(out.transfer_to_self, ['n1', true]);
  assert.equal(out.transfer_unknown, 'NOT_FOUND');
  assert.equal(out.transfer_alone, 'FAILED_PRECONDITION');
  assert.equal(out.added_role, 'MEMBER_ROLE_LEARNER');
  // n1's incarnation (16 hex digits) is recorded once it leads; the learner's only once it connects.
  assert.deepEqual(out.members.find((m: [string]) => m[0] === 'py-learner'), ['py-learner', 'MEMBER_ROLE_LEARNER', 0]);
  assert.deepEqual(out.members.find((m: [string]) => m[0] === 'n1')?.slice(0, 2), ['n1', 'MEMBER_ROLE_VOTER']);
  assert.equal(out.duplicate, 'ALREADY_EXISTS');
  assert.deepEqual(out.after_remove, ['n1']);
  assert.equal(out.describe.member_id, 'n1');
  assert.match(out.describe.version, /^\d+\.\d+\.\d+/);
  assert.ok(Number(out.describe.db_size_bytes) > 0);
  assert.ok(out.snapshot.revision >= out.put_revision, 'the snapshot holds the writes before it');
  assert.ok(out.snapshot.data_bytes > 0);
  assert.equal(out.snapshot.checksum_ok, true, 'the trailer\'s SHA-256 matches the data');
  for (const svc of ['bellwether.kv.v1.KV', 'bellwether.cluster.v1.Cluster', 'bellwether.maintenance.v1.Maintenance', 'bellwether.lease.v1.Lease', 'grpc.health.v1.Health']) {
    assert.ok(out.services.includes(svc), `reflection lists ${svc}: ${out.services}`);
  }
});

test('Python sees a full pending-writes budget as RESOURCE_EXHAUSTED with a retry hint in the trailers, and nothing refused is applied', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'bellwether-py-budget-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  generatePythonStubs(work);
  // Room for about two 512 KiB writes at a time.
  const cluster = await TestCluster.start({ size: 3, args: ['--max-value-bytes', String(512 * 1024), '--max-pending-write-bytes', String(1100 * 1024)] });
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  // With both followers stopped nothing commits: what is admitted stays pending and fills the budget.
  const resumeFollowers = cluster.pauseFollowers(leader, t);

  const out = JSON.parse(execFileSync(PYTHON, [join(PYTHON_SCRIPTS, 'budget_interop.py'), work, leader.address, String(512 * 1024), '12'], { encoding: 'utf8' }));
  const codes: string[] = out.codes;
  assert.ok(codes.every((c) => c === 'RESOURCE_EXHAUSTED' || c === 'DEADLINE_EXCEEDED'), codes.join(','));
  assert.ok(out.refused.length >= 8, `refused ${out.refused.length} of 12: ${codes.join(',')}`);
  const first = out.refused[0];
  assert.match(first.details, /--max-pending-write-bytes.*nothing was applied/);
  const hint = Number(first.retry_after_ms);
  assert.ok(hint >= 20 && hint <= 5000, `retry hint ${first.retry_after_ms}`);

  resumeFollowers();
  // The leader may have stepped down meanwhile (it heard from no follower): read through the SDK, which finds the current one.
  const client = await connect({ endpoints: cluster.nodes.map((n) => n.address), deadlineMs: 30_000 });
  t.after(() => client.close());
  for (const { key } of out.refused.slice(0, 3)) assert.equal((await client.get(key, { mode: 'linearizable' })).kv, undefined, `${key} was refused, so it is not applied`);
});
