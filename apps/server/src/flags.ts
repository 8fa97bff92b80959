import { readFileSync } from 'node:fs';
import { ConfigError, DEFAULTS, type NodeConfig, parsePeers } from '@bellwether/node';
import { FlagSyntaxError, readFlags } from './flag-reader';

interface FlagSpec {
  name: string;
  help: string;
  kind: 'string' | 'int' | 'bool';
  default?: string | number | boolean;
}

/** Every flag of `bellwether serve`; each also reads BELLWETHER_<NAME> and the config file's "<name>". */
export const FLAGS: FlagSpec[] = [
  { name: 'id', kind: 'string', help: 'this member\'s id, e.g. n1 (required)' },
  { name: 'listen', kind: 'string', help: 'host:port to serve clients and peers on (required)' },
  { name: 'advertise', kind: 'string', help: 'address others reach this node at (default: --listen)' },
  { name: 'data-dir', kind: 'string', help: 'directory of this node\'s data: the Raft log\'s segment files (wal/) and the LevelDB of its state (required)' },
  { name: 'peers', kind: 'string', help: 'initial members as id=host:port,... including this node (default: this node alone); used only when the data dir is new' },
  { name: 'peer-dial', kind: 'string', help: 'dial some members at other addresses than their own, as id=host:port,... (e.g. through a proxy)' },
  { name: 'cluster-id', kind: 'string', help: 'cluster id (default: derived from --peers); a data dir of another cluster is refused' },
  {
    name: 'initial-cluster-state',
    kind: 'string',
    default: 'new',
    help: 'used only when the data dir is new: "new" bootstraps the cluster of --peers; "existing" joins a running cluster this member was added to (Cluster.AddMember), with --peers listing its current members',
  },
  { name: 'force-new-cluster', kind: 'bool', default: false, help: 'disaster recovery: start this surviving member\'s data dir as a new one-member cluster (docs/operations.md)' },
  { name: 'heartbeat-ms', kind: 'int', default: DEFAULTS.heartbeatMs, help: 'leader heartbeat interval' },
  { name: 'election-timeout-ms', kind: 'int', default: DEFAULTS.electionTimeoutMs, help: 'minimum election timeout; randomised up to twice this' },
  {
    name: 'check-quorum-ms',
    kind: 'int',
    default: DEFAULTS.checkQuorumMs,
    help: 'a leader that hears from no majority of voters for this long steps down (at least the election timeout)',
  },
  {
    name: 'connected-leader-grace-ms',
    kind: 'int',
    default: DEFAULTS.connectedLeaderGraceMs,
    help: 'a follower still connected to its leader waits this much longer than the election timeout before campaigning (0: no longer); a dead leader\'s connection closes',
  },
  { name: 'tick-ms', kind: 'int', default: DEFAULTS.tickMs, help: 'Raft clock resolution' },
  { name: 'max-key-bytes', kind: 'int', default: DEFAULTS.maxKeyBytes, help: 'largest key accepted' },
  { name: 'max-value-bytes', kind: 'int', default: DEFAULTS.maxValueBytes, help: 'largest value accepted' },
  { name: 'max-new-streams-per-second', kind: 'int', default: DEFAULTS.maxNewStreamsPerSecond, help: 'new client streams (KV.Stream, WatchLeader) admitted per second; more get RESOURCE_EXHAUSTED with bellwether-retry-after-ms' },
  { name: 'max-pending-proposals', kind: 'int', default: DEFAULTS.maxPendingProposals, help: 'writes waiting for commit, and reads waiting to catch up, before RESOURCE_EXHAUSTED' },
  { name: 'max-read-wait-ms', kind: 'int', default: DEFAULTS.maxReadWaitMs, help: 'longest a read waits for this node to catch up' },
  { name: 'log-retention-entries', kind: 'int', default: DEFAULTS.logRetentionEntries, help: 'applied entries kept for lagging followers before they need a snapshot' },
  { name: 'compact-every-entries', kind: 'int', default: DEFAULTS.compactEveryEntries, help: 'compact the log in steps of this many entries' },
  { name: 'log-retention-bytes', kind: 'int', default: DEFAULTS.logRetentionBytes, help: 'applied log kept for lagging followers is also at most this many bytes (the smaller bound wins)' },
  { name: 'compact-every-bytes', kind: 'int', default: DEFAULTS.compactEveryBytes, help: 'compact once the stored log exceeds --log-retention-bytes by this many bytes' },
  { name: 'log-catch-up-bytes', kind: 'int', default: DEFAULTS.logCatchUpBytes, help: 'applied log a leader keeps beyond --log-retention-bytes for a follower that is catching up (being sent a snapshot, or replicating behind the retention); past it, that follower needs a snapshot again' },
  { name: 'commit-hold-ms', kind: 'int', default: DEFAULTS.commitHoldMs, help: 'the leader holds a commit-only append up to this long so the next write\'s append carries the commit (fewer messages per write; followers learn the last commit that much later, and not at all if the leader dies meanwhile). 0 sends it at once' },
  { name: 'log-memory-bytes', kind: 'int', default: DEFAULTS.logMemoryBytes, help: 'log entry data kept in memory; older entries are read back from disk when a follower needs them' },
  { name: 'max-pending-write-bytes', kind: 'int', default: DEFAULTS.maxPendingWriteBytes, help: 'bytes of writes the leader holds before new writes wait (within their deadline) or get RESOURCE_EXHAUSTED' },
  {
    name: 'max-range-reply-bytes',
    kind: 'int',
    default: DEFAULTS.maxRangeReplyBytes,
    help: 'a Range page stops before the key that takes its keys and values past this many bytes and answers more=true with a continuation (at least one key per page)',
  },
  {
    name: 'store-max-open-files',
    kind: 'int',
    default: DEFAULTS.storeMaxOpenFiles,
    help: 'files LevelDB keeps open (74 to 50000); its tables are mapped into memory, so this bounds the RSS they take (~2 MiB per table read). Lower it to bound memory at the cost of reads in a database of more tables than this (docs/large-values.md)',
  },
  { name: 'max-connections', kind: 'int', default: DEFAULTS.maxConnections, help: 'client connections served at once; calls on one more are answered RESOURCE_EXHAUSTED and it is closed' },
  { name: 'max-connections-per-address', kind: 'int', default: DEFAULTS.maxConnectionsPerAddress, help: 'client connections served at once from one remote address; more are refused as with --max-connections' },
  { name: 'max-concurrent-streams', kind: 'int', default: DEFAULTS.maxConcurrentStreams, help: 'concurrent calls (HTTP/2 streams) per client connection; a client queues those past it' },
  {
    name: 'session-ttl-seconds',
    kind: 'int',
    default: DEFAULTS.sessionTtlSeconds,
    help: 'forget a client session (the results kept for exactly-once retries) not written for this long; the leader decides and every member applies it through the log',
  },
  { name: 'peer-listen', kind: 'string', help: 'host:port to serve the peer protocol on, apart from clients; --peers then names these peer addresses' },
  { name: 'peer-advertise', kind: 'string', help: 'address other members reach the peer port at (default: --peer-listen)' },
  { name: 'tls-cert-file', kind: 'string', help: 'PEM certificate for TLS on the client port (needs --tls-key-file and --peer-listen)' },
  { name: 'tls-key-file', kind: 'string', help: 'PEM private key of --tls-cert-file' },
  { name: 'tls-ca-file', kind: 'string', help: 'PEM CA that signs client certificates (for --client-cert-auth)' },
  { name: 'client-cert-auth', kind: 'bool', default: false, help: 'require clients to present a certificate signed by --tls-ca-file' },
  { name: 'peer-tls-cert-file', kind: 'string', help: 'PEM certificate of this member on the peer port (CN or a DNS SAN must be its --id); mutual TLS' },
  { name: 'peer-tls-key-file', kind: 'string', help: 'PEM private key of --peer-tls-cert-file' },
  { name: 'peer-tls-ca-file', kind: 'string', help: 'PEM CA that signs every member\'s peer certificate' },
  { name: 'auth-token-ttl', kind: 'int', default: 300, help: 'seconds an auth token (Auth.Authenticate) stays valid' },
  { name: 'watch-history-revisions', kind: 'int', default: 100_000, help: 'watch history: keep the changes of this many latest revisions; a watch from before them gets a compacted error' },
  { name: 'watch-history-bytes', kind: 'int', default: 64 * 1024 * 1024, help: 'watch history: keep at most this many bytes of changes in memory' },
  { name: 'watch-max-lag-bytes', kind: 'int', default: 16 * 1024 * 1024, help: 'cancel a watch whose client leaves more than this many bytes of changes unread' },
  {
    name: 'shutdown-timeout-ms',
    kind: 'int',
    default: DEFAULTS.shutdownTimeoutMs,
    help: 'on SIGTERM/SIGINT: hand leadership over, end client streams and exit within this many ms whatever clients do',
  },
  { name: 'log-level', kind: 'string', default: 'info', help: 'trace, debug, info, warn, error or silent' },
  { name: 'log-format', kind: 'string', default: 'json', help: 'json (one object per line, for machines) or pretty (coloured lines, for people at a terminal)' },
  { name: 'metrics-listen', kind: 'string', help: 'host:port for HTTP /metrics (Prometheus), /healthz, /readyz and the dashboard at / (default: off)' },
  { name: 'config', kind: 'string', help: 'JSON file with any of these settings by flag name, e.g. {"id": "n1", "heartbeat-ms": 50}' },
  {
    name: 'unsafe-follower-linearizable-reads',
    kind: 'bool',
    default: false,
    help: 'DEBUG ONLY: followers serve linearizable reads from local state (breaks linearizability; for testing checkers)',
  },
];

export function helpText(): string {
  const lines = [
    'Usage: bellwether serve [flags]',
    '',
    'Runs one Bellwether node. Every flag can also be set as an environment',
    'variable BELLWETHER_<FLAG> (e.g. BELLWETHER_DATA_DIR) or in a JSON config',
    'file (--config); flags win over the environment, which wins over the file.',
    '',
    'Flags:',
  ];
  for (const f of FLAGS) {
    const def = f.default !== undefined ? ` (default ${String(f.default)})` : '';
    lines.push(`  --${f.name}${f.kind === 'int' ? ' N' : f.kind === 'string' ? ' VALUE' : ''}`.padEnd(44) + f.help + def);
  }
  lines.push('  --help'.padEnd(44) + 'print this help');
  lines.push('', 'Example:', '  bellwether serve --id n1 --listen 127.0.0.1:7001 --data-dir ./data/n1 \\', '    --peers n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003');
  return lines.join('\n');
}

type Raw = Record<string, string | boolean | undefined>;

/** Parses argv (after the subcommand), the environment and an optional config file. */
export type LogFormat = 'json' | 'pretty';

export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv): { config: NodeConfig; logLevel: string; logFormat: LogFormat } | 'help' {
  const fromFlags = readCommandLine(argv);
  if (fromFlags === 'help') return 'help';
  const fromEnv: Raw = {};
  for (const f of FLAGS) {
    const v = env[`BELLWETHER_${f.name.toUpperCase().replace(/-/g, '_')}`];
    if (v !== undefined && v !== '') fromEnv[f.name] = v;
  }
  const configPath = (fromFlags['config'] ?? fromEnv['config']) as string | undefined;
  const fromFile: Raw = configPath ? readConfigFile(configPath) : {};

  const get = (name: string) => fromFlags[name] ?? fromEnv[name] ?? fromFile[name];
  const str = (name: string) => {
    const v = get(name);
    return v === undefined ? undefined : String(v);
  };
  const int = (name: string, min = 1) => {
    const spec = FLAGS.find((f) => f.name === name)!;
    const v = get(name) ?? spec.default;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name}: expected ${min === 0 ? 'an integer >= 0' : 'a positive integer'}, got "${String(v)}"`);
    return n;
  };
  const bool = (name: string) => {
    const v = get(name);
    return v === true || v === 'true' || v === '1';
  };

  const id = str('id');
  const listen = str('listen');
  const dataDir = str('data-dir');
  if (!id) throw new ConfigError('--id is required (see --help)');
  if (!listen) throw new ConfigError('--listen is required (see --help)');
  if (!dataDir) throw new ConfigError('--data-dir is required (see --help)');
  const peers = parsePeers(str('peers') ?? `${id}=${str('peer-advertise') ?? str('peer-listen') ?? listen}`);
  const logFormat = str('log-format') ?? 'json';
  if (logFormat !== 'json' && logFormat !== 'pretty') throw new ConfigError(`--log-format: expected json or pretty, got "${logFormat}"`);
  const initialClusterState = str('initial-cluster-state') ?? 'new';
  if (initialClusterState !== 'new' && initialClusterState !== 'existing') {
    throw new ConfigError(`--initial-cluster-state: expected "new" or "existing", got "${initialClusterState}"`);
  }
  const tlsFiles = (prefix: string) => {
    const certFile = str(`${prefix}tls-cert-file`);
    const keyFile = str(`${prefix}tls-key-file`);
    const caFile = str(`${prefix}tls-ca-file`);
    if (certFile === undefined && keyFile === undefined && caFile === undefined) return undefined;
    return { certFile: certFile ?? '', keyFile: keyFile ?? '', caFile };
  };
  const tls = tlsFiles('');
  const peerTls = tlsFiles('peer-');
  if (bool('client-cert-auth') && !tls) throw new ConfigError('--client-cert-auth needs --tls-cert-file, --tls-key-file and --tls-ca-file');
  return {
    logLevel: str('log-level') ?? 'info',
    logFormat,
    config: {
      id,
      listen,
      advertise: str('advertise'),
      dataDir,
      metricsListen: str('metrics-listen'),
      peers,
      clusterId: str('cluster-id'),
      peerDial: str('peer-dial') ? parsePeers(str('peer-dial')!, '--peer-dial') : undefined,
      heartbeatMs: int('heartbeat-ms'),
      electionTimeoutMs: int('election-timeout-ms'),
      tickMs: int('tick-ms'),
      checkQuorumMs: int('check-quorum-ms'),
      connectedLeaderGraceMs: int('connected-leader-grace-ms', 0),
      maxKeyBytes: int('max-key-bytes'),
      maxValueBytes: int('max-value-bytes'),
      maxPendingProposals: int('max-pending-proposals'),
      maxNewStreamsPerSecond: int('max-new-streams-per-second'),
      maxReadWaitMs: int('max-read-wait-ms'),
      logRetentionEntries: int('log-retention-entries'),
      compactEveryEntries: int('compact-every-entries'),
      logRetentionBytes: int('log-retention-bytes'),
      compactEveryBytes: int('compact-every-bytes'),
      logCatchUpBytes: int('log-catch-up-bytes'),
      commitHoldMs: int('commit-hold-ms', 0),
      logMemoryBytes: int('log-memory-bytes'),
      maxPendingWriteBytes: int('max-pending-write-bytes'),
      maxRangeReplyBytes: int('max-range-reply-bytes'),
      storeMaxOpenFiles: int('store-max-open-files'),
      maxConnections: int('max-connections'),
      maxConnectionsPerAddress: int('max-connections-per-address'),
      maxConcurrentStreams: int('max-concurrent-streams'),
      sessionTtlSeconds: int('session-ttl-seconds'),
      watchHistoryRevisions: int('watch-history-revisions'),
      watchHistoryBytes: int('watch-history-bytes'),
      watchMaxLagBytes: int('watch-max-lag-bytes'),
      unsafeFollowerLinearizableReads: bool('unsafe-follower-linearizable-reads'),
      shutdownTimeoutMs: int('shutdown-timeout-ms'),
      initialClusterState,
      forceNewCluster: bool('force-new-cluster'),
      authTokenTtlSeconds: int('auth-token-ttl'),
      peerListen: str('peer-listen'),
      peerAdvertise: str('peer-advertise'),
      tls: tls && { ...tls, clientCertAuth: bool('client-cert-auth') },
      peerTls: peerTls && { ...peerTls, caFile: peerTls.caFile ?? '' },
    },
  };
}

function readCommandLine(argv: string[]): Raw | 'help' {
  const types = Object.fromEntries(FLAGS.map((f) => [f.name, f.kind === 'bool' ? 'boolean' : 'string'] as const));
  try {
    const flags = readFlags(argv, types, { help: ['--help', '-h'] });
    return flags === 'help' ? 'help' : Object.fromEntries(flags);
  } catch (err) {
    if (!(err instanceof FlagSyntaxError)) throw err;
    throw new ConfigError(err.reason === 'missing-value' ? err.message : `${err.message} (see --help)`);
  }
}

function readConfigFile(path: string): Raw {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`--config ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`--config ${path}: must be a JSON object`);
  const out: Raw = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!FLAGS.some((f) => f.name === k) || k === 'config') throw new ConfigError(`--config ${path}: unknown setting "${k}"`);
    out[k] = typeof v === 'boolean' ? v : String(v);
  }
  return out;
}
