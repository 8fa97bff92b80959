import { LOADER_OPTIONS, loadPeerApi, loadPublicApi, type ObserveResponse, type ObserveResponse__Output, PUBLIC_PROTO_FILES, protosDir } from '@bellwether/proto';
import * as protoLoader from '@grpc/proto-loader';
import { RawNode } from '@bellwether/raft';
import { Store } from '@bellwether/store';
import type { Http2Session } from 'node:http2';
import { createServer, type Server as NodeServer, type Socket } from 'node:net';
import { ReflectionService } from '@grpc/reflection';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import pino, { type Logger } from 'pino';
import { authService } from './auth/auth-service';
import { Authorizer } from './auth/authorizer';
import { guardKvOps, guardService, guardWatch } from './auth/guards';
import { forceNewCluster, planFirstStart } from './cluster-join';
import { clusterService, memberStatus } from './cluster-service';
import { ByteBudget } from './byte-budget';
import { WriteAdmission } from './write-admission';
import { ConnectionGate, connectionGateInterceptor, gateConnections } from './connection-limits';
import { ConfigError, DEFAULTS, type NodeConfig, parseAddress, validateConfig } from './config';
import { admittingStreams, StreamAdmission } from './stream-admission';
import { grpcMetricsInterceptor } from './grpc-metrics';
import { type HttpEndpoints, startHttpEndpoints } from './http-endpoints';
import { admitPeer, checkExpectedIncarnation, loadIncarnation } from './incarnation';
import { type KvContext, kvService } from './kv-service';
import { IncarnationRecorder } from './incarnation-recorder';
import { describeMember, maintenanceService, VERSION } from './maintenance-service';
import { MemberChanges } from './member-changes';
import { maxReceiveMessageBytes, peerMessageBudgetBytes } from './message-limits';
import { decodeIndex, decodeMembers, encodeIndex, encodeMembers, MEMBERS_INDEX_KEY, type MemberInfo } from './membership';
import { ClientAddresses } from './client-addresses';
import { NodeMetrics } from './metrics';
import { PeerMessageCounts, startCallbackCounts } from './io-counters';
import { registerIoMetrics } from './io-metrics';
import { FLOW_CONTROL_WINDOW_BYTES, GrpcPeerTransport, PEER_INFLIGHT_BYTES, PEER_MAX_MESSAGE_BYTES } from './peer-transport';
import { RoundTripTracker } from './peer-rtt';
import { loadInitialState } from './raft-recovery';
import { Replica } from './replica';
import { DEFAULT_WATCH_LIMITS, WatchHub } from './watch/hub';
import { LeaseManager } from './lease/manager';
import { leaseService } from './lease/lease-service';
import { OpenStreams, shutDown, trackingStreams } from './shutdown';
import { SessionSweeper } from './session-sweeper';
import { PeerClientTls, ReloadableServerCredentials } from './tls';
import { transferLeadershipHandler } from './transfer-service';

const DEFAULT_TOKEN_TTL_SECONDS = 300;
/** Once auth is enabled: reading the cluster's state needs a user; every other Cluster call (membership changes, transfers) needs root. */
const CLUSTER_NEEDS = { Status: 'user', Members: 'user', WatchLeader: 'user' } as const;
/** Logging in and asking whether auth is on are open; administration needs root. */
const AUTH_NEEDS = { Authenticate: 'anyone', AuthStatus: 'anyone' } as const;
/** Leases (grant, revoke, keep alive, list) need a user; the keys put with one are checked as any put. */
const LEASE_NEEDS = { Grant: 'user', Revoke: 'user', KeepAlive: 'user', TimeToLive: 'user', List: 'user' } as const;
/** Maintenance (snapshots, ...) is for operators: root only. */
const MAINTENANCE_NEEDS = {} as const;

/** Identity stored in the data dir on first start; a mismatch later means the wrong dir. */
async function checkIdentity(store: Store, config: NodeConfig, log: Logger): Promise<{ clusterId: string; bootstrap: MemberInfo[]; members: MemberInfo[]; membersIndex: number }> {
  const storedMember = (await store.getMeta('member-id'))?.toString('utf8');
  const storedCluster = (await store.getMeta('cluster-id'))?.toString('utf8');
  if (storedMember === undefined || storedCluster === undefined) {
    if (store.lastIndex > 0 || store.appliedIndex > 0) {
      throw new ConfigError(`--data-dir ${config.dataDir}: holds data but no member identity; refusing to use it`);
    }
    if (config.forceNewCluster) throw new ConfigError(`--force-new-cluster: --data-dir ${config.dataDir} is new; it needs a surviving member's data dir`);
    const { clusterId, bootstrap, members, membersIndex } = await planFirstStart(config, log);
    await store.putMeta({
      'cluster-id': Buffer.from(clusterId),
      'member-id': Buffer.from(config.id),
      bootstrap: encodeMembers(bootstrap),
      members: encodeMembers(members),
      [MEMBERS_INDEX_KEY]: encodeIndex(membersIndex),
    });
    return { clusterId, bootstrap, members, membersIndex };
  }
  if (storedMember !== config.id) {
    throw new ConfigError(`--data-dir ${config.dataDir}: belongs to member "${storedMember}", not "${config.id}"`);
  }
  if (config.clusterId && storedCluster !== config.clusterId) {
    throw new ConfigError(`--data-dir ${config.dataDir}: belongs to cluster ${storedCluster}, not ${config.clusterId}`);
  }
  if (config.forceNewCluster) await forceNewCluster(store, config.id, log);
  const bootstrap = decodeMembers((await store.getMeta('bootstrap'))!);
  const members = decodeMembers((await store.getMeta('members'))!);
  return { clusterId: storedCluster, bootstrap, members, membersIndex: decodeIndex(await store.getMeta(MEMBERS_INDEX_KEY)) };
}

export interface StartedNode {
  readonly config: NodeConfig;
  readonly clusterId: string;
  readonly replica: Replica;
  readonly port: number;
  /** The bound peer port when peers have a port of their own (--peer-listen). */
  readonly peerPort: number | undefined;
  /** Reads the TLS certificate, key and CA files again; new connections use them (SIGHUP in `bellwether serve`). */
  reloadCertificates(): void;
  /** The port of /metrics, /healthz, /readyz and the dashboard, when --metrics-listen is set. */
  readonly metricsPort: number | undefined;
  readonly metrics: NodeMetrics;
  stop(): Promise<void>;
}

/**
 * Starts one Bellwether node: checks the listen port is free (before any data
 * is touched), opens the data dir, checks it belongs to this member, recovers
 * Raft state, then binds the gRPC server and starts serving.
 */
export async function startNode(input: NodeConfig, logger: Logger = pino({ name: 'bellwether' })): Promise<StartedNode> {
  const config = validateConfig(input);
  const log = logger.child({ member: config.id });
  // A port in use must fail before any data is touched.
  const { host, port: wantedPort } = parseAddress('--listen', config.listen);
  if (wantedPort !== 0) await probePort(host, wantedPort, config.listen);
  const peerAddress = config.peerListen ? parseAddress('--peer-listen', config.peerListen) : undefined;
  if (peerAddress && peerAddress.port !== 0) await probePort(peerAddress.host, peerAddress.port, config.peerListen!, '--peer-listen');
  // Unreadable certificate files fail here, before any data is touched.
  const clientCredentials = config.tls ? ReloadableServerCredentials.load(config.tls, '', !!config.tls.clientCertAuth) : grpc.ServerCredentials.createInsecure();
  const peerCredentials = config.peerTls ? ReloadableServerCredentials.load(config.peerTls, 'peer-', true) : grpc.ServerCredentials.createInsecure();
  const peerClientTls = config.peerTls ? new PeerClientTls(config.peerTls) : undefined;
  let store: Store | undefined;
  let http: HttpEndpoints | undefined;
  // Made once the replica exists; calls before that are not counted.
  let metrics: NodeMetrics | undefined;
  const connectionGate = new ConnectionGate(
    { maxConnections: config.maxConnections ?? DEFAULTS.maxConnections, maxConnectionsPerAddress: config.maxConnectionsPerAddress ?? DEFAULTS.maxConnectionsPerAddress },
    config.id,
  );
  const server = new grpc.Server({
    interceptors: [grpcMetricsInterceptor(() => metrics), connectionGateInterceptor(connectionGate)],
    'grpc.max_receive_message_length': maxReceiveMessageBytes(config),
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_concurrent_streams': config.maxConcurrentStreams ?? DEFAULTS.maxConcurrentStreams,
    // Nothing reads the server's channelz, and it tracks every call and message (~2% of a member's CPU under unary load).
    'grpc.enable_channelz': 0,
  });
  // With --peer-listen the peer protocol has a server of its own and the client port does not serve it.
  const peerServer = config.peerListen
    ? new grpc.Server({ 'grpc.max_receive_message_length': PEER_MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': PEER_MAX_MESSAGE_BYTES, 'grpc.enable_channelz': 0 })
    : server;
  const clientAddresses = config.peerListen ? new ClientAddresses(config.id, config.advertise ?? config.listen) : undefined;
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  try {
    store = await Store.open(config.dataDir, { trackChanges: true, maxOpenFiles: config.storeMaxOpenFiles ?? DEFAULTS.storeMaxOpenFiles });
    const identity = await checkIdentity(store, config, log);
    const incarnation = await loadIncarnation(store, config.dataDir, log);
    const members = identity.members;
    // A moment's stall of the followers' disks or CPU (hundreds of ms on a
    // busy machine) must not depose a leader that followers still hear.
    const checkQuorumMs = Math.max(config.checkQuorumMs ?? DEFAULTS.checkQuorumMs, config.electionTimeoutMs);
    const raft = new RawNode({
      id: config.id,
      electionTimeoutTicks: Math.round(config.electionTimeoutMs / config.tickMs),
      checkQuorumTicks: Math.round(checkQuorumMs / config.tickMs),
      heartbeatTicks: Math.round(config.heartbeatMs / config.tickMs),
      random: Math.random,
      preVote: true,
      checkQuorum: true,
      maxInflightMsgs: 64,
      maxSizePerMsgBytes: peerMessageBudgetBytes(config),
      maxInflightBytes: PEER_INFLIGHT_BYTES,
      maxLogMemoryBytes: config.logMemoryBytes ?? DEFAULTS.logMemoryBytes,
      initial: await loadInitialState(store, identity.bootstrap),
    });
    const replica = new Replica(raft, store, members, {
      memberId: config.id,
      tickMs: config.tickMs,
      heartbeatMs: config.heartbeatMs,
      connectedLeaderGraceMs: config.connectedLeaderGraceMs ?? DEFAULTS.connectedLeaderGraceMs,
      maxPendingProposals: config.maxPendingProposals,
      maxPendingReads: config.maxPendingProposals,
      readIndexTimeoutMs: Math.max(1000, config.electionTimeoutMs * 4),
      logRetentionEntries: config.logRetentionEntries,
      compactEveryEntries: config.compactEveryEntries,
      logRetentionBytes: config.logRetentionBytes ?? DEFAULTS.logRetentionBytes,
      compactEveryBytes: config.compactEveryBytes ?? DEFAULTS.compactEveryBytes,
      catchUpBytes: config.logCatchUpBytes ?? DEFAULTS.logCatchUpBytes,
      commitHoldMs: config.commitHoldMs ?? DEFAULTS.commitHoldMs,
      ...(clientAddresses ? { clientAddressOf: (id: string) => clientAddresses.of(id) } : {}),
      snapshotChunkBytes: peerMessageBudgetBytes(config),
      membersIndex: identity.membersIndex,
    });
    const { blobs } = store.stateMachine;
    metrics = new NodeMetrics({ clusterId: identity.clusterId, version: VERSION, dataDir: config.dataDir, replica, blobUsage: () => blobs.usage });
    const nodeMetrics = metrics;
    metrics.observeConnections(connectionGate);
    const peerCounts = new PeerMessageCounts();
    registerIoMetrics([metrics.registry], peerCounts, startCallbackCounts());
    replica.on('leaderChange', ({ leaderId, term }) => log.info({ leaderId, term }, 'leader changed'));
    replica.on('quorumLost', (term) =>
      log.warn(
        { term, checkQuorumMs },
        'stepped down as leader: heard from no majority of voters for the check-quorum period (followers down, cut off, or stalled on disk or CPU)',
      ),
    );
    replica.on('droppedMessage', (msg, err) => log.warn({ peer: msg.from, type: msg.type, err: err.message }, 'dropped a malformed peer message'));
    replica.on('fatal', (err) => log.fatal({ err }, 'storage failed; this member stops taking work (nothing unacknowledged was promised)'));
    const kvCtx: KvContext = {
      clusterId: identity.clusterId,
      replica,
      store,
      limits: { maxKeyBytes: config.maxKeyBytes, maxValueBytes: config.maxValueBytes },
      reads: { maxReadWaitMs: config.maxReadWaitMs, unsafeFollowerLinearizableReads: !!config.unsafeFollowerLinearizableReads },
      watches: new WatchHub(replica, {
        ...DEFAULT_WATCH_LIMITS,
        maxRevisions: config.watchHistoryRevisions ?? DEFAULT_WATCH_LIMITS.maxRevisions,
        maxBytes: config.watchHistoryBytes ?? DEFAULT_WATCH_LIMITS.maxBytes,
        maxLagBytes: config.watchMaxLagBytes ?? DEFAULT_WATCH_LIMITS.maxLagBytes,
      }),
      metrics,
      admission: new WriteAdmission(new ByteBudget(config.maxPendingWriteBytes ?? DEFAULTS.maxPendingWriteBytes), config.id),
      rangePageBytes: config.maxRangeReplyBytes ?? DEFAULTS.maxRangeReplyBytes,
    };
    const transport = new GrpcPeerTransport({
      memberId: config.id,
      clusterId: identity.clusterId,
      addressOf: (id) => {
        const address = replica.memberList().find((m) => m.id === id)?.address;
        return address && (config.peerDial?.get(id) ?? address);
      },
      deliver: (msg) => replica.step(msg),
      unreachable: (id) => replica.reportUnreachable(id),
      installSnapshot: (incoming) => replica.installSnapshot(incoming),
      maxBatchBytes: peerMessageBudgetBytes(config),
      log,
      counts: peerCounts,
      roundTrips: new RoundTripTracker((peer, seconds) => nodeMetrics.peerRoundTripSeconds.observe({ peer }, seconds)),
      incarnation,
      admit: (from, presented) => admitPeer(replica.memberList(), config.id, from, presented),
      checkExpected: (from, expected) => checkExpectedIncarnation(replica.memberList(), config.id, incarnation, from, expected),
      recordedIncarnation: (id) => replica.memberList().find((m) => m.id === id)?.incarnation,
      observe: () => observeSelf(),
      ...(peerClientTls ? { credentials: (to: string) => peerClientTls.credentials(to), requirePeerCertificate: true } : {}),
      ...(clientAddresses ? { clientAddress: () => clientAddresses.ownAddress, learnClientAddress: (id: string, a: string) => clientAddresses.learn(id, a) } : {}),
    });
    replica.setTransport(transport);
    replica.on('memberReset', (id) => transport.forgetPresented(id));
    if (clientAddresses) clientAddresses.onUnknown = (id) => transport.contact(id);
    const memberChanges = new MemberChanges({
      replica,
      lastContactMs: (id) => transport.lastContactMs(id),
      electionTimeoutMs: config.electionTimeoutMs,
      log,
    });
    const recorder = new IncarnationRecorder({ replica, changes: memberChanges, incarnation, presentedIncarnation: (id) => transport.presentedIncarnation(id), log });
    const clusterCtx = { clusterId: identity.clusterId, address: config.advertise ?? config.listen, replica, memberChanges };
    const api = loadPublicApi();
    // Streams a stopping member must end itself: grpc-js's graceful shutdown waits for them.
    const streams = new OpenStreams();
    // Once auth is enabled, every call is checked (auth/guards.ts).
    const authorizer = new Authorizer(store, { clientCertAuth: !!config.tls?.clientCertAuth });
    // A reconnect storm is shed with a retry-after, not served all at once.
    const newStreamsPerSecond = config.maxNewStreamsPerSecond ?? DEFAULTS.maxNewStreamsPerSecond;
    const admission = new StreamAdmission(newStreamsPerSecond, newStreamsPerSecond);
    const kv = kvService(
      kvCtx,
      (ops, call, oneCall) => guardKvOps(ops, authorizer, call, oneCall),
      (call) => guardWatch(authorizer, call),
    );
    server.addService(api.bellwether.kv.v1.KV.service, admittingStreams(trackingStreams(kv, ['Stream', 'Watch'], streams), ['Stream'], admission));
    const leases = new LeaseManager(replica, store, config.electionTimeoutMs);
    await leases.start();
    const stopSessionSweeper = new SessionSweeper(replica, store, { ttlMs: (config.sessionTtlSeconds ?? DEFAULTS.sessionTtlSeconds) * 1000, log }).start();
    server.addService(
      api.bellwether.lease.v1.Lease.service,
      trackingStreams(guardService(api.bellwether.lease.v1.Lease.service, leaseService(kvCtx, leases), authorizer, LEASE_NEEDS), ['KeepAlive'], streams),
    );
    const cluster = {
      ...clusterService(clusterCtx, (id) => transport.lastContactMs(id)),
      TransferLeadership: transferLeadershipHandler({ replica, lastContactMs: (id) => transport.lastContactMs(id), electionTimeoutMs: config.electionTimeoutMs }),
    };
    server.addService(
      api.bellwether.cluster.v1.Cluster.service,
      admittingStreams(
        trackingStreams(guardService(api.bellwether.cluster.v1.Cluster.service, cluster, authorizer, CLUSTER_NEEDS), ['WatchLeader'], streams),
        ['WatchLeader'],
        admission,
      ),
    );
    const maintenanceCtx = { clusterId: identity.clusterId, dataDir: config.dataDir, replica, metrics };
    const maintenance = maintenanceService(maintenanceCtx);
    const observeSelf = async (): Promise<ObserveResponse> => ({
      status: memberStatus(clusterCtx, (id) => transport.lastContactMs(id)),
      describe: await describeMember(maintenanceCtx),
    });
    server.addService(
      api.bellwether.maintenance.v1.Maintenance.service,
      trackingStreams(guardService(api.bellwether.maintenance.v1.Maintenance.service, maintenance, authorizer, MAINTENANCE_NEEDS), ['Snapshot'], streams),
    );
    const auth = authService({ clusterId: identity.clusterId, replica, store, limits: kvCtx.limits, tokenTtlSeconds: config.authTokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS });
    server.addService(api.bellwether.auth.v1.Auth.service, guardService(api.bellwether.auth.v1.Auth.service, auth, authorizer, AUTH_NEEDS));
    peerServer.addService(loadPeerApi().bellwether.raft.v1.Raft.service, transport.handlers());
    health.addToServer(server);
    // Reflection lists what generic tools may call: the public API and health.
    const reflected = protoLoader.loadSync([...PUBLIC_PROTO_FILES, healthProtoPath], { ...LOADER_OPTIONS, includeDirs: [protosDir()] });
    new ReflectionService(reflected).addToServer(server);
    const port = await bind(server, config.listen, clientCredentials);
    tuneAcceptedConnections(server);
    gateConnections(server, connectionGate, log);
    const peerPort = peerServer === server ? undefined : await bind(peerServer, config.peerListen!, peerCredentials, '--peer-listen');
    if (peerPort !== undefined) tuneAcceptedConnections(peerServer);
    if (wantedPort === 0 && !config.advertise) {
      // Started on an ephemeral port: the real address is known only now.
      clusterCtx.address = `${host}:${port}`;
      if (clientAddresses) clientAddresses.setOwn(clusterCtx.address);
      else replica.setMemberAddress(config.id, clusterCtx.address);
    }
    if (peerAddress && peerAddress.port === 0 && !config.peerAdvertise) replica.setMemberAddress(config.id, `${peerAddress.host}:${peerPort}`);
    if (config.metricsListen) {
      const observe = (id: string, deadlineMs: number) => (id === config.id ? observeSelf() : transport.observePeer(id, deadlineMs)) as Promise<ObserveResponse__Output>;
      http = await startHttpEndpoints({ listen: config.metricsListen, clusterId: identity.clusterId, replica, metrics, observe });
    }
    replica.start();
    const stopRecorder = recorder.start();
    health.setStatus('', 'SERVING');
    log.info({ listen: config.listen, port, clusterId: identity.clusterId, applied: store.appliedIndex }, 'serving');
    if (http) log.info({ metricsListen: config.metricsListen, port: http.port }, 'metrics, health and dashboard over HTTP');
    const httpEndpoints = http;

    let stopping: Promise<void> | undefined;
    const openStore = store;
    return {
      config,
      clusterId: identity.clusterId,
      replica,
      port,
      peerPort,
      reloadCertificates() {
        if (clientCredentials instanceof ReloadableServerCredentials) clientCredentials.reload();
        if (peerCredentials instanceof ReloadableServerCredentials) peerCredentials.reload();
        if (peerClientTls) {
          peerClientTls.reload();
          transport.resetConnections();
        }
        log.info('reloaded TLS certificates');
      },
      metricsPort: http?.port,
      metrics,
      stop() {
        stopping ??= (async () => {
          leases.stop();
          stopSessionSweeper();
          await httpEndpoints?.close();
          stopRecorder();
          const parts = { replica, server: serversAsOne(server, peerServer), health, streams, store: openStore, log, electionTimeoutMs: config.electionTimeoutMs };
          await shutDown({ ...parts, lastContactMs: (id) => transport.lastContactMs(id) }, config.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs);
          log.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await http?.close();
    server.forceShutdown();
    peerServer.forceShutdown();
    await store?.close();
    throw err;
  }
}

function probePort(host: string, port: number, listen: string, flag = '--listen'): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConfigError(`${flag} ${listen}: cannot listen (${err.code ?? err.message}); is the port in use?`)),
    );
    probe.listen({ host: host.replace(/^\[|\]$/g, ''), port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * grpc-js sets TCP_NODELAY on the sockets it dials but not on those it
 * accepts, so small replies on accepted connections (a follower's acks on its
 * leader's stream, a unary response) wait for Nagle's algorithm; and it has no
 * server option for HTTP/2 receive windows. The http2 servers are not public
 * API; if they ever move, this does nothing.
 */
function tuneAcceptedConnections(server: grpc.Server): void {
  const http2Servers = (server as unknown as { http2Servers?: Map<NodeServer, unknown> }).http2Servers;
  if (!(http2Servers instanceof Map)) return;
  for (const http2Server of http2Servers.keys()) {
    http2Server.on('connection', (socket: Socket) => socket.setNoDelay(true));
    http2Server.on('session', (session: Http2Session) => widenWindows(session));
  }
}

/**
 * The HTTP/2 default of 64 KiB per stream holds back any message larger
 * than that (a stream batch of a few hundred puts) for a round trip to the
 * receiver's event loop.
 */
function widenWindows(session: Http2Session): void {
  const widen = () => {
    try {
      session.setLocalWindowSize(FLOW_CONTROL_WINDOW_BYTES);
      session.settings({ initialWindowSize: FLOW_CONTROL_WINDOW_BYTES });
    } catch {
      // A session already closing keeps its defaults.
    }
  };
  if (session.connecting) session.once('connect', widen);
  else widen();
}

function bind(server: grpc.Server, listen: string, credentials: grpc.ServerCredentials, flag = '--listen'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(listen, credentials, (err, port) => {
      if (err) reject(new ConfigError(`${flag} ${listen}: cannot listen (${err.message}); is the port in use?`));
      else resolve(port);
    });
  });
}

/** The client and peer servers as one for shutdown: the peer port closes with the client port (the same server without --peer-listen). */
function serversAsOne(a: grpc.Server, b: grpc.Server): Pick<grpc.Server, 'tryShutdown' | 'forceShutdown'> {
  if (a === b) return a;
  return {
    tryShutdown(callback) {
      let left = 2;
      const done = () => {
        if (--left === 0) callback();
      };
      a.tryShutdown(done);
      b.tryShutdown(done);
    },
    forceShutdown() {
      a.forceShutdown();
      b.forceShutdown();
    },
  };
}
