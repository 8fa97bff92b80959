import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Paths of one PEM identity made by {@link createDevCertificates}. */
export interface DevIdentity {
  certFile: string;
  keyFile: string;
}

export interface DevCertificates {
  caFile: string;
  /** Per member id: a certificate naming the id (CN and DNS SAN), localhost and 127.0.0.1, for server and client use. */
  members: Record<string, DevIdentity>;
  /** Per client name: a client certificate with that CN. */
  clients: Record<string, DevIdentity>;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('openssl is not installed (Debian: apt-get install -y openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() ?? e.message}`);
  }
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A throwaway CA and certificates signed by it, written under `dir`, for local
 * clusters and tests only (keys are unencrypted; certificates last `days`).
 * Uses the `openssl` command.
 */
export function createDevCertificates(dir: string, opts: { members: string[]; clients?: string[]; days?: number }): DevCertificates {
  mkdirSync(dir, { recursive: true });
  const days = String(opts.days ?? 2);
  const caFile = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  openssl(['req', '-x509', ...KEY_ARGS, '-keyout', caKey, '-out', caFile, '-days', days, '-subj', '/CN=bellwether-dev-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const issue = (name: string, cn: string, san: string): DevIdentity => {
    const keyFile = join(dir, `${name}.key`);
    const certFile = join(dir, `${name}.crt`);
    const csr = join(dir, `${name}.csr`);
    const ext = join(dir, `${name}.ext`);
    writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}\n`);
    openssl(['req', ...KEY_ARGS, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${cn}`]);
    openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', days, '-out', certFile, '-extfile', ext]);
    return { certFile, keyFile };
  };
  const members: Record<string, DevIdentity> = {};
  for (const id of opts.members) members[id] = issue(id, id, `DNS:${id},DNS:localhost,IP:127.0.0.1`);
  const clients: Record<string, DevIdentity> = {};
  for (const name of opts.clients ?? []) clients[name] = issue(`client-${name}`, name, `DNS:${name}`);
  return { caFile, members, clients };
}
