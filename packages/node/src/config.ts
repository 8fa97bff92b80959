import { createHash } from 'node:crypto';
import { DEFAULT_MAX_OPEN_FILES, DEFAULT_RANGE_PAGE_BYTES, MAX_OPEN_FILES_RANGE } from '@bellwether/store';

/** Everything one node needs to run. Times are milliseconds. */
export interface NodeConfig {
  /** This member's id, e.g. "n1". */
  id: string;
  /** host:port the gRPC server listens on (for clients and peers). */
  listen: string;
  /** The address other members and clients reach this node at; defaults to `listen`. */
  advertise?: string;
  /** This node's data directory: the Raft log's segments (wal/) and the LevelDB of its state. */
  dataDir: string;
  /** The initial members (id → address), including this node. Used only when the data dir is new. */
  peers: Map<string, string>;
  /** Dial these members at these addresses instead of their own (e.g. through a proxy). */
  peerDial?: Map<string, string>;
  /** Cluster id; derived from the initial members when not given. */
  clusterId?: string;
  heartbeatMs: number;
  /** The election timeout is randomised in [electionTimeoutMs, 2 * electionTimeoutMs). */
  electionTimeoutMs: number;
  /** One Raft tick; heartbeat and election timeouts are whole numbers of ticks. */
  tickMs: number;
  /**
   * A leader that hears from no majority of voters for this long steps down
   * (check-quorum; default 1000, never less than the election timeout).
   * Followers still replace a silent leader after the election timeout.
   */
  checkQuorumMs?: number;
  /**
   * A follower whose Replicate stream with its leader is still open waits this
   * much longer than the election timeout before campaigning (default 500; 0:
   * no longer). A dead leader's connection closes and the plain timeout
   * applies; a leader starved of CPU (a storm of new clients) keeps its post.
   */
  connectedLeaderGraceMs?: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  /** Proposals waiting for commit before new writes get RESOURCE_EXHAUSTED. */
  maxPendingProposals: number;
  /** Longest a read-your-writes read waits for the node to catch up. */
  maxReadWaitMs: number;
  /** Applied entries kept in the log so a lagging follower catches up without a snapshot. */
  logRetentionEntries: number;
  /** Compact the log each time this many more entries could be dropped. */
  compactEveryEntries: number;
  /** Applied entries kept are also bounded in bytes: at most this many (default 256 MiB); whichever of the two bounds keeps less wins. */
  logRetentionBytes?: number;
  /** Compact once the stored log exceeds logRetentionBytes by this many bytes (default 64 MiB). */
  compactEveryBytes?: number;
  /** Applied log a leader keeps beyond the retention for a follower catching up (being sent a snapshot, or replicating behind the retention) before that follower needs a snapshot again (default 4 GiB). */
  logCatchUpBytes?: number;
  /** How long the leader may hold a commit-only append for the next append to carry its commit instead (default 0: sent at once; see commit-hold.ts). */
  commitHoldMs?: number;
  /** Bytes of log entry data kept in memory (default 64 MiB); older entries are read back from disk when a follower needs them. */
  logMemoryBytes?: number;
  /** Bytes of writes a leader holds (queued or in the log, not yet applied) before new writes wait at the edge or get RESOURCE_EXHAUSTED (default 64 MiB). */
  maxPendingWriteBytes?: number;
  /** A Range page stops before the key that takes its keys and values (keys only with keys_only) past this many bytes, and answers `more` (default 3 MiB); it always holds at least one key. */
  maxRangeReplyBytes?: number;
  /** LevelDB's open-file limit: bounds the table files mapped into memory, so a member's RSS (default 100; from 74 to 50,000). */
  storeMaxOpenFiles?: number;
  /** A client session (exactly-once results) not written for this long is forgotten, by a leader-proposed log entry (default 3600). */
  sessionTtlSeconds?: number;
  /** Client connections served at once; more are answered RESOURCE_EXHAUSTED and closed (default 10 000). */
  maxConnections?: number;
  /** Client connections served at once from one remote address (default 2048). */
  maxConnectionsPerAddress?: number;
  /** Concurrent HTTP/2 streams (calls) per client connection (SETTINGS_MAX_CONCURRENT_STREAMS; default 1024). */
  maxConcurrentStreams?: number;
  /** Watch history: keep the changes of this many latest revisions (default 100 000). */
  watchHistoryRevisions?: number;
  /** Watch history: keep at most this many bytes of changes (default 64 MiB). */
  watchHistoryBytes?: number;
  /** A watch whose unsent changes exceed this many bytes is cancelled (default 16 MiB). */
  watchMaxLagBytes?: number;
  /** host:port of the HTTP endpoints (/metrics, /healthz, /readyz, the dashboard); off when unset. */
  metricsListen?: string;
  /** `new` (default) bootstraps the cluster of `peers`; `existing` joins a running cluster this member was added to (cluster-join.ts). Used only when the data dir is new. */
  initialClusterState?: 'new' | 'existing';
  /** Disaster recovery: make this surviving member's data dir a one-member cluster. */
  forceNewCluster?: boolean;
  /** Debug only: let followers serve LINEARIZABLE reads from local state (breaks linearizability). */
  unsafeFollowerLinearizableReads?: boolean;
  /** On stop: hand leadership over, end open streams and exit within this many ms (default 5000). */
  shutdownTimeoutMs?: number;
  /** New client streams (KV.Stream, WatchLeader) admitted per second, in bursts of as many; more get RESOURCE_EXHAUSTED with a retry-after (default 2000). */
  maxNewStreamsPerSecond?: number;
  /** host:port of a port of its own for the peer protocol; when set, `listen` serves clients only and `peers` names peer addresses. */
  peerListen?: string;
  /** The address other members reach the peer port at; defaults to `peerListen`. */
  peerAdvertise?: string;
  /** TLS on the client port; `clientCertAuth` requires a client certificate signed by `caFile`. */
  tls?: TlsFiles & { clientCertAuth?: boolean };
  /** Mutual TLS on the peer port (needs `peerListen`); each member's certificate names its id (CN or DNS SAN). */
  peerTls?: Required<TlsFiles>;
  /** How long tokens from Auth.Authenticate stay valid, in seconds (default 300). */
  authTokenTtlSeconds?: number;
}

/** PEM files of one TLS identity; `caFile` verifies the other side's certificate. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile?: string;
}

export const DEFAULTS = {
  heartbeatMs: 50,
  electionTimeoutMs: 150,
  tickMs: 10,
  checkQuorumMs: 1000,
  connectedLeaderGraceMs: 500,
  maxKeyBytes: 4096,
  maxValueBytes: 1024 * 1024,
  maxPendingProposals: 10_000,
  maxReadWaitMs: 5000,
  logRetentionEntries: 20_000,
  compactEveryEntries: 10_000,
  logRetentionBytes: 256 * 1024 * 1024,
  compactEveryBytes: 64 * 1024 * 1024,
  logCatchUpBytes: 4 * 1024 * 1024 * 1024,
  commitHoldMs: 0,
  logMemoryBytes: 64 * 1024 * 1024,
  maxPendingWriteBytes: 64 * 1024 * 1024,
  maxRangeReplyBytes: DEFAULT_RANGE_PAGE_BYTES,
  storeMaxOpenFiles: DEFAULT_MAX_OPEN_FILES,
  maxConnections: 10_000,
  maxConnectionsPerAddress: 2048,
  maxConcurrentStreams: 1024,
  sessionTtlSeconds: 3600,
  shutdownTimeoutMs: 5000,
  maxNewStreamsPerSecond: 2000,
} as const;

/** A configuration that cannot work; the process stops at start with this message. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function parseAddress(what: string, addr: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port > 65535) throw new ConfigError(`${what}: "${addr}" is not host:port`);
  return { host: m[1]!, port };
}

/** Parses `n1=127.0.0.1:7001,n2=127.0.0.1:7002`. */
export function parsePeers(spec: string, flag = '--peers'): Map<string, string> {
  const peers = new Map<string, string>();
  for (const part of spec.split(',').map((p) => p.trim())) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${flag}: "${part}" is not id=host:port`);
    const id = part.slice(0, eq);
    const addr = part.slice(eq + 1);
    if (!ID_PATTERN.test(id)) throw new ConfigError(`${flag}: "${id}" is not a valid member id (letters, digits, _.-; at most 63)`);
    parseAddress(`${flag} ${id}`, addr);
    if (peers.has(id)) throw new ConfigError(`${flag}: member "${id}" is listed twice`);
    peers.set(id, addr);
  }
  if (peers.size === 0) throw new ConfigError(`${flag}: no members given`);
  return peers;
}

/** Checks a complete configuration; throws ConfigError naming the problem. */
export function validateConfig(c: NodeConfig): NodeConfig {
  if (!ID_PATTERN.test(c.id)) throw new ConfigError(`--id: "${c.id}" is not a valid member id (letters, digits, _.-; at most 63)`);
  parseAddress('--listen', c.listen);
  if (c.metricsListen !== undefined) parseAddress('--metrics-listen', c.metricsListen);
  if (!c.dataDir) throw new ConfigError('--data-dir is required');
  if (c.initialClusterState === 'existing' && !c.peers.has(c.id)) {
    // A joiner lists the members it joins; its own address is where it listens.
    c.peers.set(c.id, c.advertise ?? c.listen);
  }
  if (!c.peers.has(c.id)) {
    throw new ConfigError(`--id: "${c.id}" is not among --peers (${[...c.peers.keys()].join(', ')})`);
  }
  const positive: (keyof NodeConfig)[] = ['heartbeatMs', 'electionTimeoutMs', 'tickMs', 'maxKeyBytes', 'maxValueBytes', 'maxPendingProposals', 'logRetentionEntries', 'compactEveryEntries'];
  for (const k of positive) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ConfigError(`${k}: must be a positive integer, got ${String(v)}`);
  }
  if (c.heartbeatMs < c.tickMs || c.electionTimeoutMs < c.tickMs) {
    throw new ConfigError(`heartbeat (${c.heartbeatMs} ms) and election timeout (${c.electionTimeoutMs} ms) must be at least one tick (${c.tickMs} ms)`);
  }
  // A follower must hear several heartbeats per election timeout, or a busy
  // but healthy leader gets deposed.
  if (c.electionTimeoutMs < 2 * c.heartbeatMs) {
    throw new ConfigError(`election timeout (${c.electionTimeoutMs} ms) must be at least twice the heartbeat (${c.heartbeatMs} ms)`);
  }
  if (c.checkQuorumMs !== undefined && (!Number.isInteger(c.checkQuorumMs) || c.checkQuorumMs < c.tickMs)) {
    throw new ConfigError(`checkQuorumMs: must be an integer of at least one tick (${c.tickMs} ms), got ${String(c.checkQuorumMs)}`);
  }
  const grace = c.connectedLeaderGraceMs;
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) {
    throw new ConfigError(`connectedLeaderGraceMs: must be an integer of 0 or more, got ${String(grace)}`);
  }
  for (const k of ['logRetentionBytes', 'compactEveryBytes', 'logCatchUpBytes', 'logMemoryBytes', 'maxPendingWriteBytes', 'maxRangeReplyBytes'] as const) {
    const v = c[k];
    if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0)) throw new ConfigError(`${k}: must be a positive integer (bytes), got ${String(v)}`);
  }
  const openFiles = c.storeMaxOpenFiles;
  if (openFiles !== undefined && (!Number.isInteger(openFiles) || openFiles < MAX_OPEN_FILES_RANGE.min || openFiles > MAX_OPEN_FILES_RANGE.max)) {
    throw new ConfigError(`storeMaxOpenFiles: must be an integer from ${MAX_OPEN_FILES_RANGE.min} to ${MAX_OPEN_FILES_RANGE.max} (LevelDB's range), got ${String(openFiles)}`);
  }
  if (c.commitHoldMs !== undefined && (!Number.isInteger(c.commitHoldMs) || c.commitHoldMs < 0 || c.commitHoldMs >= c.heartbeatMs)) {
    throw new ConfigError(`commitHoldMs: must be an integer from 0 to below the heartbeat (${c.heartbeatMs} ms), got ${String(c.commitHoldMs)}`);
  }
  if (c.maxPendingWriteBytes !== undefined && c.maxPendingWriteBytes < c.maxValueBytes + c.maxKeyBytes) {
    throw new ConfigError(`maxPendingWriteBytes (${c.maxPendingWriteBytes}) must hold at least one write of the largest key and value (${c.maxKeyBytes + c.maxValueBytes} bytes)`);
  }
  for (const [k, flag] of [
    ['maxConnections', '--max-connections'],
    ['maxConnectionsPerAddress', '--max-connections-per-address'],
    ['maxConcurrentStreams', '--max-concurrent-streams'],
    ['sessionTtlSeconds', '--session-ttl-seconds'],
  ] as const) {
    const v = c[k];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0 || v > 2 ** 31 - 1)) throw new ConfigError(`${k} (${flag}): must be a positive integer, got ${String(v)}`);
  }
  if (c.maxNewStreamsPerSecond !== undefined && (!Number.isInteger(c.maxNewStreamsPerSecond) || c.maxNewStreamsPerSecond <= 0)) {
    throw new ConfigError(`maxNewStreamsPerSecond (--max-new-streams-per-second): must be a positive integer, got ${String(c.maxNewStreamsPerSecond)}`);
  }
  if (c.shutdownTimeoutMs !== undefined && (!Number.isInteger(c.shutdownTimeoutMs) || c.shutdownTimeoutMs <= 0)) {
    throw new ConfigError(`shutdownTimeoutMs: must be a positive integer, got ${String(c.shutdownTimeoutMs)}`);
  }
  if (c.maxValueBytes > 64 * 1024 * 1024) throw new ConfigError('max value size: at most 64 MiB');
  validateTransportSecurity(c);
  return c;
}

/** A cluster id every initial member derives alike from the same --peers. */
export function deriveClusterId(peers: Map<string, string>): string {
  const canonical = [...peers.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, addr]) => `${id}=${addr}`)
    .join(',');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

function validateTransportSecurity(c: NodeConfig): void {
  if (c.peerListen !== undefined) parseAddress('--peer-listen', c.peerListen);
  if (c.peerAdvertise !== undefined) {
    if (c.peerListen === undefined) throw new ConfigError('--peer-advertise needs --peer-listen');
    parseAddress('--peer-advertise', c.peerAdvertise);
  }
  if (c.peerListen !== undefined && c.peerListen === c.listen) throw new ConfigError(`--peer-listen ${c.peerListen}: must differ from --listen`);
  if (c.tls) {
    if (!c.tls.certFile || !c.tls.keyFile) throw new ConfigError('client TLS needs both --tls-cert-file and --tls-key-file');
    if (c.tls.clientCertAuth && !c.tls.caFile) throw new ConfigError('--client-cert-auth needs --tls-ca-file (the CA that signs client certificates)');
    // Peers dial plaintext on the client port, so a TLS client port would lock them out.
    if (c.peerListen === undefined) throw new ConfigError('client TLS needs --peer-listen: the peer protocol must move to a port of its own');
  }
  if (c.peerTls) {
    if (c.peerListen === undefined) throw new ConfigError('peer TLS (--peer-tls-*) needs --peer-listen');
    if (!c.peerTls.certFile || !c.peerTls.keyFile || !c.peerTls.caFile) {
      throw new ConfigError('peer TLS is always mutual: give all of --peer-tls-cert-file, --peer-tls-key-file and --peer-tls-ca-file');
    }
  }
}
