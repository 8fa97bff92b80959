// Members replaced in place, as the chaos `member` fault does and as
// docs/operations.md allows: RemoveMember, stop it, wipe its data dir,
// AddMember at once under the same id and address, start it empty with
// --initial-cluster-state existing, PromoteMember once caught up. Each
// replaced member must catch up and be promoted, whatever the log's history
// of earlier replacements says about the members.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import type { BellwetherClient } from '@bellwether/client';
import { closeClients, type NodeProcess, waitFor } from '../src/cluster';
import { members, startAndPromote, waitForIncarnations, WriteLoad } from '../src/membership-helpers';
import { sdkClient, startSdkCluster } from '../src/sdk-helpers';

const PROMOTE_TIMEOUT_MS = 30_000;

/** About 1.6 MiB of writes: more than one peer message (~1 MiB), so a member replaying the log gets it in several. */
async function bulkWrites(client: BellwetherClient, tag: string): Promise<void> {
  const value = 'x'.repeat(400 * 1024);
  for (let i = 0; i < 4; i++) await client.put(`bulk/${tag}/${i}`, value, { deadlineMs: 30_000 });
}

async function replaceInPlace(client: BellwetherClient, node: NodeProcess): Promise<void> {
  await client.removeMember(node.id, { deadlineMs: 30_000 });
  await node.stop();
  rmSync(node.dataDir, { recursive: true, force: true });
  mkdirSync(node.dataDir, { recursive: true });
  // The cluster takes writes while the member is out: its removal and its
  // re-add are far apart in the log.
  await bulkWrites(client, node.id);
  await client.addMember(node.id, node.address, { deadlineMs: 30_000 });
  await startAndPromote(client, node, PROMOTE_TIMEOUT_MS, ['--initial-cluster-state', 'existing']);
}

test('members replaced in place one after another all catch up and are promoted, a replaced one leading', async (t) => {
  const { cluster: c, leader } = await startSdkCluster(t, 3);
  const [f, g] = c.followers(leader) as [NodeProcess, NodeProcess];
  const client = await sdkClient(t, c.nodes.map((n) => n.address));
  const load = new WriteLoad(client, 'in-place');
  t.after(() => load.stop());
  await waitForIncarnations(c);
  const fBefore = (await members(leader)).members.find((m) => m.id === f.id)?.incarnation;
  await load.progress(20);

  // Removal and re-add within a few hundred ms: the leader must record the
  // new process, not what the removed one presented just before.
  await replaceInPlace(client, f);
  const fAfter = (await members(leader)).members.find((m) => m.id === f.id);
  assert.equal(fAfter?.role, 'MEMBER_ROLE_VOTER');
  assert.notEqual(fAfter?.incarnation, fBefore, `${f.id} is known as its new incarnation`);

  // With the replaced member leading, replace another: it joins with today's
  // member list and replays the log from its start, which holds the leader's
  // removal and its old incarnation. It must still take the leader's log.
  const res = await client.transferLeadership(f.id, { deadlineMs: 30_000 });
  assert.equal(res.leaderId, f.id);
  await load.progress(20);
  await replaceInPlace(client, g);
  await load.progress(20);

  await load.stopAndCheck(g);
  // Its member list names every member as the leader knows it.
  const known = (await members(f)).members;
  await waitFor(
    async () => {
      const seen = (await members(g)).members;
      return JSON.stringify(seen.map((m) => [m.id, m.incarnation]).sort()) === JSON.stringify(known.map((m) => [m.id, m.incarnation]).sort()) ? true : undefined;
    },
    20_000,
    `${g.id} knows the members as the leader does`,
  );
  closeClients();
});
