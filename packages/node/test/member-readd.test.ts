// A member replaced in place (RemoveMember, stop it, wipe its data dir,
// AddMember again under the same id and address, start it empty): the leader
// must record the incarnation of the process that answers after the re-add,
// never the one the removed process presented just before. Recording the old
// one made the leader refuse the new member for good (it never caught up and
// PromoteMember waited forever; found by the chaos `member` fault).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_ID_METADATA, loadPeerApi, MEMBER_ID_METADATA } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { INCARNATION_METADATA } from '../src/incarnation';
import { changedRecords, type MemberInfo } from '../src/membership';
import { call, type Clients, singleNode, waitFor } from './helpers';

type Members = { members: { id: string; address: string; voter: boolean; incarnation: string }[] };

/** A process claiming to be member `id` with `incarnation`: it opens a Replicate stream and sends one (empty) batch, as a peer does when it answers. */
async function presentAs(port: number, clusterId: string, id: string, incarnation: string): Promise<() => void> {
  const api = loadPeerApi();
  const client = new api.bellwether.raft.v1.Raft(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set(CLUSTER_ID_METADATA, clusterId);
  md.set(MEMBER_ID_METADATA, id);
  md.set(INCARNATION_METADATA, incarnation);
  const stream = client.Replicate(md);
  stream.on('error', () => {});
  stream.on('data', () => {});
  await new Promise<void>((resolve, reject) => stream.write({ messages: [] }, (err?: Error) => (err ? reject(err) : resolve())));
  return () => {
    stream.cancel();
    client.close();
  };
}

async function members(c: Clients): Promise<Members['members']> {
  return (await call<Record<string, never>, Members>(c.cluster.Members, c.cluster, {})).members;
}

async function incarnationOf(c: Clients, id: string): Promise<string | undefined> {
  return (await members(c)).find((m) => m.id === id)?.incarnation;
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a member removed and added back at once is recorded as the process that answers after the re-add, not the removed one', async (t) => {
  const { node, clients: c } = await singleNode(t);
  await until('the leader records its own incarnation', async () => !!(await incarnationOf(c, 'n1')));
  // Nothing listens here: the leader's own dials to n2 fail, only n2's stream reaches it.
  const address = '127.0.0.1:9';

  await call(c.cluster.AddMember, c.cluster, { id: 'n2', peerAddress: address });
  const stopOld = await presentAs(node.port, node.clusterId, 'n2', 'aaaaaaaaaaaaaaaa');
  await until('the old n2 is recorded', async () => (await incarnationOf(c, 'n2')) === 'aaaaaaaaaaaaaaaa');

  // Replace it in place, well within the time a presented incarnation stays fresh.
  await call(c.cluster.RemoveMember, c.cluster, { id: 'n2' });
  stopOld();
  await call(c.cluster.AddMember, c.cluster, { id: 'n2', peerAddress: address });
  // The recorder looks every 100 ms: give it several rounds to (wrongly) reuse what the removed process presented.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await incarnationOf(c, 'n2'), '', 'the re-added n2 stays unrecorded until a process answers as n2 again');

  const stopNew = await presentAs(node.port, node.clusterId, 'n2', 'bbbbbbbbbbbbbbbb');
  t.after(stopNew);
  await until('the new n2 is recorded', async () => (await incarnationOf(c, 'n2')) === 'bbbbbbbbbbbbbbbb');
  await waitFor(() => node.replica.isLeader, 1000, 'n1 still leads');
});

test('a member list replaced at once (a snapshot) resets the records it adds, drops or gives another incarnation', () => {
  const list = (...ms: MemberInfo[]) => new Map(ms.map((m) => [m.id, m]));
  const m = (id: string, incarnation: string, voter = true): MemberInfo => ({ id, address: `127.0.0.1:1${id.slice(1)}`, voter, incarnation });
  const before = list(m('n1', 'i1'), m('n2', 'i2'), m('n3', 'i3'), m('n5', ''));
  // n2 removed and added back (unrecorded), n3 removed, n4 added, n5 recorded; n1 kept.
  const after = list(m('n1', 'i1'), m('n2', '', false), m('n4', '', false), m('n5', 'i5'));
  assert.deepEqual(changedRecords(before, after).sort(), ['n2', 'n3', 'n4', 'n5']);
  assert.deepEqual(changedRecords(before, before), []);
});
