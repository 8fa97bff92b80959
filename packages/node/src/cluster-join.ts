import type { Member__Output, MembersResponse__Output } from '@bellwether/proto';
import { encodeConfChange } from '@bellwether/raft';
import type { Store } from '@bellwether/store';
import type { Logger } from 'pino';
import { ConfigError, deriveClusterId, type NodeConfig } from './config';
import { callCluster } from './cluster-calls';
import { decodeMembers, decodeSnapshotMeta, encodeIndex, encodeMembers, MEMBERS_INDEX_KEY, type MemberInfo } from './membership';

/**
 * How a node with a new data dir enters a cluster, and disaster recovery:
 * - `--initial-cluster-state new` (the default) bootstraps the cluster of
 *   `--peers`; but if a peer already answers for a running cluster that
 *   knows this member's data (or does not list it, or is another cluster),
 *   the node refuses and says how to join or replace instead.
 * - `--initial-cluster-state existing` joins a cluster this member was added
 *   to with AddMember: it asks the members given in `--peers` for the
 *   cluster id and membership, starts with an empty log and waits for the
 *   leader's snapshot and log.
 * - `--force-new-cluster` turns a surviving member's data dir into a
 *   one-member cluster (every other member removed by committed entries).
 */

export type InitialClusterState = 'new' | 'existing';

export interface FirstStart {
  clusterId: string;
  /** The configuration the Raft log starts from (empty for a joiner: the log brings it). */
  bootstrap: MemberInfo[];
  /** The membership as known at start (for a joiner: the cluster's, so it can reach every member). */
  members: MemberInfo[];
  /** The log index `members` reflects (a joiner's: the answering member's; 0 for a new cluster). */
  membersIndex: number;
}

const PROBE_DEADLINE_MS = 1000;
const JOIN_WAIT_MS = 30_000;
const FORCED_AT_KEY = 'forced-new-cluster-at';

function selfAddress(config: NodeConfig): string {
  return config.advertise ?? config.peers.get(config.id) ?? config.listen;
}

async function askMembers(address: string, deadlineMs: number): Promise<MembersResponse__Output | undefined> {
  return callCluster<MembersResponse__Output>(address, 'Members', {}, deadlineMs).catch(() => undefined);
}

function joinProcedure(id: string, address: string): string {
  return (
    `on its leader call Cluster.AddMember(id: "${id}", peer_address: "${address}"), ` +
    `then start this node with an empty --data-dir and --initial-cluster-state existing --peers <the current members> (docs/operations.md)`
  );
}

function replaceProcedure(id: string, address: string): string {
  return `on the leader call Cluster.RemoveMember(id: "${id}") if it is still a member; then, ${joinProcedure(id, address)}`;
}

/** The identity of a new data dir, after checking what already answers at the peers. */
export async function planFirstStart(config: NodeConfig, log: Logger): Promise<FirstStart> {
  if ((config.initialClusterState ?? 'new') === 'existing') return joinExisting(config, log);
  const clusterId = config.clusterId ?? deriveClusterId(config.peers);
  const others = [...config.peers].filter(([id]) => id !== config.id);
  const answers = await Promise.all(others.map(async ([id, address]) => ({ id, address, res: await askMembers(address, PROBE_DEADLINE_MS) })));
  for (const { id, address, res } of answers) {
    if (!res) continue;
    const me = res.members.find((m) => m.id === config.id);
    const where = `member ${id} at ${address} already serves cluster ${res.clusterId}`;
    if (res.clusterId !== clusterId) {
      throw new ConfigError(
        `--initial-cluster-state new: ${where}, not the cluster ${clusterId} these --peers would bootstrap. ` +
          `To join it instead: ${joinProcedure(config.id, selfAddress(config))}`,
      );
    }
    if (!me) {
      throw new ConfigError(`--initial-cluster-state new: ${where}, which does not list ${config.id} (it was removed, or never added). To join: ${joinProcedure(config.id, selfAddress(config))}`);
    }
    if (me.incarnation) {
      throw new ConfigError(
        `--initial-cluster-state new: ${where}, which knows ${config.id} as incarnation ${me.incarnation}, but this data dir is new: ` +
          `${config.id} lost its data and must not vote as if it had not (it may have acknowledged writes it no longer has). To replace it: ${replaceProcedure(config.id, selfAddress(config))}`,
      );
    }
  }
  const bootstrap = [...config.peers].map(([id, address]) => ({ id, address, voter: true, incarnation: '' }));
  return { clusterId, bootstrap, members: bootstrap, membersIndex: 0 };
}

function fromWire(m: Member__Output): MemberInfo {
  return { id: m.id, address: m.address, voter: m.voter, incarnation: m.incarnation };
}

async function joinExisting(config: NodeConfig, log: Logger): Promise<FirstStart> {
  const others = [...config.peers].filter(([id]) => id !== config.id);
  if (others.length === 0) throw new ConfigError('--initial-cluster-state existing: --peers must list the current members to join');
  const until = Date.now() + JOIN_WAIT_MS;
  let lastSeen = 'no member answered';
  for (;;) {
    for (const [id, address] of others) {
      const res = await askMembers(address, PROBE_DEADLINE_MS);
      if (!res) continue;
      if (config.clusterId && res.clusterId !== config.clusterId) {
        throw new ConfigError(`--initial-cluster-state existing: member ${id} at ${address} serves cluster ${res.clusterId}, not --cluster-id ${config.clusterId}`);
      }
      const me = res.members.find((m) => m.id === config.id);
      if (me) {
        if (me.voter) {
          throw new ConfigError(
            `--initial-cluster-state existing: cluster ${res.clusterId} has ${config.id} as a voter already; a new data dir must join as a learner. ` +
              `To replace it: ${replaceProcedure(config.id, me.address)}`,
          );
        }
        log.info({ clusterId: res.clusterId, via: id, members: res.members.map((m) => m.id) }, 'joining an existing cluster as a learner');
        return { clusterId: res.clusterId, bootstrap: [], members: res.members.map(fromWire), membersIndex: Number(res.appliedIndex) || 0 };
      }
      lastSeen = `member ${id} at ${address} (cluster ${res.clusterId}) does not list ${config.id}`;
    }
    if (Date.now() > until) {
      throw new ConfigError(
        `--initial-cluster-state existing: could not join (${lastSeen}). First add this member on the leader: ` +
          `Cluster.AddMember(id: "${config.id}", peer_address: "${selfAddress(config)}"), then start it again`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Disaster recovery (after losing a majority): this member's log becomes the
 * whole truth. Every entry it holds is kept (the stored commit index may lag
 * the real one, so entries past it can be acknowledged writes), and entries
 * removing every other member are appended and committed, in a term above
 * any it has seen. The cluster id stays, so new members join it as usual.
 */
export async function forceNewCluster(store: Store, selfId: string, log: Logger): Promise<void> {
  const forcedAt = (await store.getMeta(FORCED_AT_KEY))?.toString('utf8');
  if (forcedAt !== undefined) {
    if (store.lastIndex > Number(forcedAt)) {
      throw new ConfigError(
        `--force-new-cluster: this data dir was already made a new cluster (at index ${forcedAt}) and has moved on since; start it without --force-new-cluster (forcing again would remove the members added since)`,
      );
    }
    return;
  }
  const members = decodeMembers((await store.getMeta('members')) ?? encodeMembers([]));
  const others = members.filter((m) => m.id !== selfId);
  const entries = await store.loadLog();
  const snapshotRaw = await store.loadSnapshotMeta();
  const snapshot = snapshotRaw ? decodeSnapshotMeta(snapshotRaw) : undefined;
  const hs = (await store.loadHardState()) ?? { term: 0, vote: null, commit: 0 };
  const last = entries.at(-1);
  const lastIndex = last?.index ?? snapshot?.index ?? 0;
  const term = Math.max(hs.term, last?.term ?? 0, snapshot?.term ?? 0) + 1;
  const removals = others.map((m, i) => ({
    index: lastIndex + 1 + i,
    term,
    type: 'conf' as const,
    data: encodeConfChange({ kind: 'removeNode', nodeId: m.id }),
  }));
  const commit = lastIndex + removals.length;
  await store.persist({ hardState: { term, vote: selfId, commit }, entries: removals }, true);
  // The removals just appended must apply to the member list, whatever list this member joined with.
  await store.putMeta({ [FORCED_AT_KEY]: Buffer.from(String(commit)), [MEMBERS_INDEX_KEY]: encodeIndex(0) });
  log.warn(
    { removed: others.map((m) => m.id), keptEntriesUpTo: lastIndex, term },
    '--force-new-cluster: this member is now a one-member cluster with all the data its log holds; grow it back with AddMember. Start it without --force-new-cluster from now on',
  );
}
