import { RawNode, type Rng } from '@bellwether/raft';
import { Store, type StoreDatabase } from '@bellwether/store';
import { MemoryLevel } from 'memory-level';
import { decodeMembers, encodeMembers, type MemberInfo } from '../src/membership';
import { loadInitialState } from '../src/raft-recovery';
import { Replica, type ReplicaOptions } from '../src/replica';
import { type BugHooks, type NodeBugName, patchStore } from './bugs';
import { Violation } from './checkers';
import type { SimNetwork } from './network';
import type { VirtualClock } from './virtual-clock';

/** One member: its database outlives crashes; the store and replica are per run of the process. */
export interface SimMember {
  readonly id: string;
  readonly db: StoreDatabase;
  store: Store | undefined;
  replica: Replica | undefined;
  hooks: BugHooks | undefined;
  /** Set while the member is down (crashed, not yet restarted). */
  down: boolean;
  /** Resolves once the crashed process has let go of its database. */
  stopping: Promise<void>;
  starts: number;
}

const TICK_MS = 10;
/** The node's defaults: 50 ms heartbeats, 150 ms election timeout, in 10 ms ticks. */
const RAFT_TIMING = { electionTimeoutTicks: 15, heartbeatTicks: 5, preVote: true, checkQuorum: true, maxInflightMsgs: 64, maxSizePerMsgBytes: 64 * 1024 };

/**
 * The members of a simulated cluster, each a real Replica over a real Store
 * on an in-memory LevelDB (memory-level), driven by the virtual clock.
 */
export class SimCluster {
  readonly members = new Map<string, SimMember>();
  readonly bootstrap: MemberInfo[];

  constructor(
    ids: string[],
    private readonly clock: VirtualClock,
    private readonly rng: Rng,
    private readonly net: SimNetwork,
    private readonly bug: NodeBugName | undefined,
    private readonly onEvent: (line: string) => void,
    private readonly onFatal: (id: string, err: Error) => void,
  ) {
    this.bootstrap = ids.map((id) => ({ id, address: `sim://${id}`, voter: true, incarnation: '' }));
    for (const id of ids) {
      const db: StoreDatabase = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
      this.members.set(id, { id, db, store: undefined, replica: undefined, hooks: undefined, down: true, stopping: Promise.resolve(), starts: 0 });
    }
  }

  /** The running replica of `id`, or undefined while it is down. */
  replica(id: string): Replica | undefined {
    const m = this.members.get(id);
    return m === undefined || m.down ? undefined : m.replica;
  }

  up(): SimMember[] {
    return [...this.members.values()].filter((m) => !m.down);
  }

  async start(m: SimMember): Promise<void> {
    await m.stopping;
    const store = await Store.open(m.db, { trackChanges: true });
    if ((await store.getMeta('members')) === undefined) await store.putMeta({ bootstrap: encodeMembers(this.bootstrap), members: encodeMembers(this.bootstrap) });
    const members = decodeMembers((await store.getMeta('members'))!);
    const nodeRng = this.rng.fork();
    const initial = await loadInitialState(store, this.bootstrap);
    try {
      RawNode.validateConfig({ ...RAFT_TIMING, id: m.id, random: () => 0, initial });
    } catch (err) {
      throw new Violation('restart-from-disk', `${m.id} cannot restart from its own database: ${(err as Error).message}`);
    }
    const raft = new RawNode({
      ...RAFT_TIMING,
      id: m.id,
      random: () => nodeRng.next(),
      initial,
    });
    const opts: ReplicaOptions = {
      memberId: m.id,
      tickMs: TICK_MS,
      maxPendingProposals: 1000,
      maxPendingReads: 1000,
      readIndexTimeoutMs: 1000,
      // Short retention so compaction and snapshot installs happen within a run.
      logRetentionEntries: 20,
      compactEveryEntries: 10,
      snapshotChunkBytes: 1024,
    };
    const replica = new Replica(raft, store, members, opts, this.clock);
    m.hooks = patchStore(this.bug, store, { later: (ms, fn) => this.clock.setTimeout(fn, ms), latencyMs: () => this.rng.int(1, 40) });
    replica.on('fatal', (err) => this.onFatal(m.id, err));
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
   * Kills the member's process: from now on it receives and sends nothing,
   * and its pending requests fail. The database keeps what was written.
   */
  crash(m: SimMember): void {
    if (m.down) return;
    m.down = true;
    m.hooks?.onCrash();
    const { replica, store } = m;
    m.replica = undefined;
    m.store = undefined;
    this.onEvent(`${m.id} crashed`);
    m.stopping = (async () => {
      await replica?.stop();
      await store?.close();
    })();
  }

  async stopAll(): Promise<void> {
    for (const m of this.members.values()) this.crash(m);
    await Promise.all([...this.members.values()].map((m) => m.stopping));
  }
}
