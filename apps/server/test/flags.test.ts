import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, validateConfig } from '@bellwether/node';
import { FLAGS, helpText, parseServeArgs } from '../src/flags';

test('flags win over BELLWETHER_* env, which wins over the config file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-flags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'node.json');
  writeFileSync(file, JSON.stringify({ id: 'n1', listen: '127.0.0.1:7001', 'data-dir': '/from/file', 'heartbeat-ms': 40, 'election-timeout-ms': 400 }));
  const parsed = parseServeArgs(['--config', file, '--data-dir', '/from/flag'], { BELLWETHER_HEARTBEAT_MS: '60', BELLWETHER_DATA_DIR: '/from/env' });
  assert.notEqual(parsed, 'help');
  if (parsed === 'help') return;
  assert.equal(parsed.config.dataDir, '/from/flag');
  assert.equal(parsed.config.heartbeatMs, 60);
  assert.equal(parsed.config.electionTimeoutMs, 400);
  assert.deepEqual([...parsed.config.peers], [['n1', '127.0.0.1:7001']], 'a node alone is its own cluster by default');
});

test('bad flags and config files are ConfigErrors that name the problem', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-flags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const base = ['--id', 'n1', '--listen', '127.0.0.1:7001', '--data-dir', dir];
  assert.throws(() => parseServeArgs([...base, '--bogus'], {}), /unknown flag --bogus/);
  assert.throws(() => parseServeArgs([...base, '--tick-ms', '-1'], {}), /--tick-ms: expected a positive integer/);
  assert.throws(() => parseServeArgs(['--listen', '127.0.0.1:7001', '--data-dir', dir], {}), /--id is required/);
  assert.throws(() => parseServeArgs([...base, '--peers', 'n1=127.0.0.1:7001,n1=127.0.0.1:7002'], {}), /listed twice/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ 'no-such': 1 }));
  assert.throws(() => parseServeArgs([...base, '--config', bad], {}), (e: Error) => e instanceof ConfigError && /unknown setting "no-such"/.test(e.message));
  assert.equal(parseServeArgs(['--help'], {}), 'help');
});

/** A one-node command line in a temp data dir, and the validated config of it plus more flags and env. */
function oneNode(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-flags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const base = ['--id', 'n1', '--listen', '127.0.0.1:7001', '--data-dir', dir];
  const configOf = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const parsed = parseServeArgs(argv, env);
    if (parsed === 'help') throw new Error('unexpected help');
    return validateConfig(parsed.config);
  };
  return { base, configOf };
}

test('--check-quorum-ms: 1000 by default, from flags and BELLWETHER_* env; less than a tick is refused', (t) => {
  const { base, configOf } = oneNode(t);
  assert.equal(configOf(base).checkQuorumMs, 1000);
  assert.equal(configOf(base, { BELLWETHER_CHECK_QUORUM_MS: '3000' }).checkQuorumMs, 3000);
  assert.equal(configOf([...base, '--check-quorum-ms', '500'], { BELLWETHER_CHECK_QUORUM_MS: '3000' }).checkQuorumMs, 500);
  assert.throws(() => configOf([...base, '--check-quorum-ms', '5']), (e: Error) => e instanceof ConfigError && /checkQuorumMs: must be an integer of at least one tick \(10 ms\)/.test(e.message));
});

test('--connected-leader-grace-ms: 500 by default, 0 turns it off, from flags and env; a negative one is refused', (t) => {
  const { base, configOf } = oneNode(t);
  assert.equal(configOf(base).connectedLeaderGraceMs, 500);
  assert.equal(configOf([...base, '--connected-leader-grace-ms', '0']).connectedLeaderGraceMs, 0);
  assert.equal(configOf(base, { BELLWETHER_CONNECTED_LEADER_GRACE_MS: '2000' }).connectedLeaderGraceMs, 2000);
  assert.throws(() => configOf([...base, '--connected-leader-grace-ms', '-1']), /connected-leader-grace-ms|connectedLeaderGraceMs/);
});

test('--help lists every flag', () => {
  const text = helpText();
  for (const f of FLAGS) assert.ok(text.includes(`--${f.name}`), f.name);
});

test('transport security flags: from flags, BELLWETHER_* env and the config file; inconsistent ones are ConfigErrors', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-flags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'node.json');
  writeFileSync(file, JSON.stringify({ 'peer-tls-cert-file': '/p.crt', 'peer-tls-key-file': '/p.key', 'peer-tls-ca-file': '/ca.crt', 'client-cert-auth': true }));
  const base = ['--id', 'n1', '--listen', '127.0.0.1:7001', '--data-dir', dir];
  const parsed = parseServeArgs([...base, '--peer-listen', '127.0.0.1:7101', '--tls-cert-file', '/c.crt', '--config', file], {
    BELLWETHER_TLS_KEY_FILE: '/c.key',
    BELLWETHER_TLS_CA_FILE: '/ca.crt',
  });
  assert.notEqual(parsed, 'help');
  if (parsed === 'help') return;
  const c = validateConfig(parsed.config);
  assert.equal(c.peerListen, '127.0.0.1:7101');
  assert.deepEqual([...c.peers], [['n1', '127.0.0.1:7101']], 'alone, a member names its peer address');
  assert.deepEqual(c.tls, { certFile: '/c.crt', keyFile: '/c.key', caFile: '/ca.crt', clientCertAuth: true });
  assert.deepEqual(c.peerTls, { certFile: '/p.crt', keyFile: '/p.key', caFile: '/ca.crt' });

  const check = (args: string[]) => {
    const p = parseServeArgs([...base, ...args], {});
    if (p !== 'help') validateConfig(p.config);
  };
  assert.throws(() => check(['--tls-cert-file', '/c.crt', '--tls-key-file', '/c.key']), /client TLS needs --peer-listen/);
  assert.throws(() => check(['--peer-listen', '127.0.0.1:7101', '--tls-cert-file', '/c.crt']), /needs both --tls-cert-file and --tls-key-file/);
  assert.throws(() => check(['--peer-listen', '127.0.0.1:7101', '--tls-cert-file', '/c.crt', '--tls-key-file', '/k', '--client-cert-auth']), /--client-cert-auth needs --tls-ca-file/);
  assert.throws(() => check(['--peer-listen', '127.0.0.1:7101', '--peer-tls-cert-file', '/p.crt', '--peer-tls-key-file', '/p.key']), /peer TLS is always mutual/);
  assert.throws(() => check(['--peer-tls-cert-file', '/p.crt', '--peer-tls-key-file', '/p.key', '--peer-tls-ca-file', '/ca']), /needs --peer-listen/);
  assert.throws(() => check(['--peer-advertise', '127.0.0.1:7101']), /--peer-advertise needs --peer-listen/);
  assert.throws(() => check(['--peer-listen', '127.0.0.1:7001']), /must differ from --listen/);
});

test('--metrics-listen is off by default; --log-format is json unless pretty is asked for', () => {
  const base = ['--id', 'n1', '--listen', '127.0.0.1:7001', '--data-dir', '/d'];
  const plain = parseServeArgs(base, {});
  if (plain === 'help') assert.fail('not help');
  assert.equal(plain.config.metricsListen, undefined);
  assert.equal(plain.logFormat, 'json');
  const on = parseServeArgs([...base, '--metrics-listen', '127.0.0.1:9100', '--log-format', 'pretty'], {});
  if (on === 'help') assert.fail('not help');
  assert.equal(on.config.metricsListen, '127.0.0.1:9100');
  assert.equal(on.logFormat, 'pretty');
  assert.equal((parseServeArgs(base, { BELLWETHER_METRICS_LISTEN: '127.0.0.1:9101' }) as { config: { metricsListen?: string } }).config.metricsListen, '127.0.0.1:9101');
  assert.throws(() => parseServeArgs([...base, '--log-format', 'xml'], {}), /--log-format: expected json or pretty, got "xml"/);
  assert.match(helpText(), /--metrics-listen VALUE/);
  assert.match(helpText(), /--log-format VALUE/);
});

test('resource budget flags: defaults, BELLWETHER_* env and the config file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-flags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const base = ['--id', 'n1', '--listen', '127.0.0.1:7001', '--data-dir', dir];
  const defaults = parseServeArgs(base, {});
  assert.notEqual(defaults, 'help');
  if (defaults === 'help') return;
  assert.deepEqual(
    [defaults.config.maxRangeReplyBytes, defaults.config.maxConnections, defaults.config.maxConnectionsPerAddress, defaults.config.maxConcurrentStreams, defaults.config.sessionTtlSeconds, defaults.config.storeMaxOpenFiles],
    [3 * 1024 * 1024, 10_000, 2048, 1024, 3600, 1000],
  );
  const file = join(dir, 'node.json');
  writeFileSync(file, JSON.stringify({ 'max-connections': 50, 'session-ttl-seconds': 60, 'store-max-open-files': 500 }));
  const parsed = parseServeArgs([...base, '--config', file, '--max-concurrent-streams', '8'], { BELLWETHER_MAX_RANGE_REPLY_BYTES: '65536', BELLWETHER_MAX_CONNECTIONS_PER_ADDRESS: '5' });
  assert.notEqual(parsed, 'help');
  if (parsed === 'help') return;
  const c = validateConfig(parsed.config);
  assert.deepEqual([c.maxRangeReplyBytes, c.maxConnections, c.maxConnectionsPerAddress, c.maxConcurrentStreams, c.sessionTtlSeconds, c.storeMaxOpenFiles], [65536, 50, 5, 8, 60, 500]);
  assert.throws(() => parseServeArgs([...base, '--max-range-reply-bytes', '0'], {}), /--max-range-reply-bytes: expected a positive integer/);
  // LevelDB would clamp 10 to 74 without a word: refused, naming the range.
  const few = parseServeArgs([...base, '--store-max-open-files', '10'], {});
  assert.notEqual(few, 'help');
  if (few !== 'help') assert.throws(() => validateConfig(few.config), (e: Error) => e instanceof ConfigError && /storeMaxOpenFiles: must be an integer from 74 to 50000/.test(e.message));
});
