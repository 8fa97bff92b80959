// TLS on client ports, mutual TLS with member-id certificates on separate
// peer ports: used from the SDK and from Python; plaintext, certificates of
// another CA and a member's certificate claiming another id are refused;
// certificates reload on SIGHUP.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, PermissionDenied } from '@bellwether/client';
import { createDevCertificates, type DevIdentity } from '@bellwether/node';
import { CLUSTER_ID_METADATA, loadPeerApi, loadPublicApi, MEMBER_ID_METADATA, type MembersResponse__Output } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { AuthAdmin } from '../src/auth-admin';
import { clientsFor, type NodeProcess, TestCluster, unary, waitFor } from '../src/cluster';
import { generatePythonStubs, PYTHON, PYTHON_SCRIPTS } from '../src/python';
import { ensureSystemPackage } from '../src/system-packages';

// Certificates are made with Debian's openssl.
ensureSystemPackage('openssl');

const FRESH_CHANNEL = { 'grpc.use_local_subchannel_pool': 1 };

/** Opens a Replicate stream claiming to be `as`; resolves 'accepted' once the member answers, or the status code it refused with. */
function peerCall(address: string, credentials: grpc.ChannelCredentials, clusterId: string, as: string, incarnation = ''): Promise<'accepted' | grpc.status> {
  const client = new (loadPeerApi().bellwether.raft.v1.Raft)(address, credentials, FRESH_CHANNEL);
  const md = new grpc.Metadata();
  md.set(CLUSTER_ID_METADATA, clusterId);
  md.set(MEMBER_ID_METADATA, as);
  // The member's recorded incarnation (else it is refused on those grounds, whatever its certificate).
  if (incarnation) md.set('bellwether-incarnation', incarnation);
  const stream = client.Replicate(md);
  return new Promise((resolve) => {
    const done = (r: 'accepted' | grpc.status) => {
      stream.cancel();
      client.close();
      resolve(r);
    };
    stream.on('metadata', () => done('accepted'));
    stream.on('error', (err: grpc.ServiceError) => done(err.code));
    stream.on('data', () => {});
  });
}

/** Status over a fresh channel; resolves the member id, or the status code of the failure. */
async function statusWith(address: string, credentials: grpc.ChannelCredentials): Promise<string | grpc.status> {
  const client = new (loadPublicApi().bellwether.cluster.v1.Cluster)(address, credentials, FRESH_CHANNEL);
  try {
    const st = await unary<{ memberId: string }>(client, 'Status', {}, 3000);
    return st.memberId;
  } catch (err) {
    return (err as grpc.ServiceError).code;
  } finally {
    client.close();
  }
}

const identity = (id: DevIdentity): grpc.ChannelCredentials => grpc.credentials.createSsl(null, readFileSync(id.keyFile), readFileSync(id.certFile));
const anyName = { checkServerIdentity: () => undefined };

test('a 3-node cluster with peer mTLS on separate ports and client TLS serves the SDK and Python (TLS + token); plaintext, foreign certificates and a member certificate for the wrong id are refused; SIGHUP reloads certificates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const certs = createDevCertificates(join(dir, 'ca1'), { members: ['n1', 'n2', 'n3'] });
  const foreign = createDevCertificates(join(dir, 'ca2'), { members: ['n1', 'n3'] });
  const ca = readFileSync(certs.caFile);
  // The client port's files are copies, so one member's can be replaced below.
  const clientFiles = (id: string) => ({ certFile: join(dir, `${id}-client.crt`), keyFile: join(dir, `${id}-client.key`) });
  for (const id of ['n1', 'n2', 'n3']) {
    copyFileSync(certs.members[id]!.certFile, clientFiles(id).certFile);
    copyFileSync(certs.members[id]!.keyFile, clientFiles(id).keyFile);
  }
  const tlsCredentials = grpc.credentials.createSsl(ca);
  const cluster = await TestCluster.start({
    size: 3,
    peerPorts: true,
    credentials: tlsCredentials,
    nodeArgs: (m) => [
      ...['--peer-tls-cert-file', certs.members[m.id]!.certFile, '--peer-tls-key-file', certs.members[m.id]!.keyFile, '--peer-tls-ca-file', certs.caFile],
      ...['--tls-cert-file', clientFiles(m.id).certFile, '--tls-key-file', clientFiles(m.id).keyFile],
    ],
  });
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  const follower = cluster.followers(leader)[0]!;
  const n = (id: string) => cluster.node(id) as NodeProcess & { peerAddress: string };

  // The SDK over TLS: writes through any endpoint, reads from a follower.
  const client = await connect({ endpoints: [follower.address], tls: { ca } });
  t.after(() => client.close());
  await client.put('app/x', 'secret');
  const read = await client.get('app/x', { mode: 'linearizable' });
  assert.equal(read.kv?.valueString, 'secret');

  // Plaintext is refused on both ports.
  assert.equal(await statusWith(leader.address, grpc.credentials.createInsecure()), grpc.status.UNAVAILABLE);
  const { clusterId } = await cluster.status(leader);
  assert.equal(await peerCall(n('n1').peerAddress, grpc.credentials.createInsecure(), clusterId, 'n2'), grpc.status.UNAVAILABLE);
  // TLS without a client certificate, or with one from another CA, is refused on the peer port.
  assert.equal(await peerCall(n('n1').peerAddress, grpc.credentials.createSsl(ca, null, null, anyName), clusterId, 'n2'), grpc.status.UNAVAILABLE);
  assert.equal(await peerCall(n('n1').peerAddress, identity(foreign.members['n3']!), clusterId, 'n3'), grpc.status.UNAVAILABLE);
  // n2's own certificate speaks as n2, never as n3.
  const n2Cert = grpc.credentials.createSsl(ca, readFileSync(certs.members['n2']!.keyFile), readFileSync(certs.members['n2']!.certFile), anyName);
  assert.equal(await peerCall(n('n1').peerAddress, n2Cert, clusterId, 'n3'), grpc.status.UNAUTHENTICATED);
  await waitFor(() => /the caller's certificate names n2.*not member \\"n3\\"/.test(n('n1').log()), 10_000, 'n1 logs the refusal');
  const members = await unary<MembersResponse__Output>(clientsFor(n('n1').address, tlsCredentials).cluster as unknown as grpc.Client, 'Members', {});
  const n2Incarnation = members.members.find((m) => m.id === 'n2')?.incarnation ?? '';
  assert.equal(await peerCall(n('n1').peerAddress, n2Cert, clusterId, 'n3', members.members.find((m) => m.id === 'n3')?.incarnation), grpc.status.UNAUTHENTICATED);
  assert.equal(await peerCall(n('n1').peerAddress, n2Cert, clusterId, 'n2', n2Incarnation), 'accepted');

  // The cluster still replicates after all that.
  await client.put('app/y', 'still');
  assert.equal((await client.get('app/y', { mode: 'linearizable' })).kv?.valueString, 'still');

  // Python (grpcio) over TLS with a token of a user allowed py/; its plaintext attempt on the same port fails.
  const admin = new AuthAdmin(tlsCredentials);
  t.after(() => admin.close());
  const root = { name: 'root', password: 'root-Pw-tls' };
  await admin.call(leader.address, 'UserAdd', root);
  await admin.call(leader.address, 'UserGrantRole', { user: 'root', role: 'root' });
  await admin.call(leader.address, 'UserAdd', { name: 'py', password: 'py-Pw-tls' });
  await admin.call(leader.address, 'RoleAdd', { name: 'py' });
  await admin.call(leader.address, 'RoleGrantPermission', { name: 'py', perm: { permType: 'READWRITE', prefix: Buffer.from('py/') } });
  await admin.call(leader.address, 'UserGrantRole', { user: 'py', role: 'py' });
  await admin.call(leader.address, 'AuthEnable', {});
  const py = join(dir, 'py');
  mkdirSync(py);
  generatePythonStubs(py);
  const out = JSON.parse(execFileSync(PYTHON, [join(PYTHON_SCRIPTS, 'tls_interop.py'), py, leader.address, certs.caFile, 'py', 'py-Pw-tls'], { encoding: 'utf8' }));
  assert.ok(out.put_revision > 0);
  assert.equal(out.get_value, 'over tls');
  assert.equal(out.member_id, leader.id);
  assert.equal(out.outside_prefix, 'PERMISSION_DENIED');
  assert.equal(out.no_token, 'UNAUTHENTICATED');
  assert.equal(out.plaintext, 'UNAVAILABLE');
  await admin.call(leader.address, 'AuthDisable', {}, root);

  // SIGHUP: n1's client port switches to a certificate of the other CA without a restart.
  assert.equal(await statusWith(n('n1').address, grpc.credentials.createSsl(readFileSync(foreign.caFile))), grpc.status.UNAVAILABLE);
  copyFileSync(foreign.members['n1']!.certFile, clientFiles('n1').certFile);
  copyFileSync(foreign.members['n1']!.keyFile, clientFiles('n1').keyFile);
  const pid = n('n1').pid;
  n('n1').signal('SIGHUP');
  await waitFor(async () => (await statusWith(n('n1').address, grpc.credentials.createSsl(readFileSync(foreign.caFile)))) === 'n1', 10_000, 'n1 serves the reloaded certificate');
  assert.equal(await statusWith(n('n1').address, grpc.credentials.createSsl(ca)), grpc.status.UNAVAILABLE);
  assert.equal(n('n1').pid, pid, 'n1 was not restarted');
  await client.put('app/z', 'after reload');
});

test('--client-cert-auth: a client needs a certificate of the CA, and with auth enabled its CN is the user it speaks as', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const certs = createDevCertificates(dir, { members: ['n1'], clients: ['alice', 'mallory'] });
  const ca = readFileSync(certs.caFile);
  const pem = (id: DevIdentity) => ({ cert: readFileSync(id.certFile), key: readFileSync(id.keyFile) });
  const alice = pem(certs.clients['alice']!);
  const aliceCredentials = grpc.credentials.createSsl(ca, alice.key, alice.cert);
  const own = certs.members['n1']!;
  const cluster = await TestCluster.start({
    size: 1,
    peerPorts: true,
    credentials: aliceCredentials,
    args: ['--tls-cert-file', own.certFile, '--tls-key-file', own.keyFile, '--tls-ca-file', certs.caFile, '--client-cert-auth'],
  });
  const admin = new AuthAdmin(aliceCredentials);
  t.after(async () => {
    admin.close();
    await cluster.stop();
  });
  const node = await cluster.waitForLeader();
  assert.equal(await statusWith(node.address, grpc.credentials.createSsl(ca)), grpc.status.UNAVAILABLE, 'no client certificate: refused');

  const root = { name: 'root', password: 'root-Pw-cert' };
  await admin.call(node.address, 'UserAdd', root);
  await admin.call(node.address, 'UserGrantRole', { user: 'root', role: 'root' });
  await admin.call(node.address, 'UserAdd', { name: 'alice', password: 'unused-Pw' });
  await admin.call(node.address, 'RoleAdd', { name: 'app' });
  await admin.call(node.address, 'RoleGrantPermission', { name: 'app', perm: { permType: 'READWRITE', prefix: Buffer.from('app/') } });
  await admin.call(node.address, 'UserGrantRole', { user: 'alice', role: 'app' });
  await admin.call(node.address, 'AuthEnable', {});

  const client = await connect({ endpoints: [node.address], tls: { ca, ...alice } });
  t.after(() => client.close());
  await client.put('app/x', 'by certificate');
  assert.equal((await client.get('app/x')).kv?.valueString, 'by certificate');
  await assert.rejects(client.put('other/x', 'no'), (e: Error) => e instanceof PermissionDenied);
  // A certificate of the CA whose CN is no user authenticates nobody.
  const mallory = pem(certs.clients['mallory']!);
  assert.equal(await statusWith(node.address, grpc.credentials.createSsl(ca, mallory.key, mallory.cert)), grpc.status.UNAUTHENTICATED);
});
