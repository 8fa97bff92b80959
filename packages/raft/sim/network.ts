import type { Message } from '../src/index.js';
import type { FaultPlan } from './faults.js';
import type { Rng } from '../src/rng.js';

export interface InFlight {
  msg: Message;
  deliverAt: number;
  seq: number;
  /** For snapshot messages: the state-machine data captured when it was sent. */
  snapshotData?: ReadonlySet<number>;
}

export type PartitionShape =
  | { kind: 'none' }
  | { kind: 'symmetric'; side: Set<string> }
  | { kind: 'oneway'; from: Set<string> }
  | { kind: 'isolate'; node: string }
  | { kind: 'bridge'; left: Set<string>; bridge: string };

/** A seeded, lossy, delaying, duplicating, reordering, partitionable network. */
export class Network {
  private queue: InFlight[] = [];
  private seq = 0;
  shape: PartitionShape = { kind: 'none' };
  healed = false;
  delivered = 0;
  dropped = 0;

  constructor(
    private readonly rng: Rng,
    private readonly plan: FaultPlan,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  /** Can a message from `from` reach `to` under the current partition? */
  connected(from: string, to: string): boolean {
    const s = this.shape;
    switch (s.kind) {
      case 'none':
        return true;
      case 'symmetric':
        return s.side.has(from) === s.side.has(to);
      case 'oneway':
        // Messages out of `from` to the rest are lost; the other direction works.
        return !(s.from.has(from) && !s.from.has(to));
      case 'isolate':
        return from !== s.node && to !== s.node;
      case 'bridge': {
        if (from === s.bridge || to === s.bridge) return true;
        return s.left.has(from) === s.left.has(to);
      }
    }
  }

  /** Returns false when the message is lost at send time. */
  send(msg: Message, now: number, snapshotData?: ReadonlySet<number>): boolean {
    if (!this.connected(msg.from, msg.to) || (!this.healed && this.rng.chance(this.plan.dropProbability))) {
      this.dropped++;
      return false;
    }
    this.enqueue(msg, now, snapshotData);
    if (!this.healed && this.rng.chance(this.plan.duplicateProbability)) this.enqueue(msg, now, snapshotData);
    return true;
  }

  private enqueue(msg: Message, now: number, snapshotData?: ReadonlySet<number>): void {
    const delay = this.plan.delayTicksMax <= 1 ? 1 : this.rng.int(1, this.plan.delayTicksMax);
    const f: InFlight = { msg, deliverAt: now + delay, seq: this.seq++ };
    if (snapshotData) f.snapshotData = snapshotData;
    this.queue.push(f);
  }

  /** Removes and returns the messages due at `now`, in delivery order. */
  due(now: number): InFlight[] {
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.queue) (f.deliverAt <= now ? ready : rest).push(f);
    this.queue = rest;
    if (this.plan.reorder && !this.healed) this.rng.shuffle(ready);
    else ready.sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
    return ready;
  }

  /** Picks a new partition shape (or none) among `kinds`. */
  repartition(kinds: FaultPlan['partitionKinds'], members: string[], leader: string | undefined): void {
    if (kinds.length === 0 || members.length < 2 || this.rng.chance(0.35)) {
      this.shape = { kind: 'none' };
      return;
    }
    const kind = this.rng.pick(kinds);
    const shuffled = this.rng.shuffle([...members]);
    switch (kind) {
      case 'symmetric': {
        const k = this.rng.int(1, Math.floor(members.length / 2));
        this.shape = { kind: 'symmetric', side: new Set(shuffled.slice(0, k)) };
        return;
      }
      case 'oneway': {
        const k = this.rng.int(1, members.length - 1);
        this.shape = { kind: 'oneway', from: new Set(shuffled.slice(0, k)) };
        return;
      }
      case 'isolateLeader':
        this.shape = { kind: 'isolate', node: leader ?? shuffled[0]! };
        return;
      case 'bridge': {
        if (members.length < 3) {
          this.shape = { kind: 'none' };
          return;
        }
        const bridge = shuffled[0]!;
        const rest = shuffled.slice(1);
        const k = this.rng.int(1, rest.length - 1);
        this.shape = { kind: 'bridge', bridge, left: new Set(rest.slice(0, k)) };
        return;
      }
    }
  }

  /** Ends all faults: no partition, loss, duplication or shuffling from now on (latency stays). */
  heal(): void {
    this.healed = true;
    this.shape = { kind: 'none' };
  }
}
