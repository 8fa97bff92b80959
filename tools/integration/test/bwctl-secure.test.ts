import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bwctl, bwctlJson } from '../src/bwctl';
import { TestCluster } from '../src/cluster';
import { enableAuth, tlsClusterOptions } from '../src/secure';

test('bwctl over client TLS (--cacert) and with auth (--user)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-bwctl-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { options, ca } = tlsClusterOptions(dir, 3);
  const caFile = join(dir, 'client-ca.pem');
  writeFileSync(caFile, ca);
  const cluster = await TestCluster.start({ size: 3, ...options });
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  const endpoints = cluster.nodes.map((n) => n.address);
  const tls = ['--cacert', caFile];

  assert.equal((await bwctl([...tls, 'put', 'secure', 'yes'], { endpoints })).code, 0);
  assert.equal((await bwctl([...tls, 'get', 'secure', '--print-value-only'], { endpoints })).stdout, 'yes\n');
  const rows = await bwctlJson<{ id: string | null }[]>([...tls, 'endpoint', 'status'], { endpoints });
  assert.deepEqual(rows.map((r) => r.id), ['n1', 'n2', 'n3']);
  const plain = await bwctl(['--deadline-ms', '1500', 'get', 'secure'], { endpoints });
  assert.equal(plain.code, 1, 'plaintext to a TLS port fails');
  assert.equal((await bwctl(['--cacert', join(dir, 'missing.pem'), 'get', 'secure'], { endpoints })).code, 2);

  await enableAuth(leader.address, 'rootpw', options.credentials);
  const anonymous = await bwctl([...tls, '--deadline-ms', '3000', 'get', 'secure'], { endpoints });
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /UNAUTHENTICATED|PERMISSION_DENIED/);
  const asRoot = await bwctl([...tls, '--user', 'root:rootpw', 'get', 'secure', '--print-value-only'], { endpoints });
  assert.deepEqual([asRoot.code, asRoot.stdout], [0, 'yes\n'], asRoot.stderr);
  const viaEnv = await bwctl([...tls, 'put', 'secure', 'again'], { endpoints, env: { BWCTL_USER: 'root:rootpw' } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  // The per-member commands authenticate too: endpoint status and health, snapshot save.
  const statusAsRoot = await bwctlJson<{ id: string | null; error?: string }[]>([...tls, '--user', 'root:rootpw', 'endpoint', 'status'], { endpoints });
  assert.deepEqual(statusAsRoot.map((r) => r.id), ['n1', 'n2', 'n3'], JSON.stringify(statusAsRoot));
  const health = await bwctl([...tls, '--user', 'root:rootpw', 'endpoint', 'health'], { endpoints });
  assert.equal(health.code, 0, `endpoint health as root: ${health.stdout}${health.stderr}`);
  const anonymousStatus = await bwctl([...tls, 'endpoint', 'health'], { endpoints });
  assert.equal(anonymousStatus.code, 1, 'without a user, endpoint health fails on an auth-enabled cluster');
  const saved = await bwctl([...tls, '--user', 'root:rootpw', 'snapshot', 'save', join(dir, 'snap.db')], { endpoints });
  assert.equal(saved.code, 0, `snapshot save as root: ${saved.stderr}`);
  const wrong = await bwctl([...tls, '--user', 'root:nope', 'get', 'secure'], { endpoints });
  assert.equal(wrong.code, 1);
  assert.equal((await bwctl(['--user', 'nocolon', 'get', 'k'], { endpoints })).code, 2);
});
