// `pnpm start`: a local cluster of real `bellwether serve` processes on
// 127.0.0.1, data under ./data/, stopped cleanly on Ctrl-C.
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from '@bellwether/client';
import { createDevCertificates } from '@bellwether/node';
import { ServeProcess } from './process';

// `pnpm start -- --nodes 5` hands the script a leading `--`; it is not an option.
const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    nodes: { type: 'string', default: '3' },
    'base-port': { type: 'string', default: '7001' },
    // Each member's /metrics, /healthz, /readyz and dashboard; 0 turns them off.
    'metrics-base-port': { type: 'string', default: '8001' },
    'data-dir': { type: 'string' },
    tls: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    [
      'Usage: pnpm start [-- --nodes 3 --base-port 7001 --metrics-base-port 8001 --data-dir data --tls]',
      'Runs a local Bellwether cluster; Ctrl-C stops it. --metrics-base-port 0 turns off the HTTP endpoints.',
      '  --tls  makes a throwaway CA and certificates (openssl), serves clients over TLS and peers over',
      '         mutual TLS on ports of their own (base port + 100 + i); data goes to data-tls by default',
    ].join('\n'),
  );
  process.exit(0);
}
const count = Number(values.nodes);
const basePort = Number(values['base-port']);
const metricsBasePort = Number(values['metrics-base-port']);
if (!Number.isInteger(count) || count < 1 || count > 9) {
  console.error('--nodes: expected 1..9');
  process.exit(2);
}
const tls = values.tls;
const dataRoot = resolve(values['data-dir'] ?? (tls ? 'data-tls' : 'data'));
const bin = join(fileURLToPath(new URL('.', import.meta.url)), 'bin.js');
const members = Array.from({ length: count }, (_, i) => ({
  id: `n${i + 1}`,
  address: `127.0.0.1:${basePort + i}`,
  metrics: metricsBasePort > 0 ? `127.0.0.1:${metricsBasePort + i}` : undefined,
  peerAddress: tls ? `127.0.0.1:${basePort + 100 + i}` : undefined,
}));
const peers = members.map((m) => `${m.id}=${m.peerAddress ?? m.address}`).join(',');
const certs = tls ? createDevCertificates(join(dataRoot, 'tls'), { members: members.map((m) => m.id), clients: ['root'] }) : undefined;
function securityArgs(id: string, peerAddress: string | undefined): string[] {
  if (!certs || !peerAddress) return [];
  const own = certs.members[id]!;
  return [
    ...['--peer-listen', peerAddress, '--tls-cert-file', own.certFile, '--tls-key-file', own.keyFile, '--tls-ca-file', certs.caFile],
    ...['--peer-tls-cert-file', own.certFile, '--peer-tls-key-file', own.keyFile, '--peer-tls-ca-file', certs.caFile],
  ];
}

const processes: ServeProcess[] = [];
let stopping = false;
mkdirSync(dataRoot, { recursive: true });
for (const m of members) {
  const dir = join(dataRoot, m.id);
  mkdirSync(dir, { recursive: true });
  const metricsArgs = m.metrics ? ['--metrics-listen', m.metrics] : [];
  const member = new ServeProcess(m.id, m.address, dir, dataRoot, bin, [
    ...['--id', m.id, '--listen', m.address, '--data-dir', dir, '--peers', peers],
    ...metricsArgs,
    ...securityArgs(m.id, m.peerAddress),
  ]);
  member.start();
  // Errors also reach the terminal, marked with the member they came from.
  member.child?.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${m.id}] ${chunk}`));
  void member.waitExit().then(() => {
    if (stopping) return;
    const { exitCode, signalCode } = member.child!;
    console.error(`${m.id} exited (${signalCode ?? `code ${exitCode}`}); see ${member.logPath}. Stopping the cluster.`);
    void stop(1);
  });
  processes.push(member);
}

/** Stops every member (SIGTERM, SIGKILL after 5 s), each by its own PID, then exits. */
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  console.log('\nstopping...');
  await Promise.all(processes.map((p) => p.stop()));
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

console.log(`Bellwether: ${count}-node cluster, data in ${dataRoot}`);
for (const m of members) {
  console.log(`  ${m.id}  ${m.address}${m.peerAddress ? `  (peers: ${m.peerAddress}, mutual TLS)` : ''}${m.metrics ? `   metrics http://${m.metrics}/metrics` : ''}`);
}
if (members[0]?.metrics) console.log(`dashboard: http://${members[0].metrics}/`);
console.log(`bwctl: pnpm bwctl --endpoints ${members.map((m) => m.address).join(',')} endpoint status`);
if (certs) {
  const endpoints = members.map((m) => `'${m.address}'`).join(', ');
  console.log(`TLS: CA ${certs.caFile}; a client certificate for user "root": ${certs.clients['root']!.certFile} (key beside it)`);
  console.log(`  SDK:    connect({ endpoints: [${endpoints}], tls: { ca: readFileSync('${certs.caFile}') } })`);
  console.log(`  Python: grpc.secure_channel('${members[0]!.address}', grpc.ssl_channel_credentials(open('${certs.caFile}', 'rb').read()))`);
}

// Report the leader once the cluster has elected one.
const client = await connect({ endpoints: members.map((m) => m.address), ...(certs ? { tls: { ca: readFileSync(certs.caFile) } } : {}) });
const started = Date.now();
for (;;) {
  if (stopping) break;
  try {
    const status = await client.status({ deadlineMs: 1000 });
    if (status.leaderId) {
      console.log(`leader: ${status.leaderId} at ${status.leaderAddress} (term ${status.term})`);
      console.log('Ctrl-C stops the cluster.');
      break;
    }
  } catch {
    // not up yet
  }
  if (Date.now() - started > 30_000) {
    console.error('no leader after 30 s; see the logs in the data dir');
    break;
  }
  await new Promise((r) => setTimeout(r, 200));
}
client.close();
