import * as grpc from '@grpc/grpc-js';
import { InvalidArgument } from './errors';

/** PEM text or bytes. */
export type Pem = string | Uint8Array;

/**
 * TLS to the cluster's client ports. `ca` verifies the members' certificates
 * (default: the system's roots); `cert` and `key` (both or neither) are this
 * client's certificate, for clusters run with `--client-cert-auth`.
 */
export interface TlsOptions {
  ca?: Pem;
  cert?: Pem;
  key?: Pem;
}

const pem = (v: Pem | undefined): Buffer | null => (v === undefined ? null : Buffer.from(v));

/** The channel credentials for the `tls` / `credentials` options of `connect` (plaintext when neither is given). */
export function channelCredentials(tls: TlsOptions | undefined, credentials: grpc.ChannelCredentials | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return credentials ?? grpc.credentials.createInsecure();
  if (credentials !== undefined) throw new InvalidArgument('connect: give either `tls` or `credentials`, not both');
  if (typeof tls !== 'object' || tls === null) throw new InvalidArgument('connect: `tls` must be an object { ca?, cert?, key? }');
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new InvalidArgument('connect: `tls.cert` and `tls.key` go together (a client certificate and its key)');
  return grpc.credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}
