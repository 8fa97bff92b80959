// A secured cluster for tests and benchmarks: throwaway certificates for
// client TLS and peer mutual TLS on separate ports, and auth with a root user.
import { readFileSync } from 'node:fs';
import { createDevCertificates } from '@bellwether/node';
import * as grpc from '@grpc/grpc-js';
import { AuthAdmin } from './auth-admin';
import type { ClusterOptions } from './cluster';
import { ensureSystemPackage } from './system-packages';

/** Cluster options for TLS on every port (certificates made under `dir`), and the CA clients trust. */
export function tlsClusterOptions(dir: string, size: number): { options: Pick<ClusterOptions, 'peerPorts' | 'credentials' | 'nodeArgs'>; ca: Buffer } {
  ensureSystemPackage('openssl');
  const certs = createDevCertificates(dir, { members: Array.from({ length: size }, (_, i) => `n${i + 1}`) });
  const ca = readFileSync(certs.caFile);
  return {
    ca,
    options: {
      peerPorts: true,
      credentials: grpc.credentials.createSsl(ca),
      nodeArgs: (m) => {
        const own = certs.members[m.id]!;
        return [
          ...['--tls-cert-file', own.certFile, '--tls-key-file', own.keyFile],
          ...['--peer-tls-cert-file', own.certFile, '--peer-tls-key-file', own.keyFile, '--peer-tls-ca-file', certs.caFile],
        ];
      },
    },
  };
}

/** Creates `root` (holding the root role) with this password and enables auth, through the leader. */
export async function enableAuth(leaderAddress: string, rootPassword: string, credentials?: grpc.ChannelCredentials): Promise<void> {
  const admin = new AuthAdmin(credentials);
  try {
    await admin.call(leaderAddress, 'UserAdd', { name: 'root', password: rootPassword });
    await admin.call(leaderAddress, 'UserGrantRole', { user: 'root', role: 'root' });
    await admin.call(leaderAddress, 'AuthEnable', {});
  } finally {
    admin.close();
  }
}
