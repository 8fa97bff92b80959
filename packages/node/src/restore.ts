import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkSnapshotParts, readSnapshotFile } from '@bellwether/proto';
import { Store } from '@bellwether/store';
import { ConfigError, deriveClusterId } from './config';
import { encodeMembers, encodeSnapshotMeta } from './membership';

export interface RestoreOptions {
  /** A file written by `bwctl snapshot save`. */
  snapshotPath: string;
  /** A new (absent or empty) data dir for this member. */
  dataDir: string;
  /** This member's id; must be among `peers`. */
  id: string;
  /** The new cluster's members (id -> address), the same on every member restored. */
  peers: Map<string, string>;
  /** Cluster id; derived from `peers` when not given (as `bellwether serve` does). */
  clusterId?: string;
}

export interface RestoreResult {
  clusterId: string;
  /** The snapshot's revision: every write up to it is in the restored state. */
  revision: number;
  /** The cluster and member the snapshot was taken from. */
  from: { clusterId: string; memberId: string };
  dataBytes: number;
}

/**
 * Seeds a member of a NEW cluster from a snapshot file: the key-value state
 * and client sessions at the snapshot's revision, an identity for `id` in the
 * cluster of `peers`, and a Raft log that starts just after that revision (as
 * if compacted there, at term 1). Restore every member from the same file with
 * the same `peers`, then start them with `bellwether serve`; writes continue
 * at the next revision. The whole file is checked (SHA-256, size) before the
 * data dir is touched, and a restore that fails part way empties it again.
 */
export async function restoreSnapshot(opts: RestoreOptions): Promise<RestoreResult> {
  if (!opts.peers.has(opts.id)) throw new ConfigError(`--id: "${opts.id}" is not among --peers (${[...opts.peers.keys()].join(', ')})`);
  const existing = await readdir(opts.dataDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new ConfigError(`--data-dir ${opts.dataDir}: ${err.message}`);
  });
  if (existing.length > 0) throw new ConfigError(`--data-dir ${opts.dataDir}: not empty; restore only into a new data dir`);
  // One pass to check the file, so a corrupt one never reaches the data dir.
  const check = await checkSnapshotParts(readSnapshotFile(opts.snapshotPath), opts.snapshotPath);
  for await (const _ of check.data);
  const snapshot = await checkSnapshotParts(readSnapshotFile(opts.snapshotPath), opts.snapshotPath);
  const revision = Number(snapshot.header.revision);
  if (revision < 1) throw new ConfigError(`${opts.snapshotPath}: snapshot revision ${revision} holds no state`);
  const clusterId = opts.clusterId ?? deriveClusterId(opts.peers);
  const members = [...opts.peers].map(([id, address]) => ({ id, address, voter: true }));
  const store = await Store.open(opts.dataDir);
  let dataBytes = 0;
  let done = false;
  try {
    const installer = await store.beginSnapshotInstall();
    try {
      for await (const chunk of snapshot.data) {
        dataBytes += chunk.length;
        await installer.write(chunk);
      }
      await snapshot.trailer;
    } catch (err) {
      await installer.abort();
      throw err;
    }
    // Term 1 and the snapshot's index: the new cluster's log starts right after the restored state.
    const raftSnapshot = encodeSnapshotMeta({ index: revision, term: 1, config: { voters: members.map((m) => m.id), learners: [] } });
    await installer.finish(revision, {
      'cluster-id': Buffer.from(clusterId),
      'member-id': Buffer.from(opts.id),
      bootstrap: encodeMembers(members),
      members: encodeMembers(members),
    });
    await store.resetLog(raftSnapshot, revision);
    await store.persist({ hardState: { term: 1, vote: null, commit: revision }, entries: [] }, true);
    done = true;
  } finally {
    await store.close();
    // The dir was empty before: leave it so, not half restored.
    if (!done) for (const name of await readdir(opts.dataDir)) await rm(join(opts.dataDir, name), { recursive: true, force: true });
  }
  return { clusterId, revision, from: { clusterId: snapshot.header.clusterId, memberId: snapshot.header.memberId }, dataBytes };
}
