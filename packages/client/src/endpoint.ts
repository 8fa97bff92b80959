import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import {
  type ClusterClient,
  checkSnapshotParts,
  type DescribeResponse__Output,
  encodeSnapshotFrame,
  loadPublicApi,
  type MaintenanceClient,
  type MembersResponse__Output,
  readSnapshotFile,
  SNAPSHOT_FILE_MAGIC,
  type SnapshotHeader__Output,
  type SnapshotPart__Output,
  type SnapshotTrailer__Output,
  SnapshotFormatError,
  type StatusResponse__Output,
} from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { type AuthOptions, checkAuth, TokenSource } from './auth';
import { DEFAULT_DEADLINE_MS } from './options';
import { type BellwetherError, fromGrpcError, Internal, InvalidArgument, StatusCode } from './errors';
import { type ClusterMembers, type MemberStatus, toClusterMembers, toMemberStatus } from './results';
import { channelCredentials, type TlsOptions } from './tls';

/** Options of {@link EndpointClient}. */
export interface EndpointClientOptions {
  /** Channel credentials (default: insecure); or give `tls`. */
  credentials?: grpc.ChannelCredentials;
  /** TLS to the member's client port, as in `connect({ tls })`. */
  tls?: TlsOptions;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  /**
   * A user to authenticate as (on this member), as in `connect({ auth })`:
   * needed once auth is enabled (Status and Members need a user; Describe and
   * snapshots need root).
   */
  auth?: AuthOptions;
}

/** Options of one {@link EndpointClient} call. */
export interface EndpointCallOptions {
  /** Deadline in milliseconds (default 10 s). */
  deadlineMs?: number;
  /** Cancels the call. */
  signal?: AbortSignal;
}

/** What a member reports about itself beyond its Raft status (Maintenance.Describe). */
export interface MemberDescription {
  readonly clusterId: string;
  readonly memberId: string;
  /** The server's version. */
  readonly version: string;
  /** Bytes of the member's data directory on disk. */
  readonly dbSizeBytes: number;
  /** When the member saw the current leader (or the absence of one) begin; `undefined` when unknown. */
  readonly leaderSince: Date | undefined;
  /** KV operations the member finished since it started, failures included. */
  readonly kvOperationsTotal: number;
  readonly kvOperationFailuresTotal: number;
  /** Cumulative KV latency histogram: `counts[i]` operations took at most `boundsSeconds[i]`; the last count is every operation. */
  readonly kvLatency: { readonly boundsSeconds: readonly number[]; readonly counts: readonly number[] };
  /** Problems the member reports about itself (e.g. a storage failure); empty when healthy. */
  readonly errors: readonly string[];
  readonly uptimeSeconds: number;
}

/** Result of {@link EndpointClient.saveSnapshot}. */
export interface SavedSnapshot {
  readonly path: string;
  readonly clusterId: string;
  /** The member that streamed it. */
  readonly memberId: string;
  /** Every write up to and including this revision is in the snapshot. */
  readonly revision: number;
  /** Bytes of snapshot data (the file is a little larger). */
  readonly dataBytes: number;
  /** Hex SHA-256 of the data, as the member computed it and this client checked it. */
  readonly sha256: string;
}

/**
 * Talks to ONE member, for operators' tools: no leader routing, no retries,
 * no failover. Each answer is that member's own view (its status, its
 * version and disk usage, a snapshot of its state). Applications use
 * {@link connect} instead.
 */
export class EndpointClient {
  readonly address: string;
  readonly #cluster: ClusterClient;
  readonly #maintenance: MaintenanceClient;
  readonly #tokens: TokenSource | undefined;

  constructor(address: string, options: EndpointClientOptions = {}) {
    if (typeof address !== 'string' || !/^.+:\d{1,5}$/.test(address)) throw new InvalidArgument(`endpoint "${String(address)}": expected host:port`);
    this.address = address;
    const api = loadPublicApi();
    const credentials = channelCredentials(options.tls, options.credentials);
    let channelOptions: grpc.ChannelOptions = options.channelOptions ?? {};
    const auth = checkAuth(options.auth);
    if (auth) {
      this.#tokens = new TokenSource([address], credentials, channelOptions, auth, () => {});
      channelOptions = this.#tokens.withInterceptor(channelOptions);
    }
    this.#cluster = new api.bellwether.cluster.v1.Cluster(address, credentials, channelOptions);
    this.#maintenance = new api.bellwether.maintenance.v1.Maintenance(address, credentials, channelOptions);
  }

  /** This member's Raft status (Cluster.Status). */
  async status(options: EndpointCallOptions = {}): Promise<MemberStatus> {
    return toMemberStatus(await this.#unary<StatusResponse__Output>('Status', (md, o, cb) => this.#cluster.Status({}, md, o, cb), options));
  }

  /** The members as this member knows them (Cluster.Members). */
  async members(options: EndpointCallOptions = {}): Promise<ClusterMembers> {
    return toClusterMembers(await this.#unary<MembersResponse__Output>('Members', (md, o, cb) => this.#cluster.Members({}, md, o, cb), options));
  }

  /** This member's version, disk usage and request counters (Maintenance.Describe). */
  async describe(options: EndpointCallOptions = {}): Promise<MemberDescription> {
    const d = await this.#unary<DescribeResponse__Output>('Describe', (md, o, cb) => this.#maintenance.Describe({}, md, o, cb), options);
    return {
      clusterId: d.clusterId,
      memberId: d.memberId,
      version: d.version,
      dbSizeBytes: Number(d.dbSizeBytes),
      leaderSince: Number(d.leaderSinceUnixMs) > 0 ? new Date(Number(d.leaderSinceUnixMs)) : undefined,
      kvOperationsTotal: Number(d.kvOperationsTotal),
      kvOperationFailuresTotal: Number(d.kvOperationFailuresTotal),
      kvLatency: { boundsSeconds: d.kvLatencyBoundsSeconds, counts: d.kvLatencyCounts.map(Number) },
      errors: d.errors,
      uptimeSeconds: d.uptimeSeconds,
    };
  }

  /**
   * Streams a consistent snapshot of this member's state (Maintenance.Snapshot)
   * into `path`. The file appears only once the whole snapshot has arrived
   * and its SHA-256 checks out (written to a temporary name, then renamed).
   * The deadline (default: none) covers the whole transfer.
   * @throws {@link Internal} with code DATA_LOSS when the stream is corrupt or cut short;
   * other `BellwetherError`s when the member refuses or cannot be reached.
   */
  async saveSnapshot(path: string, options: EndpointCallOptions = {}): Promise<SavedSnapshot> {
    const call = this.#maintenance.Snapshot({}, new grpc.Metadata(), options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {});
    const onAbort = () => call.cancel();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const temp = `${path}.${randomBytes(4).toString('hex')}.partial`;
    const file = await open(temp, 'wx');
    try {
      const parts = call as AsyncIterable<SnapshotPart__Output>;
      const snapshot = await checkSnapshotParts(parts, `snapshot from ${this.address}`);
      await file.write(SNAPSHOT_FILE_MAGIC);
      await file.write(encodeSnapshotFrame({ header: snapshot.header }));
      let dataBytes = 0;
      for await (const data of snapshot.data) {
        dataBytes += data.length;
        await file.write(encodeSnapshotFrame({ data }));
      }
      const trailer = await snapshot.trailer;
      await file.write(encodeSnapshotFrame({ trailer }));
      await file.sync();
      await file.close();
      await rename(temp, path);
      return savedSnapshot(path, snapshot.header, dataBytes, trailer);
    } catch (err) {
      call.cancel();
      await file.close().catch(() => {});
      await rm(temp, { force: true });
      if (err instanceof SnapshotFormatError) throw new Internal(err.message, { code: StatusCode.DATA_LOSS, method: 'Snapshot', cause: err });
      throw fromGrpcError(err, { method: 'Snapshot', kind: 'read', cancelledByCaller: options.signal?.aborted });
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the connection. */
  close(): void {
    this.#cluster.close();
    this.#maintenance.close();
    this.#tokens?.close();
  }

  #unary<T>(
    method: string,
    invoke: (md: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: T) => void) => grpc.ClientUnaryCall,
    options: EndpointCallOptions,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const deadline = Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINE_MS);
      const fail = (err: unknown): BellwetherError => fromGrpcError(err, { method, kind: 'read', cancelledByCaller: options.signal?.aborted });
      const call = invoke(new grpc.Metadata(), { deadline }, (err, res) => {
        options.signal?.removeEventListener('abort', onAbort);
        if (err) reject(fail(err));
        else resolve(res as T);
      });
      const onAbort = () => call.cancel();
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function savedSnapshot(path: string, header: SnapshotHeader__Output, dataBytes: number, trailer: SnapshotTrailer__Output): SavedSnapshot {
  return {
    path,
    clusterId: header.clusterId,
    memberId: header.memberId,
    revision: Number(header.revision),
    dataBytes,
    sha256: Buffer.from(trailer.sha256).toString('hex'),
  };
}

/**
 * Reads a snapshot file written by {@link EndpointClient.saveSnapshot} to the
 * end and checks it (header, SHA-256, size); resolves with what it holds.
 * @throws {@link Internal} with code DATA_LOSS when the file is corrupt or truncated.
 */
export async function verifySnapshotFile(path: string): Promise<SavedSnapshot> {
  try {
    const snapshot = await checkSnapshotParts(readSnapshotFile(path), path);
    let dataBytes = 0;
    for await (const data of snapshot.data) dataBytes += data.length;
    const trailer = await snapshot.trailer;
    return savedSnapshot(path, snapshot.header, dataBytes, trailer);
  } catch (err) {
    if (err instanceof SnapshotFormatError) throw new Internal(err.message, { code: StatusCode.DATA_LOSS, cause: err });
    throw err;
  }
}
