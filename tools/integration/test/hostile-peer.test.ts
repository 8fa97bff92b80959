// A peer that speaks the Raft protocol with out-of-range numbers or entries
// that do not decode: the member it talks to drops the messages, logs them,
// and the cluster keeps serving every write it acknowledged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CLUSTER_ID_METADATA,
  type GetResponse__Output,
  loadPeerApi,
  MEMBER_ID_METADATA,
  type MembersResponse__Output,
  type PutResponse__Output,
  type RaftMessage,
} from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { clientsFor, type NodeProcess, TestCluster, unary, waitFor } from '../src/cluster';
import { waitForIncarnations } from '../src/membership-helpers';

const kv = (n: NodeProcess) => clientsFor(n.address).kv as unknown as grpc.Client;

/**
 * Sends raw Raft messages to `target` on a Replicate stream, claiming to be
 * member `as`; numbers may be decimal strings so they can exceed 2^53.
 */
async function sendAsPeer(target: NodeProcess, clusterId: string, as: { id: string; incarnation: string }, messages: RaftMessage[]): Promise<void> {
  const api = loadPeerApi();
  const client = new api.bellwether.raft.v1.Raft(target.address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set(CLUSTER_ID_METADATA, clusterId);
  md.set(MEMBER_ID_METADATA, as.id);
  // The incarnation the cluster recorded for that member, or the stream is refused before any message is read.
  if (as.incarnation) md.set('bellwether-incarnation', as.incarnation);
  const stream = client.Replicate(md);
  stream.on('error', () => {});
  stream.on('data', () => {});
  await new Promise<void>((resolve, reject) => stream.write({ messages }, (err?: Error) => (err ? reject(err) : resolve())));
  // Let the target read the batch before the stream goes away.
  await new Promise((r) => setTimeout(r, 300));
  stream.end();
  client.close();
}

async function putAndReadEverywhere(cluster: TestCluster, key: string, value: string): Promise<void> {
  const leader = await cluster.waitForLeader();
  const res = await unary<PutResponse__Output>(kv(leader), 'Put', { key: Buffer.from(key), value: Buffer.from(value) }, 5000);
  for (const n of cluster.nodes) {
    const got = await waitFor(
      async () => {
        const r = await unary<GetResponse__Output>(kv(n), 'Get', { key: Buffer.from(key), read: { mode: 'READ_MODE_ANY_FOLLOWER', minIndex: res.header!.revision } }, 2000);
        return r.kv ? r : undefined;
      },
      15_000,
      `${n.id} serves ${key}`,
    );
    assert.equal(got.kv?.value.toString(), value);
  }
}

test('peer messages with a term beyond 2^53 - 1, bad entries or inconsistent indexes are dropped and logged; the cluster keeps serving', async (t) => {
  const cluster = await TestCluster.start({ size: 3 });
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  await putAndReadEverywhere(cluster, 'before', 'v1');
  const [target, other] = cluster.followers(leader) as [NodeProcess, NodeProcess];
  const st = await cluster.status(target);
  const term = Number(st.term);
  const last = Number(st.lastIndex);
  const base = { from: other.id, to: target.id };
  const hostile: { what: string; reason: RegExp; m: RaftMessage }[] = [
    {
      what: 'term 2^53',
      reason: /term 9007199254740992 is not an integer/,
      m: { ...base, type: 'heartbeat', term: '9007199254740992', commit: 0 } as unknown as RaftMessage,
    },
    {
      what: 'term 2^64 - 1',
      reason: /term 18446744073709552000 is not an integer/,
      m: { ...base, type: 'append', term: '18446744073709551615', index: last, logTerm: term, entries: [], commit: 0 } as unknown as RaftMessage,
    },
    {
      what: 'an undecodable entry',
      reason: /entry \d+ does not decode: store: unknown command op 255/,
      m: { ...base, type: 'append', term: term + 1, index: last, logTerm: term, entries: [{ index: last + 1, term: term + 1, type: 'ENTRY_TYPE_NORMAL', data: Buffer.from([0xff, 1, 2]) }], commit: last + 1 },
    },
    {
      what: 'entries with a gap',
      reason: /entry 0 has index \d+, expected \d+/,
      m: { ...base, type: 'append', term: term + 1, index: last, logTerm: term, entries: [{ index: last + 5, term: term + 1, type: 'ENTRY_TYPE_NOOP', data: Buffer.alloc(0) }], commit: 0 },
    },
    { what: "a commit beyond the receiver's log", reason: /heartbeat commit \d+ beyond last index/, m: { ...base, type: 'heartbeat', term, commit: last + 1000 } },
    {
      what: 'a commit index beyond 2^53 - 1',
      reason: /commit 9007199254740992 is not an integer/,
      m: { ...base, type: 'heartbeat', term, commit: '9007199254740993' } as unknown as RaftMessage,
    },
  ];
  // The peer is impersonated with the incarnation the cluster recorded for it: read once recorded
  // (read earlier, an empty one no longer matches when the record lands, and every message is refused unlogged).
  await waitForIncarnations(cluster);
  const members = await unary<MembersResponse__Output>(clientsFor(target.address).cluster as unknown as grpc.Client, 'Members', {});
  const incarnation = members.members.find((m) => m.id === other.id)?.incarnation ?? '';
  for (const { m } of hostile) await sendAsPeer(target, st.clusterId, { id: other.id, incarnation }, [m]);
  for (const { what, reason } of hostile) {
    await waitFor(() => target.log().split('\n').some((l) => l.includes('dropped a malformed peer message') && reason.test(l)), 10_000, `${target.id} logs that it dropped ${what}`);
  }
  assert.doesNotMatch(target.log(), /storage failed|"level":60/, `${target.id} must not stop:\n${target.log().slice(-3000)}`);
  assert.ok(target.running, `${target.id} is still running`);
  // Every member still accepts and serves writes, and the earlier one is intact.
  await putAndReadEverywhere(cluster, 'after', 'v2');
  const before = await unary<GetResponse__Output>(kv(target), 'Get', { key: Buffer.from('before'), read: { mode: 'READ_MODE_ANY_FOLLOWER' } });
  assert.equal(before.kv?.value.toString(), 'v1');
  const after = await cluster.status(target);
  assert.ok(Number(after.term) < 2 ** 53, `term stays in range (got ${after.term})`);
});
