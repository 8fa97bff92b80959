import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from '@bellwether/client';
import { bwctl, bwctlJson } from '../src/bwctl';
import { freePorts, NodeProcess, TestCluster, waitFor } from '../src/cluster';

interface KvJson {
  key: string;
  value?: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

interface StatusRow {
  endpoint: string;
  id: string | null;
  role: string | null;
  leaderId: string | null;
  term: number | null;
  commitIndex: number | null;
  appliedIndex: number | null;
  lagEntries: number | null;
  dbSizeBytes: number | null;
  version: string | null;
  errors: string[];
}

const COMMANDS = [
  [],
  ['get'],
  ['put'],
  ['del'],
  ['range'],
  ['member'],
  ['member', 'list'],
  ['member', 'add'],
  ['member', 'promote'],
  ['member', 'remove'],
  ['leader'],
  ['leader', 'transfer'],
  ['endpoint'],
  ['endpoint', 'status'],
  ['endpoint', 'health'],
  ['check'],
  ['check', 'perf'],
  ['watch'],
  ['txn'],
  ['lease'],
  ['lease', 'grant'],
  ['snapshot'],
  ['snapshot', 'save'],
  ['snapshot', 'status'],
  ['snapshot', 'restore'],
];

test('--help on every command exits 0 and shows its usage', async () => {
  for (const path of COMMANDS) {
    const run = await bwctl([...path, '--help']);
    assert.equal(run.code, 0, `bwctl ${path.join(' ')} --help: ${run.stderr}`);
    assert.match(run.stdout, new RegExp(`^Usage: bwctl ${path.length > 0 ? `${path.join(' ')} ` : ''}`), `bwctl ${path.join(' ')} --help`);
  }
});

test('usage errors exit 2 and say what was wrong', async () => {
  const cases: [string[], RegExp][] = [
    [['get'], /missing required argument 'key'/],
    [['--endpoints', 'nohost', 'get', 'k'], /--endpoints: "nohost" is not host:port/],
    [['get', 'k', '--read-mode', 'eventually'], /--read-mode.*eventually.*linearizable/s],
    [['range'], /give --prefix P, or --from A/],
    [['range', '--prefix', 'a', '--from', 'b'], /not both/],
    [['range', '--prefix', 'a', '--limit', '0'], /--limit: expected a positive integer/],
    [['-w', 'yaml', 'member', 'list'], /yaml/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['snapshot', 'restore', 'f'], /required option '--data-dir/],
  ];
  for (const [args, message] of cases) {
    const run = await bwctl(args);
    assert.equal(run.code, 2, `bwctl ${args.join(' ')}: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr, message, `bwctl ${args.join(' ')}`);
  }
});

test('an unreachable cluster: exit 1 with the SDK\'s error', async () => {
  const [port] = await freePorts(1);
  const run = await bwctl(['--deadline-ms', '800', 'get', 'k'], { endpoints: [`127.0.0.1:${port}`] });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^bwctl: .*\((UNAVAILABLE|DEADLINE_EXCEEDED)\)\n$/);
});

describe('bwctl against a 3-node cluster', () => {
  let cluster: TestCluster;
  let endpoints: string[];
  before(async () => {
    cluster = await TestCluster.start({ size: 3 });
    endpoints = cluster.nodes.map((n) => n.address);
    await cluster.waitForLeader();
  });
  after(() => cluster.stop());

  test('put, get, del', async () => {
    const put = await bwctlJson<{ key: string; revision: number }>(['put', 'greeting', 'hello'], { endpoints });
    assert.equal(put.key, 'greeting');
    assert.ok(put.revision > 0);
    const got = await bwctlJson<KvJson & { revision: number }>(['get', 'greeting'], { endpoints });
    assert.equal(got.value, 'hello');
    assert.equal(got.modRevision, put.revision);
    const table = await bwctl(['get', 'greeting'], { endpoints });
    assert.equal(table.code, 0);
    assert.match(table.stdout, /\| KEY\s+\| VALUE\s+\| CREATE REV \| MOD REV \| VERSION \|/);
    assert.match(table.stdout, /\| greeting \| hello \|/);
    for (const mode of ['linearizable', 'read-your-writes', 'any-follower']) {
      const v = await bwctl(['get', 'greeting', '--print-value-only', '--read-mode', mode], { endpoints });
      assert.deepEqual([v.code, v.stdout], [0, 'hello\n'], `read mode ${mode}: ${v.stderr}`);
    }
    const again = await bwctlJson<{ revision: number; prev: KvJson }>(['put', 'greeting', 'bye', '--prev-kv'], { endpoints });
    assert.equal(again.prev.value, 'hello');
    const refused = await bwctl(['put', 'greeting', 'x', '--expected-mod-revision', String(put.revision)], { endpoints });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not written; the key is not at revision/);
    const fromStdin = await bwctl(['put', 'piped', '-'], { endpoints, input: 'from stdin' });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal((await bwctlJson<KvJson>(['get', 'piped'], { endpoints })).value, 'from stdin');

    const del = await bwctlJson<{ deleted: number; prev: KvJson }>(['del', 'greeting', '--prev-kv'], { endpoints });
    assert.equal(del.deleted, 1);
    assert.equal(del.prev.value, 'bye');
    const missing = await bwctl(['get', 'greeting'], { endpoints });
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /key "greeting" not found/);
  });

  test('range by prefix, by from/to, with a limit and keys only', async () => {
    for (const k of ['fruit/apple', 'fruit/banana', 'fruit/cherry', 'veg/leek']) await bwctl(['put', k, `v-${k}`], { endpoints });
    const prefix = await bwctlJson<KvJson[]>(['range', '--prefix', 'fruit/'], { endpoints });
    assert.deepEqual(prefix.map((kv) => [kv.key, kv.value]), [['fruit/apple', 'v-fruit/apple'], ['fruit/banana', 'v-fruit/banana'], ['fruit/cherry', 'v-fruit/cherry']]);
    const span = await bwctlJson<KvJson[]>(['range', '--from', 'fruit/b', '--to', 'g', '--read-mode', 'any-follower'], { endpoints });
    assert.deepEqual(span.map((kv) => kv.key), ['fruit/banana', 'fruit/cherry']);
    const open = await bwctlJson<KvJson[]>(['range', '--from', 'fruit/c'], { endpoints });
    assert.deepEqual(open.map((kv) => kv.key), ['fruit/cherry', 'piped', 'veg/leek']);
    const limited = await bwctlJson<KvJson[]>(['range', '--prefix', 'fruit/', '--limit', '2', '--keys-only'], { endpoints });
    assert.deepEqual(limited.map((kv) => kv.key), ['fruit/apple', 'fruit/banana']);
    assert.ok(limited.every((kv) => kv.value === undefined), 'keys only');
  });

  test('member list', async () => {
    const m = await bwctlJson<{ leaderId: string; members: { id: string; address: string; voter: boolean }[] }>(['member', 'list'], { endpoints });
    // A loaded machine may have elected another leader since the suite started: any member will do.
    assert.ok(['n1', 'n2', 'n3'].includes(m.leaderId), m.leaderId);
    assert.deepEqual(m.members.map((x) => [x.id, x.address, x.voter]).sort(), cluster.nodes.map((n) => [n.id, n.address, true]));
    const table = await bwctl(['member', 'list'], { endpoints });
    assert.equal(table.stdout.split('\n').filter((l) => /^\| n\d +\| [^|]+\| yes +\| \* +\|/.test(l)).length, 1, `one leader row:\n${table.stdout}`);
  });

  test('endpoint status: one row per member with role, leader, term, indexes, lag, DB size and version', async () => {
    // One answer in which every member is caught up and names the same leader (a loaded machine may hold an election meanwhile).
    const rows = await waitFor(async () => {
      const r = await bwctlJson<StatusRow[]>(['endpoint', 'status'], { endpoints });
      return r.every((x) => x.lagEntries === 0 && x.leaderId === r[0]?.leaderId) ? r : undefined;
    }, 30_000, 'every member caught up under one leader');
    assert.deepEqual(rows.map((r) => r.endpoint), endpoints);
    assert.deepEqual(rows.map((r) => r.id), ['n1', 'n2', 'n3']);
    const leaderRows = rows.filter((r) => r.role === 'leader').map((r) => r.id);
    assert.deepEqual(leaderRows, [rows[0]!.leaderId]);
    for (const r of rows) {
      assert.ok((r.term ?? 0) >= 1);
      assert.ok((r.commitIndex ?? 0) >= 5 && r.appliedIndex === r.commitIndex, JSON.stringify(r));
      assert.ok((r.dbSizeBytes ?? 0) > 0);
      assert.equal(r.version, '0.1.0');
      assert.deepEqual(r.errors, []);
    }
    const table = await bwctl(['endpoint', 'status', '--cluster'], { endpoints: [endpoints[0]!] });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /\| ENDPOINT +\| ID +\| ROLE +\| LEADER +\| TERM +\| COMMIT +\| APPLIED +\| LAG +\| DB SIZE +\| VERSION +\| ERRORS +\|/);
    assert.equal(table.stdout.split('\n').filter((l) => /\| n\d /.test(l)).length, 3, '--cluster lists every member');
  });

  test('endpoint health', async () => {
    const healthy = await bwctlJson<{ endpoint: string; healthy: boolean }[]>(['endpoint', 'health'], { endpoints });
    assert.deepEqual(healthy.map((h) => h.healthy), [true, true, true]);
  });

  test('check perf passes a bar the cluster meets and fails one it cannot, leaving no keys', async () => {
    const pass = await bwctlJson<{ pass: boolean; writes: number; checks: { check: string; pass: boolean }[] }>(
      ['check', 'perf', '--duration-s', '2', '--min-throughput', '1', '--max-p99-ms', '60000'],
      { endpoints },
    );
    assert.equal(pass.pass, true);
    assert.ok(pass.writes > 0);
    const fail = await bwctl(['check', 'perf', '--duration-s', '1', '--min-throughput', '100000000'], { endpoints });
    assert.equal(fail.code, 1);
    assert.match(fail.stdout, /\| throughput +\| FAIL +\|/);
    assert.match(fail.stderr, /check perf: FAIL/);
    assert.deepEqual(await bwctlJson<KvJson[]>(['range', '--prefix', '/bwctl/check-perf/'], { endpoints }), []);
  });

  test('a member down: endpoint status and health name it and exit 1', async () => {
    const follower = cluster.followers(await cluster.waitForLeader())[0]!;
    await follower.kill9();
    const status = await bwctl(['-w', 'json', '--deadline-ms', '1000', 'endpoint', 'status'], { endpoints });
    assert.equal(status.code, 1);
    const rows = JSON.parse(status.stdout) as StatusRow[];
    const down = rows.find((r) => r.endpoint === follower.address)!;
    assert.equal(down.id, null);
    assert.equal(down.errors.length, 1);
    assert.match(status.stderr, /1 of 3 endpoints did not answer/);
    const health = await bwctl(['--deadline-ms', '1000', 'endpoint', 'health', '--cluster'], { endpoints });
    assert.equal(health.code, 1);
    assert.match(health.stdout, new RegExp(`\\| ${follower.address.replace(/\./g, '\\.')} +\\| unhealthy +\\|`));
    assert.match(health.stderr, /1 of 3 endpoints are unhealthy/);
  });
});

test('snapshot save, status and restore: a new cluster serves every key up to the snapshot\'s revision', async (t) => {
  const source = await TestCluster.start({ size: 3 });
  t.after(() => source.stop());
  await source.waitForLeader();
  const endpoints = source.nodes.map((n) => n.address);
  // Seeded through the SDK in this process (bwctl put and del have their own tests above).
  const client = await connect({ endpoints });
  for (let i = 0; i < 40; i++) await client.put(`snap/${i}`, `value-${i}-${'x'.repeat(i * 10)}`);
  await client.delete('snap/0');
  await client.close();
  const before = await bwctlJson<KvJson[]>(['range', '--prefix', 'snap/'], { endpoints });

  const file = join(source.root, 'backup.bwsnap');
  const saved = await bwctlJson<{ revision: number; sha256: string; memberId: string; from: string }>(['snapshot', 'save', file], { endpoints });
  assert.ok(saved.revision >= 41);
  assert.match(saved.sha256, /^[0-9a-f]{64}$/);
  const status = await bwctlJson<{ revision: number; sha256: string }>(['snapshot', 'status', file]);
  assert.deepEqual([status.revision, status.sha256], [saved.revision, saved.sha256]);
  // A write after the snapshot is not in it.
  await bwctl(['put', 'snap/after', 'later'], { endpoints });

  // A corrupt copy is refused by status and by restore, and restore leaves the data dir empty.
  const corrupt = join(source.root, 'corrupt.bwsnap');
  const bytes = readFileSync(file);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 40) ^ 0xff, bytes.length - 40);
  writeFileSync(corrupt, bytes);
  const bad = await bwctl(['snapshot', 'status', corrupt]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /checksum mismatch|corrupt/);

  const ports = await freePorts(3);
  const members = ports.map((p, i) => ({ id: `r${i + 1}`, address: `127.0.0.1:${p}`, dataDir: join(source.root, `restored-r${i + 1}`) }));
  const peers = members.map((m) => `${m.id}=${m.address}`).join(',');
  const badRestore = await bwctl(['snapshot', 'restore', corrupt, '--data-dir', members[0]!.dataDir, '--id', 'r1', '--peers', peers]);
  assert.equal(badRestore.code, 1);
  assert.match(badRestore.stderr, /checksum mismatch|corrupt/);
  assert.deepEqual(existsSync(members[0]!.dataDir) ? readdirSync(members[0]!.dataDir) : [], [], 'a refused restore leaves nothing behind');
  const nonEmpty = join(source.root, 'occupied');
  mkdirSync(nonEmpty);
  writeFileSync(join(nonEmpty, 'something'), 'x');
  const refused = await bwctl(['snapshot', 'restore', file, '--data-dir', nonEmpty, '--id', 'r1', '--peers', peers]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /not empty/);
  const wrongId = await bwctl(['snapshot', 'restore', file, '--data-dir', members[0]!.dataDir, '--id', 'zz', '--peers', peers]);
  assert.equal(wrongId.code, 1);
  assert.match(wrongId.stderr, /"zz" is not among --peers/);

  for (const m of members) {
    const r = await bwctlJson<{ revision: number }>(['snapshot', 'restore', file, '--data-dir', m.dataDir, '--id', m.id, '--peers', peers]);
    assert.equal(r.revision, saved.revision);
  }
  const nodes = members.map((m) => new NodeProcess(m.id, m.address, m.dataDir, ['--id', m.id, '--listen', m.address, '--data-dir', m.dataDir, '--peers', peers], source.root));
  t.after(() => Promise.all(nodes.map((n) => n.stop())));
  for (const n of nodes) n.start();
  const restored = members.map((m) => m.address);
  await waitFor(async () => (await bwctl(['--deadline-ms', '1000', 'endpoint', 'health'], { endpoints: restored })).code === 0 || undefined, 30_000, 'the restored cluster is healthy');

  const after = await bwctlJson<KvJson[]>(['range', '--prefix', 'snap/'], { endpoints: restored });
  assert.deepEqual(after, before, 'every key, value and revision up to the snapshot');
  assert.equal((await bwctl(['get', 'snap/after'], { endpoints: restored })).code, 3, 'nothing after the snapshot');
  const next = await bwctlJson<{ revision: number }>(['put', 'snap/new', 'v'], { endpoints: restored });
  assert.ok(next.revision > saved.revision, 'writes continue after the snapshot\'s revision');
  for (const m of members) {
    await waitFor(
      async () => (await bwctl(['get', 'snap/new', '--read-mode', 'any-follower', '--print-value-only'], { endpoints: [m.address] })).stdout === 'v\n' || undefined,
      10_000,
      `${m.id} has the new write`,
    );
  }
});
