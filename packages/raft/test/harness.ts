import { type Entry, type HardState, type Message, type RaftConfig, RawNode, Rng, type SnapshotMeta } from '../src/index.js';

/**
 * A small synchronous cluster for scripted tests: messages queue up and are
 * delivered only when the test says so (`deliver`, `stabilize`), optionally
 * filtered, so each test can build the exact interleaving a paper figure needs.
 */

/** A seeded `RaftConfig.random`: the shared generator, started from `seed` unmixed. */
export function seededRandom(seed: number): () => number {
  const rng = Rng.fromState(seed);
  return () => rng.next();
}

export interface Disk {
  hardState: HardState;
  snapshot?: SnapshotMeta;
  entries: Entry[];
  applied: number;
}

export type NodeFactory = (cfg: RaftConfig) => RawNode;

export class TestCluster {
  readonly nodes = new Map<string, RawNode>();
  readonly disks = new Map<string, Disk>();
  readonly applied = new Map<string, Entry[]>();
  readonly readStates = new Map<string, { index: number; ctx: string }[]>();
  queue: Message[] = [];
  /** Return false to drop a message. */
  filter: (m: Message) => boolean = () => true;
  /** Rewrites a message in flight (e.g. to trim an append's entries); runs after `filter`. */
  transform: (m: Message) => Message = (m) => m;
  readonly down = new Set<string>();

  constructor(
    readonly ids: string[],
    readonly opts: Partial<RaftConfig> = {},
    readonly factory: NodeFactory = (c) => new RawNode(c),
    seed = 1,
  ) {
    const rnd = seededRandom(seed);
    for (const id of ids) {
      this.disks.set(id, { hardState: { term: 0, vote: null, commit: 0 }, entries: [], applied: 0 });
      this.applied.set(id, []);
      this.readStates.set(id, []);
      this.nodes.set(id, this.make(id, rnd, { voters: ids, learners: [] }));
    }
    this.process();
  }

  private make(id: string, rnd: () => number, config: { voters: string[]; learners: string[] }): RawNode {
    const disk = this.disks.get(id)!;
    const cfg: RaftConfig = {
      id,
      electionTimeoutTicks: 10,
      heartbeatTicks: 1,
      random: rnd,
      preVote: false,
      checkQuorum: false,
      maxInflightMsgs: 256,
      maxSizePerMsgBytes: 1 << 20,
      ...this.opts,
      initial: {
        hardState: disk.hardState,
        config,
        entries: [...disk.entries],
        applied: disk.applied,
        ...(disk.snapshot ? { snapshot: disk.snapshot } : {}),
      },
    };
    return this.factory(cfg);
  }

  node(id: string): RawNode {
    return this.nodes.get(id)!;
  }

  /** Drains every node's Ready: persist, queue messages, apply, advance. */
  process(): void {
    for (const [id, n] of this.nodes) {
      if (this.down.has(id)) continue;
      while (n.hasReady()) {
        const rd = n.ready();
        const disk = this.disks.get(id)!;
        if (rd.snapshot) {
          disk.snapshot = rd.snapshot;
          disk.entries = [];
          disk.applied = rd.snapshot.index;
        }
        if (rd.entries.length > 0) {
          const from = rd.entries[0]!.index;
          const base = disk.snapshot?.index ?? 0;
          disk.entries = disk.entries.slice(0, from - base - 1).concat(rd.entries);
        }
        if (rd.hardState) disk.hardState = rd.hardState;
        this.queue.push(...rd.messages, ...rd.messagesAfterPersist);
        for (const e of rd.committedEntries) this.applied.get(id)!.push(e);
        const last = rd.committedEntries[rd.committedEntries.length - 1];
        if (last) disk.applied = last.index;
        for (const r of rd.readStates) this.readStates.get(id)!.push({ index: r.index, ctx: new TextDecoder().decode(r.ctx) });
        n.advance(rd);
      }
    }
  }

  /** Delivers queued messages (one round); returns how many were delivered. */
  deliver(): number {
    this.process();
    const batch = this.queue;
    this.queue = [];
    let n = 0;
    for (const m of batch) {
      if (this.down.has(m.to) || !this.nodes.has(m.to) || !this.filter(m)) continue;
      this.nodes.get(m.to)!.step(this.transform(m));
      n++;
    }
    this.process();
    return n;
  }

  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      this.process();
      if (this.queue.length === 0) return;
      this.deliver();
    }
    throw new Error('cluster did not stabilize');
  }

  tick(id: string, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).tick();
    this.process();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const [id, node] of this.nodes) if (!this.down.has(id)) node.tick();
      this.process();
    }
  }

  /** Elects `id` by campaigning and delivering everything. */
  elect(id: string): void {
    this.node(id).campaign();
    this.stabilize();
  }

  leader(): string | undefined {
    for (const [id, n] of this.nodes) if (!this.down.has(id) && n.status().role === 'leader') return id;
    return undefined;
  }

  crash(id: string): void {
    this.down.add(id);
  }

  restart(id: string, seed = 7): void {
    this.down.delete(id);
    this.applied.set(id, this.applied.get(id)!.filter((e) => e.index <= this.disks.get(id)!.applied));
    this.nodes.set(id, this.make(id, seededRandom(seed), { voters: [], learners: [] }));
    this.process();
  }

  /** Isolates `id`: drops every message to or from it. */
  isolate(id: string): void {
    this.filter = (m) => m.from !== id && m.to !== id;
  }

  heal(): void {
    this.filter = () => true;
    this.transform = (m) => m;
  }

  appliedData(id: string): string[] {
    return this.applied
      .get(id)!
      .filter((e) => e.type === 'normal')
      .map((e) => new TextDecoder().decode(e.data));
  }

  propose(id: string, ...data: string[]): { firstIndex: number; term: number } {
    const r = this.node(id).propose(data.map((d) => new TextEncoder().encode(d)));
    this.process();
    return r;
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
