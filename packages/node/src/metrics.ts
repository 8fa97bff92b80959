import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReplyBacklogObserver } from './kv-stream';
import { dirSizeBytes } from './disk-usage';
import { registerLogMetrics } from './log-metrics';
import type { Replica } from './replica';

/** Seconds; from a fast local fsync (~100 us) to a stalled disk (seconds). */
const DISK_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Seconds; request latencies from a cached read to a write that waited out an election. */
const REQUEST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsSource {
  clusterId: string;
  version: string;
  dataDir: string;
  replica: Replica;
  /** The store's blob files (large values): files, bytes, and bytes still pointed to. */
  blobUsage?: () => { files: number; bytes: number; live: number };
}

/** A KV operation as the metrics see it. */
export type KvOperation = 'put' | 'get' | 'delete' | 'range' | 'txn';

/**
 * Every metric one node exports, in its own registry (never prom-client's
 * global one, so two nodes in one process stay apart). Values that the node
 * already keeps (term, indexes, progress) are read when scraped; events
 * (fsyncs, applies, leader changes, requests) are counted as they happen.
 * Names follow Prometheus conventions: `bellwether_` prefix, base units,
 * `_total` on counters.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly startedAtMs = Date.now();
  /** When the current leader (or its absence) began, as this member saw it. */
  leaderSinceMs = Date.now();

  readonly leaderChanges: Counter;
  readonly proposalsFailed: Counter;
  readonly fsyncSeconds: Histogram;
  readonly applySeconds: Histogram;
  readonly peerRoundTripSeconds: Histogram<'peer'>;
  readonly snapshotSends: Counter<'result'>;
  readonly snapshotInstalls: Counter<'result'>;
  readonly grpcHandled: Counter<'grpc_service' | 'grpc_method' | 'grpc_code'>;
  readonly grpcSeconds: Histogram<'grpc_service' | 'grpc_method'>;
  readonly kvOperations: Counter<'op' | 'result'>;
  readonly kvSeconds: Histogram<'op'>;
  readonly kvStreamCallsInFlight: Gauge;
  /** Replies KV.Stream streams hold unsent, and their pauses (kv-stream.ts). */
  readonly kvStreamBacklog: ReplyBacklogObserver;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    const { replica } = source;
    collectDefaultMetrics({ register: this.registry });
    // Counted from the applied index this process started at (commit is never below it), so a restart starts both counters at 0 as Prometheus expects.
    const startApplied = replica.appliedIndex;

    new Gauge({
      name: 'bellwether_member_info',
      help: 'Always 1; labels name this member, its cluster and its version (join on instance to name other series)',
      labelNames: ['member', 'cluster_id', 'version'],
      registers,
      collect() {
        this.set({ member: replica.memberId, cluster_id: source.clusterId, version: source.version }, 1);
      },
    });
    new Gauge({
      name: 'bellwether_raft_term',
      help: 'The current Raft term as this member knows it',
      registers,
      collect() {
        this.set(replica.currentTerm);
      },
    });
    new Gauge({
      name: 'bellwether_raft_is_leader',
      help: '1 while this member is the leader, else 0',
      registers,
      collect() {
        this.set(replica.isLeader ? 1 : 0);
      },
    });
    new Gauge({
      name: 'bellwether_raft_has_leader',
      help: '1 while this member knows a leader, else 0',
      registers,
      collect() {
        this.set(replica.leaderId ? 1 : 0);
      },
    });
    this.leaderChanges = new Counter({
      name: 'bellwether_raft_leader_changes_total',
      help: 'Times the leader (or the term) changed as this member saw it',
      registers,
    });
    const quorumLost = new Counter({
      name: 'bellwether_raft_quorum_lost_total',
      help: 'Times this member stepped down as leader because it heard from no majority of voters for the check-quorum period',
      registers,
    });
    replica.on('quorumLost', () => quorumLost.inc());
    new Gauge({
      name: 'bellwether_raft_commit_index',
      help: 'The highest log index known to be stored on a majority',
      registers,
      collect() {
        this.set(replica.raftStatus().commit);
      },
    });
    registerLogMetrics(registers, replica);
    new Gauge({
      name: 'bellwether_raft_applied_index',
      help: 'The highest log index applied to this member\'s key-value state',
      registers,
      collect() {
        this.set(replica.appliedIndex);
      },
    });
    new Counter({
      name: 'bellwether_raft_proposals_committed_total',
      help: 'Log entries committed since this process started',
      registers,
      collect() {
        this.reset();
        this.inc(Math.max(0, replica.raftStatus().commit - startApplied));
      },
    });
    new Counter({
      name: 'bellwether_raft_proposals_applied_total',
      help: 'Log entries applied since this process started',
      registers,
      collect() {
        this.reset();
        this.inc(Math.max(0, replica.appliedIndex - startApplied));
      },
    });
    new Gauge({
      name: 'bellwether_raft_proposals_pending',
      help: 'Writes proposed on this member (the leader) and not yet applied',
      registers,
      collect() {
        this.set(replica.pendingProposals);
      },
    });
    this.proposalsFailed = new Counter({
      name: 'bellwether_raft_proposals_failed_total',
      help: 'Writes accepted for proposal that then failed (leadership lost, shutdown, storage failure)',
      registers,
    });
    new Gauge({
      name: 'bellwether_raft_follower_match_lag_entries',
      help: 'On the leader: entries each follower\'s log is behind the leader\'s last index',
      labelNames: ['follower'],
      registers,
      collect() {
        this.reset();
        const st = replica.raftStatus();
        if (!replica.isLeader || !st.progress) return;
        for (const [id, p] of Object.entries(st.progress)) {
          if (id !== replica.memberId) this.set({ follower: id }, Math.max(0, st.lastIndex - p.match));
        }
      },
    });
    this.fsyncSeconds = new Histogram({
      name: 'bellwether_disk_log_fsync_duration_seconds',
      help: 'Time to append Raft entries or state to the log and fsync them',
      buckets: DISK_BUCKETS,
      registers,
    });
    this.applySeconds = new Histogram({
      name: 'bellwether_raft_apply_duration_seconds',
      help: 'Time to apply one batch of committed entries to the key-value state',
      buckets: DISK_BUCKETS,
      registers,
    });
    this.peerRoundTripSeconds = new Histogram({
      name: 'bellwether_peer_round_trip_seconds',
      help: 'On the leader: heartbeat round-trip time to each peer',
      labelNames: ['peer'],
      buckets: DISK_BUCKETS,
      registers,
    });
    this.snapshotSends = new Counter({
      name: 'bellwether_snapshot_sends_total',
      help: 'State snapshots this member streamed to a lagging follower, by result',
      labelNames: ['result'],
      registers,
    });
    this.snapshotInstalls = new Counter({
      name: 'bellwether_snapshot_installs_total',
      help: 'State snapshots this member received from a leader and installed, by result',
      labelNames: ['result'],
      registers,
    });
    this.grpcHandled = new Counter({
      name: 'bellwether_grpc_server_handled_total',
      help: 'gRPC calls finished by this member, by service, method and status code',
      labelNames: ['grpc_service', 'grpc_method', 'grpc_code'],
      registers,
    });
    this.grpcSeconds = new Histogram({
      name: 'bellwether_grpc_server_handling_seconds',
      help: 'Time from a gRPC call\'s start to its status (streams: their whole life)',
      labelNames: ['grpc_service', 'grpc_method'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.kvOperations = new Counter({
      name: 'bellwether_kv_operations_total',
      help: 'KV operations finished (unary calls and calls carried by KV.Stream), by operation and result',
      labelNames: ['op', 'result'],
      registers,
    });
    this.kvSeconds = new Histogram({
      name: 'bellwether_kv_operation_duration_seconds',
      help: 'Time this member took to answer one KV operation (unary or on KV.Stream)',
      labelNames: ['op'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.kvStreamCallsInFlight = new Gauge({
      name: 'bellwether_kv_stream_calls_in_flight',
      help: 'Calls received on KV.Stream streams and not yet answered',
      registers,
    });
    this.kvStreamBacklog = kvStreamBacklogMetrics(registers);
    new Gauge({
      name: 'bellwether_db_size_bytes',
      help: 'Bytes of this member\'s data directory on disk',
      registers,
      async collect() {
        this.set(await dirSizeBytes(source.dataDir));
      },
    });
    const blobUsage = source.blobUsage;
    if (blobUsage) {
      new Gauge({
        name: 'bellwether_blob_files',
        help: 'Blob files holding values of 64 KiB or more',
        registers,
        collect() {
          this.set(blobUsage().files);
        },
      });
      new Gauge({
        name: 'bellwether_blob_bytes',
        help: 'Bytes in blob files (all: everything appended to the files that exist; live: the values keys still hold; the rest goes when files are collected)',
        labelNames: ['kind'],
        registers,
        collect() {
          const { bytes, live } = blobUsage();
          this.set({ kind: 'all' }, bytes);
          this.set({ kind: 'live' }, live);
        },
      });
    }

    replica.on('leaderChange', () => {
      this.leaderChanges.inc();
      this.leaderSinceMs = Date.now();
    });
    replica.on('persisted', (seconds) => this.fsyncSeconds.observe(seconds));
    replica.on('applied', (_index, seconds) => this.applySeconds.observe(seconds));
    replica.on('proposalFailed', () => this.proposalsFailed.inc());
    replica.on('snapshotSent', (ok) => this.snapshotSends.inc({ result: ok ? 'ok' : 'failed' }));
    replica.on('snapshotInstalled', (ok) => this.snapshotInstalls.inc({ result: ok ? 'ok' : 'failed' }));
  }

  /** Exposes the client connections served and refused (connection-limits.ts). */
  observeConnections(gate: { readonly openConnections: number; readonly refusedTotal: number }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'bellwether_client_connections',
      help: 'Client connections this member serves now (--max-connections)',
      registers,
      collect() {
        this.set(gate.openConnections);
      },
    });
    let counted = 0;
    new Counter({
      name: 'bellwether_client_connections_refused_total',
      help: 'Client connections refused for being over --max-connections or --max-connections-per-address',
      registers,
      collect() {
        this.inc(gate.refusedTotal - counted);
        counted = gate.refusedTotal;
      },
    });
  }

  /** Records one finished KV operation. */
  observeKv(op: KvOperation, seconds: number, ok: boolean): void {
    let m = this.kvChildren.get(op);
    if (!m) {
      // Bound once per operation: observing through a labelled child skips hashing the labels on every call.
      m = { ok: this.kvOperations.labels({ op, result: 'ok' }), error: this.kvOperations.labels({ op, result: 'error' }), seconds: this.kvSeconds.labels({ op }) };
      this.kvChildren.set(op, m);
    }
    (ok ? m.ok : m.error).inc();
    m.seconds.observe(seconds);
  }

  private readonly kvChildren = new Map<KvOperation, { ok: Counter.Internal; error: Counter.Internal; seconds: Histogram.Internal<'op'> }>();

  /** The KV latency histogram summed over operations: cumulative counts per bound, the last being +Inf. */
  async kvLatency(): Promise<{ boundsSeconds: number[]; counts: number[]; total: number; failures: number }> {
    const hist = await this.kvSeconds.get();
    const byBound = new Map<string, number>();
    for (const v of hist.values) {
      if (!v.metricName?.endsWith('_bucket')) continue;
      const le = String((v.labels as Record<string, unknown>)['le']);
      byBound.set(le, (byBound.get(le) ?? 0) + v.value);
    }
    const boundsSeconds = REQUEST_BUCKETS.slice();
    const counts = [...boundsSeconds.map((b) => byBound.get(String(b)) ?? 0), byBound.get('+Inf') ?? 0];
    const ops = await this.kvOperations.get();
    let failures = 0;
    for (const v of ops.values) if (v.labels['result'] === 'error') failures += v.value;
    return { boundsSeconds, counts, total: counts[counts.length - 1]!, failures };
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The backlog of unread KV.Stream replies: bytes held now, the most one stream ever held, and reading pauses. */
function kvStreamBacklogMetrics(registers: Registry[]): ReplyBacklogObserver {
  const held = new Gauge({ name: 'bellwether_kv_stream_reply_bytes_held', help: 'Bytes of KV.Stream replies answered and not yet written out to their clients', registers });
  const heldMax = new Gauge({
    name: 'bellwether_kv_stream_reply_bytes_held_max',
    help: 'The most bytes of unsent replies one KV.Stream has held since this member started',
    registers,
  });
  const pausedNow = new Gauge({ name: 'bellwether_kv_streams_paused', help: 'KV.Stream streams whose requests are not read until their client reads its replies', registers });
  const pauses = new Counter({ name: 'bellwether_kv_stream_pauses_total', help: 'Times a KV.Stream stopped reading requests because its client did not read its replies', registers });
  let max = 0;
  return {
    replyBytes(delta, streamHeld) {
      held.inc(delta);
      if (streamHeld > max) {
        max = streamHeld;
        heldMax.set(max);
      }
    },
    paused(paused) {
      if (paused) {
        pausedNow.inc();
        pauses.inc();
      } else pausedNow.dec();
    },
  };
}
