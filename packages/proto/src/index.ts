import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as AuthGrpc } from './gen/auth';
import type { ProtoGrpcType as ClusterGrpc } from './gen/cluster';
import type { ProtoGrpcType as KvGrpc } from './gen/kv';
import type { ProtoGrpcType as LeaseGrpc } from './gen/lease';
import type { ProtoGrpcType as MaintenanceGrpc } from './gen/maintenance';
import type { ProtoGrpcType as RaftGrpc } from './gen/raft';

export * from './gen/index';
export { unary } from './unary';

/** The public API's .proto files, relative to {@link protosDir}. */
export const PUBLIC_PROTO_FILES = ['bellwether/kv/v1/kv.proto', 'bellwether/cluster/v1/cluster.proto', 'bellwether/maintenance/v1/maintenance.proto', 'bellwether/lease/v1/lease.proto', 'bellwether/auth/v1/auth.proto'] as const;

/** Peer-to-peer protocol files (not part of the client API). */
export const PEER_PROTO_FILES = ['bellwether/raft/v1/raft.proto'] as const;

/** Metadata every peer call carries, checked by the receiver. */
export const CLUSTER_ID_METADATA = 'bellwether-cluster-id';
export const MEMBER_ID_METADATA = 'bellwether-member-id';

/**
 * The options every Bellwether process loads protos with. 64-bit integers are
 * JS numbers: revisions and terms stay far below 2^53.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Request metadata carrying `Bearer <token>` once auth is enabled. */
export const AUTHORIZATION_METADATA = 'authorization';

/** Trailing metadata keys that name the leader on NOT_LEADER / UNAVAILABLE. */
export const LEADER_ID_METADATA = 'bellwether-leader-id';
export const LEADER_ADDRESS_METADATA = 'bellwether-leader-address';
/** Trailing metadata on RESOURCE_EXHAUSTED: wait at least this many milliseconds (a decimal integer) before trying again. */
export const RETRY_AFTER_METADATA = 'bellwether-retry-after-ms';

/** The directory holding the .proto files (shipped inside this package). */
export function protosDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/ and src/ both sit one level below the package root.
  const shipped = join(here, '..', 'protos');
  if (existsSync(shipped)) return shipped;
  return join(here, '..', '..', '..', 'protos');
}

const definitions = new Map<string, protoLoader.PackageDefinition>();

/** Loads (once) a package definition for the given proto files. */
export function loadDefinition(files: readonly string[]): protoLoader.PackageDefinition {
  const cacheKey = files.join('\n');
  let def = definitions.get(cacheKey);
  if (!def) {
    def = protoLoader.loadSync([...files], { ...LOADER_OPTIONS, includeDirs: [protosDir()] });
    definitions.set(cacheKey, def);
  }
  return def;
}

export type PublicGrpc = KvGrpc & ClusterGrpc & MaintenanceGrpc & LeaseGrpc & AuthGrpc;
export type PeerGrpc = RaftGrpc;

/** The peer service (Raft) as a grpc-js constructor and definition. */
export function loadPeerApi(): PeerGrpc {
  return grpc.loadPackageDefinition(loadDefinition(PEER_PROTO_FILES)) as unknown as PeerGrpc;
}

/** The public services (KV, Cluster, Maintenance, Auth) as grpc-js constructors and definitions. */
export function loadPublicApi(): PublicGrpc {
  return grpc.loadPackageDefinition(loadDefinition(PUBLIC_PROTO_FILES)) as unknown as PublicGrpc;
}

export {
  type CheckedSnapshot,
  checkSnapshotParts,
  encodeSnapshotFrame,
  readSnapshotFile,
  SNAPSHOT_DATA_FORMAT,
  SNAPSHOT_FILE_MAGIC,
  SnapshotFormatError,
} from './snapshot-file';
