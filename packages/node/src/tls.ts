import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ConfigError, type TlsFiles } from './config';

interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
}

function read(files: TlsFiles, flagPrefix: string): TlsMaterial {
  const one = (flag: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`--${flagPrefix}${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return {
    cert: one('tls-cert-file', files.certFile),
    key: one('tls-key-file', files.keyFile),
    ca: files.caFile === undefined ? undefined : one('tls-ca-file', files.caFile),
  };
}

/**
 * Server credentials whose certificate, key and CA are read again on
 * {@link reload}: connections accepted afterwards use the new files, open
 * ones keep theirs. grpc-js applies `updateSecureContextOptions` to every
 * server bound with these credentials.
 */
export class ReloadableServerCredentials extends grpc.ServerCredentials {
  private constructor(
    private readonly files: TlsFiles,
    private readonly flagPrefix: string,
    requireClientCert: boolean,
    material: TlsMaterial,
  ) {
    // rejectUnauthorized (Node's default) refuses a client certificate the CA did not sign.
    super({ requestCert: requireClientCert, rejectUnauthorized: true }, { cert: material.cert, key: material.key, ca: material.ca });
  }

  /** Reads the files now; a missing or unreadable file is a ConfigError. */
  static load(files: TlsFiles, flagPrefix: '' | 'peer-', requireClientCert: boolean): ReloadableServerCredentials {
    return new ReloadableServerCredentials(files, flagPrefix, requireClientCert, read(files, flagPrefix));
  }

  /** Re-reads the files; throws (keeping the current ones) if they cannot be read. */
  reload(): void {
    const m = read(this.files, this.flagPrefix);
    this.updateSecureContextOptions({ cert: m.cert, key: m.key, ca: m.ca });
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/** The member ids a certificate names: its subject CN and its DNS subject alternative names. */
export function certificateNames(cert: Pick<PeerCertificate, 'subject' | 'subjectaltname'> | undefined): string[] {
  if (!cert) return [];
  const names: string[] = [];
  const cn = cert.subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...(cn as string[]));
  for (const part of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*DNS:(.+)$/.exec(part);
    if (m) names.push(m[1]!.trim());
  }
  return names;
}

/**
 * Client credentials for dialing peer `to` with this member's certificate.
 * The peer's certificate must name `to` (instead of the host name: members
 * are known by id, and their addresses may be IPs or proxies).
 */
export class PeerClientTls {
  private material: TlsMaterial;

  constructor(private readonly files: Required<TlsFiles>) {
    this.material = read(files, 'peer-');
  }

  reload(): void {
    this.material = read(this.files, 'peer-');
  }

  credentials(to: string): grpc.ChannelCredentials {
    const { ca, key, cert } = this.material;
    return grpc.credentials.createSsl(ca, key, cert, {
      checkServerIdentity: (_host, peerCert) =>
        certificateNames(peerCert).includes(to) ? undefined : new Error(`peer certificate names ${certificateNames(peerCert).join(', ') || 'nothing'}, not member ${to}`),
    });
  }
}
