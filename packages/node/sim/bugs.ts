import { type Message, type RaftConfig, RawNode, type Ready } from '@bellwether/raft';
import { type Command, decodeCommand, encodeCommand, type LogEntry, type ReplicaStorage, type SnapshotStore, type StateMachine, type Store, type WalFiles } from '@bellwether/store';
import type { Replica } from '../src/replica';

/**
 * Deliberately broken variants, switched on only by the simulator (`--bug`),
 * to prove its checkers catch what they are meant to; production code has no
 * such switch.
 *
 * - ackBeforeFsync: append responses leave before the entries they
 *   acknowledge are fsynced, so a power loss takes back an acknowledged entry.
 * - applyBeforeCommit: every entry in the member's log is handed out for
 *   applying once appended, committed or not; a leader answers a write its
 *   followers never stored, and a member keeps the state of an entry a new
 *   leader later overwrites.
 * - forgetSessions: every write applies without its client id, so a retried
 *   (client_id, sequence) is applied again instead of answered from the session.
 * - readIndexWithoutQuorum: a linearizable read is served at the member's own
 *   applied index, without the leader confirming it still leads.
 * - servedBeforeApplied: a read waiting for an index is answered at once,
 *   before this member applied it (read-your-writes).
 * - partialSnapshotInstall: a snapshot install swaps in its state without
 *   its last chunk.
 * - cleanupDeletesLiveGeneration: after a snapshot install's swap, the
 *   cleanup clears the generation just made live instead of the retired one.
 * - walUnsyncedAppends: the log's segment files take appends without
 *   syncing them, so a power loss can take back entries and votes the
 *   member already answered for.
 */
export const NODE_BUGS = ['ackBeforeFsync', 'applyBeforeCommit', 'forgetSessions', 'readIndexWithoutQuorum', 'servedBeforeApplied', 'partialSnapshotInstall', 'cleanupDeletesLiveGeneration', 'walUnsyncedAppends'] as const;
export type NodeBugName = (typeof NODE_BUGS)[number];

class AckBeforeFsync extends RawNode {
  protected override waitsForPersist(m: Message): boolean {
    return m.type !== 'appendResp' && super.waitsForPersist(m);
  }
}

class ApplyBeforeCommit extends RawNode {
  override ready(): Ready {
    const rd = super.ready();
    // Everything after what was handed out so far, up to the log's end: the Ready's own entries are persisted before they are applied.
    if (this.log.pendingSnapshot === undefined && this.log.lastIndex() > this.log.applying) {
      const extra = this.log.slice(this.log.applying + 1, this.log.lastIndex(), Number.MAX_SAFE_INTEGER) ?? [];
      rd.committedEntries = [...rd.committedEntries, ...extra];
      const last = extra[extra.length - 1];
      if (last !== undefined) this.log.applying = last.index;
    }
    return rd;
  }
}

export function makeRaft(bug: NodeBugName | undefined, config: RaftConfig): RawNode {
  if (bug === 'ackBeforeFsync') return new AckBeforeFsync(config);
  if (bug === 'applyBeforeCommit') return new ApplyBeforeCommit(config);
  return new RawNode(config);
}

/**
 * The storage seams the member's Replica runs on: the store's own log, state
 * machine and snapshots, wrapped where `bug` breaks one of them.
 */
/** The log's directory as the member's store sees it. */
export function walFilesFor(bug: NodeBugName | undefined, files: WalFiles): WalFiles {
  if (bug !== 'walUnsyncedAppends') return files;
  return {
    ...files,
    create: async (name) => {
      const file = await files.create(name);
      return { append: (chunks) => file.append(chunks, false), close: () => file.close() };
    },
  };
}

export function storageFor(bug: NodeBugName | undefined, store: Store): ReplicaStorage {
  let stateMachine: StateMachine = store.stateMachine;
  let snapshots: SnapshotStore = store.snapshots;
  if (bug === 'forgetSessions') {
    const real = store.stateMachine;
    stateMachine = {
      get appliedIndex() {
        return real.appliedIndex;
      },
      apply: (entries, meta, sync, answer) => real.apply(entries.map(withoutSession), meta, sync, answer),
    };
  } else if (bug === 'partialSnapshotInstall') {
    const real = store.snapshots;
    snapshots = {
      snapshotReader: (maxChunkBytes) => real.snapshotReader(maxChunkBytes),
      beginSnapshotInstall: async () => {
        const installer = await real.beginSnapshotInstall();
        // Each chunk is written only when the next one arrives: the last never is.
        let held: Uint8Array | undefined;
        return {
          ...installer,
          write: async (chunk) => {
            if (held !== undefined) await installer.write(held);
            held = chunk;
          },
        };
      },
    };
  } else if (bug === 'cleanupDeletesLiveGeneration') {
    // The cleanup runs inside the install's swap, so only the store's own instance can be broken.
    store.snapshots.retireGeneration = () => store.snapshots.clearGeneration(store.stateMachine.generation);
  }
  return { log: store.log, stateMachine, snapshots };
}

function withoutSession(e: LogEntry): LogEntry {
  if (e.type !== 'normal' || e.data.length === 0) return e;
  const c: Command = decodeCommand(e.data);
  if (c.op !== 'put') return e;
  return { ...e, data: encodeCommand({ ...c, clientId: '' }) };
}

export function patchReplica(bug: NodeBugName | undefined, replica: Replica): void {
  if (bug === 'readIndexWithoutQuorum') replica.readIndex = () => Promise.resolve(replica.appliedIndex);
  if (bug === 'servedBeforeApplied') replica.waitApplied = () => Promise.resolve(true);
}
