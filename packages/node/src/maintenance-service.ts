import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type DescribeResponse, type MaintenanceHandlers, SNAPSHOT_DATA_FORMAT, type SnapshotPart, type SnapshotRequest__Output } from '@bellwether/proto';
import { type ServerWritableStream, status } from '@grpc/grpc-js';
import { dirSizeBytes } from './disk-usage';
import { RpcError, toServiceError } from './errors';
import type { NodeMetrics } from './metrics';
import type { Replica } from './replica';

/** Snapshots streamed at once by one member; each pins a LevelDB snapshot and reads the whole state. */
export const MAX_CONCURRENT_SNAPSHOTS = 2;

/** The version of this package, as shipped (the server reports it as its own). */
export const VERSION: string = (() => {
  try {
    return String(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  } catch {
    return 'unknown';
  }
})();

export interface MaintenanceContext {
  clusterId: string;
  dataDir: string;
  replica: Replica;
  metrics: NodeMetrics;
}

/** This member's version, disk usage and request counters (Maintenance.Describe). */
export async function describeMember(ctx: MaintenanceContext): Promise<DescribeResponse> {
  const { replica, metrics } = ctx;
  const [dbSizeBytes, latency] = await Promise.all([dirSizeBytes(ctx.dataDir), metrics.kvLatency()]);
  const fatal = replica.fatalError;
  return {
    clusterId: ctx.clusterId,
    memberId: replica.memberId,
    version: VERSION,
    dbSizeBytes,
    leaderSinceUnixMs: metrics.leaderSinceMs,
    kvOperationsTotal: latency.total,
    kvOperationFailuresTotal: latency.failures,
    kvLatencyBoundsSeconds: latency.boundsSeconds,
    kvLatencyCounts: latency.counts,
    errors: fatal ? [`storage failure: ${fatal.message}`] : [],
    uptimeSeconds: (Date.now() - metrics.startedAtMs) / 1000,
  };
}

export function maintenanceService(ctx: MaintenanceContext): MaintenanceHandlers {
  let streaming = 0;
  return {
    Describe(_call, callback) {
      describeMember(ctx).then(
        (d) => callback(null, d),
        (err: unknown) => callback(toServiceError(err)),
      );
    },

    Snapshot(call: ServerWritableStream<SnapshotRequest__Output, SnapshotPart>) {
      if (streaming >= MAX_CONCURRENT_SNAPSHOTS) {
        call.emit('error', new RpcError(status.RESOURCE_EXHAUSTED, `member ${ctx.replica.memberId}: ${MAX_CONCURRENT_SNAPSHOTS} snapshots already streaming; retry later`).toServiceError());
        return;
      }
      streaming++;
      streamSnapshot(ctx, call)
        .catch((err: unknown) => {
          if (!call.cancelled) call.emit('error', toServiceError(err));
        })
        .finally(() => streaming--);
    },
  };
}

async function streamSnapshot(ctx: MaintenanceContext, call: ServerWritableStream<SnapshotRequest__Output, SnapshotPart>): Promise<void> {
  if (ctx.replica.fatalError) throw new RpcError(status.UNAVAILABLE, `member ${ctx.replica.memberId} has stopped after a storage failure`);
  const reader = await ctx.replica.pinSnapshot();
  const hash = createHash('sha256');
  let totalBytes = 0;
  const send = async (part: SnapshotPart) => {
    // Respect the client's flow control: the state can be far larger than memory should hold.
    if (!call.write(part)) await drainedOrGone(call);
  };
  await send({ header: { clusterId: ctx.clusterId, memberId: ctx.replica.memberId, revision: reader.appliedIndex, format: SNAPSHOT_DATA_FORMAT } });
  for await (const data of reader.chunks()) {
    if (call.cancelled) return;
    hash.update(data);
    totalBytes += data.length;
    await send({ data });
  }
  await send({ trailer: { sha256: hash.digest(), totalBytes } });
  call.end();
}

/** Resolves once the stream can take more, or the caller went away. */
function drainedOrGone(call: ServerWritableStream<SnapshotRequest__Output, SnapshotPart>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const e of ['drain', 'cancelled', 'close', 'error']) call.off(e, done);
      resolve();
    };
    for (const e of ['drain', 'cancelled', 'close', 'error']) call.on(e, done);
  });
}
