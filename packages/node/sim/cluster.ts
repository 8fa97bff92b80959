import { RawNode, type Rng } from '@bellwether/raft';
import { Store } from '@bellwether/store';
import { decodeIndex, decodeMembers, encodeIndex, encodeMembers, MEMBERS_INDEX_KEY, type MemberInfo } from '../src/membership';
import { loadInitialState } from '../src/raft-recovery';
import { Replica, type ReplicaOptions } from '../src/replica';
import { makeRaft, type NodeBugName, patchReplica, storageFor, walFilesFor } from './bugs';
import { Violation } from './checkers';
import { type CrashKind, SimDisk } from './disk';
import { interruptInstalls } from './install-faults';
import type { SimNetwork } from './network';
import type { VirtualClock } from './virtual-clock';

/** One member: its disk outlives crashes; the store and replica are per run of the process. */
export interface SimMember {
  readonly id: string;
  readonly disk: SimDisk;
  store: Store | undefined;
  replica: Replica | undefined;
  /** Set while the member is down (crashed, not yet restarted). */
  down: boolean;
  /** Resolves once the crashed process has let go of its database. */
  stopping: Promise<void>;
  /** Set while a process is starting: one data directory has one process (LevelDB's lock). */
  starting?: Promise<void>;
  starts: number;
  /** joining: added to the cluster but not yet in its configuration; removed: out of it (stopped for good). */
  phase: 'joining' | 'member' | 'removed';
  /** For a joiner: the membership it starts knowing (so it can reach every member) and the log index it reflects; founders start from the bootstrap. */
  joinedWith: { members: MemberInfo[]; index: number } | undefined;
}

const TICK_MS = 10;
/** Log segments this small roll every few entries, so compaction deletes them and a power loss can tear one that is not the newest. */
const SIM_WAL_SEGMENT_BYTES = 512;
/** The node's defaults: 50 ms heartbeats, 150 ms election timeout, 1 s check-quorum, in 10 ms ticks. */
const RAFT_TIMING = {
  electionTimeoutTicks: 15,
  heartbeatTicks: 5,
  preVote: true,
  checkQuorum: true,
  checkQuorumTicks: 100,
  maxInflightMsgs: 64,
  maxSizePerMsgBytes: 64 * 1024,
};

/**
 * The members of a simulated cluster, each a real Replica over a real Store
 * on an in-memory LevelDB (memory-level), driven by the virtual clock.
 */
export class SimCluster {
  readonly members = new Map<string, SimMember>();
  readonly bootstrap: MemberInfo[];
  snapshotsInstalled = 0;
  /** Members stopped by a failed write (ENOSPC), as they should. */
  storageFailures = 0;
  /** Disks may fail writes (turned off once the run heals). */
  diskFaults = true;

  constructor(
    ids: string[],
    private readonly clock: VirtualClock,
    private readonly rng: Rng,
    private readonly net: SimNetwork,
    private readonly bug: NodeBugName | undefined,
    private readonly onEvent: (line: string) => void,
    /** A member stopped on an unexpected error, or Raft refused a peer's message. */
    private readonly onFatal: (id: string, err: Error) => void,
    /** A member stopped after a failed write: the operator frees space and restarts it. */
    private readonly onStorageFailure: (m: SimMember) => void,
    /** A member crashes in the middle of a snapshot install. */
    private readonly onInstallCrash: (m: SimMember) => void,
  ) {
    this.bootstrap = ids.map((id) => ({ id, address: `sim://${id}`, voter: true, incarnation: '' }));
    // Fast, ordinary or slow disks (the slower, the longer a write waits unsynced).
    const [fsyncMin, fsyncMax] = rng.pick([
      [1, 3],
      [1, 15],
      [20, 80],
    ] as const);
    this.fullDiskProbability = rng.pick([0, 0, 0.002]);
    this.installCrashProbability = rng.pick([0, 0.05, 0.2]);
    this.fsync = [fsyncMin, fsyncMax];
    for (const id of ids) this.create(id, undefined);
  }

  readonly fullDiskProbability: number;
  /** Chance that a member crashes at any one step of a snapshot install. */
  readonly installCrashProbability: number;
  installCrashes = 0;
  private readonly fsync: readonly [number, number];

  private create(id: string, joinedWith: SimMember['joinedWith']): SimMember {
    const timing = {
      sleep: (ms: number) => new Promise<void>((resolve) => this.clock.setTimeout(resolve, ms)),
      fsyncMs: () => this.rng.int(this.fsync[0], this.fsync[1]),
      // Only while serving: a member that cannot even start is not what this checks.
      fullDisk: () => this.diskFaults && this.members.get(id)?.replica !== undefined && this.rng.chance(this.fullDiskProbability),
    };
    const m: SimMember = {
      id,
      disk: new SimDisk(timing),
      store: undefined,
      replica: undefined,
      down: true,
      stopping: Promise.resolve(),
      starts: 0,
      phase: joinedWith ? 'joining' : 'member',
      joinedWith,
    };
    this.members.set(id, m);
    return m;
  }

  /** A new member with an empty disk, to be added by a membership change; it knows `current` (as of log index `index`) as the cluster, as Cluster.Members would tell it. */
  addJoiner(id: string, current: MemberInfo[], index: number): SimMember {
    return this.create(id, { members: current, index });
  }

  /** Members that should be running (not removed). */
  active(): SimMember[] {
    return [...this.members.values()].filter((m) => m.phase !== 'removed');
  }

  /** A member removed from the configuration stops for good. */
  retire(m: SimMember): void {
    m.phase = 'removed';
    this.crash(m, 'process');
  }

  /** The running replica of `id`, or undefined while it is down. */
  replica(id: string): Replica | undefined {
    const m = this.members.get(id);
    return m === undefined || m.down ? undefined : m.replica;
  }

  up(): SimMember[] {
    return [...this.members.values()].filter((m) => !m.down);
  }

  start(m: SimMember): Promise<void> {
    m.starting ??= this.startProcess(m).finally(() => {
      m.starting = undefined;
    });
    return m.starting;
  }

  private async startProcess(m: SimMember): Promise<void> {
    await m.stopping;
    // Values are decimal sequence numbers: from 10 on they live in blob files, below in LevelDB.
    const store = await Store.open(m.disk.db, { trackChanges: true, walFiles: walFilesFor(this.bug, m.disk.wal.view()), blobFiles: m.disk.blobs.view(), blobMinBytes: 2, blobFileBytes: 64, walSegmentBytes: SIM_WAL_SEGMENT_BYTES });
    if ((await store.getMeta('members')) === undefined) {
      // A joiner's log starts empty: the leader's log (or snapshot) brings the configuration.
      const bootstrap = m.joinedWith ? [] : this.bootstrap;
      await store.putMeta({
        bootstrap: encodeMembers(bootstrap),
        members: encodeMembers(m.joinedWith?.members ?? this.bootstrap),
        [MEMBERS_INDEX_KEY]: encodeIndex(m.joinedWith?.index ?? 0),
      });
    }
    const members = decodeMembers((await store.getMeta('members'))!);
    const nodeRng = this.rng.fork();
    const initial = await loadInitialState(store, decodeMembers((await store.getMeta('bootstrap'))!));
    try {
      RawNode.validateConfig({ ...RAFT_TIMING, id: m.id, random: () => 0, initial });
    } catch (err) {
      throw new Violation('restart-from-disk', `${m.id} cannot restart from its own database: ${(err as Error).message}`);
    }
    const raft = makeRaft(this.bug, { ...RAFT_TIMING, id: m.id, random: () => nodeRng.next(), initial });
    const opts: ReplicaOptions = {
      memberId: m.id,
      tickMs: TICK_MS,
      heartbeatMs: RAFT_TIMING.heartbeatTicks * TICK_MS,
      connectedLeaderGraceMs: RAFT_TIMING.electionTimeoutTicks * TICK_MS,
      maxPendingProposals: 1000,
      maxPendingReads: 1000,
      readIndexTimeoutMs: 1000,
      // Short retention so compaction and snapshot installs happen within a run.
      logRetentionEntries: 20,
      compactEveryEntries: 10,
      // Half the members keep entries for catching-up followers (log-compaction.ts),
      // bounded tightly enough that snapshots are still sent past the bound.
      ...(this.rng.chance(0.5) ? { logRetentionBytes: 4096, catchUpBytes: 2048 } : {}),
      snapshotChunkBytes: 1024,
      membersIndex: decodeIndex(await store.getMeta(MEMBERS_INDEX_KEY)),
    };
    const storage = storageFor(this.bug, store);
    const snapshots = interruptInstalls(storage.snapshots, (step) => {
      if (!this.diskFaults || m.replica !== replica || !this.rng.chance(this.installCrashProbability)) return;
      this.onEvent(`${m.id} crashes during a snapshot install (${step})`);
      this.installCrashes++;
      this.onInstallCrash(m);
    });
    const replica = new Replica(raft, { ...storage, snapshots }, members, opts, this.clock);
    patchReplica(this.bug, replica);
    replica.on('fatal', (err) => {
      // A crashed process runs on until it stops, but what it writes never happens (it may not read it back): its failures are not the store's.
      if (m.replica !== replica) return;
      // A failed write stops the member (it promises nothing more); anything else is a bug.
      if ((err as { code?: string }).code !== 'ENOSPC') return this.onFatal(m.id, err);
      this.storageFailures++;
      this.onStorageFailure(m);
    });
    // Peers here send only what Raft made: a message Raft refuses means a broken promise (e.g. an acknowledged entry gone).
    replica.on('droppedMessage', (msg, err) => this.onFatal(m.id, new Error(`refused ${msg.type} from ${msg.from}: ${err.message}`)));
    // What a watch does with a previous value left in its blob file: one in four is read back while the history would keep it, then all are let go.
    replica.on('changes', (changes) => {
      for (const c of changes) {
        const v = c.prevValue;
        if (!v) continue;
        if (c.revision % 4 !== 0) {
          v.release();
          continue;
        }
        v.load().then(
          () => v.release(),
          (err: Error) => {
            v.release();
            if (m.replica === replica && !m.down) this.onFatal(m.id, new Error(`the previous value of ${c.kv.key} at revision ${c.revision}, left in its blob file, did not read back: ${err.message}`));
          },
        );
      }
    });
    replica.on('snapshotInstalled', (ok) => {
      if (ok) this.snapshotsInstalled++;
    });
    replica.on('leaderChange', ({ leaderId, term }) => this.onEvent(`${m.id} sees leader ${leaderId ?? 'none'} term ${term}`));
    replica.setTransport(this.net.transportFor(m.id, () => m.replica === replica && !m.down));
    m.store = store;
    m.replica = replica;
    m.down = false;
    m.starts++;
    replica.start();
    this.onEvent(`${m.id} started (#${m.starts}) applied=${store.appliedIndex} last=${store.lastIndex}`);
  }

  /**
   * Kills the member's process at this instant: from now on it receives and
   * sends nothing, its pending requests fail, and whatever it still writes
   * never reaches the disk. A power loss also takes unsynced writes.
   */
  crash(m: SimMember, kind: CrashKind): void {
    if (m.down) return;
    m.down = true;
    m.disk.crash(kind);
    const { replica, store } = m;
    m.replica = undefined;
    m.store = undefined;
    this.onEvent(`${m.id} crashed (${kind})`);
    m.stopping = (async () => {
      await replica?.stop();
      await store?.close();
      await m.disk.recover(this.rng);
    })();
  }

  /** Stops every member (a process crash); resolves once all let go of their disks. */
  stopAll(): Promise<void> {
    for (const m of this.members.values()) this.crash(m, 'process');
    return Promise.all([...this.members.values()].map((m) => m.stopping)).then(() => undefined);
  }
}
