import type { Message, Rng, SnapshotMsg } from '@bellwether/raft';
import type { SnapshotReader } from '@bellwether/store';
import type { PeerTransport, Replica } from '../src/replica';
import type { VirtualClock } from './virtual-clock';

export interface NetworkFaults {
  dropProbability: number;
  /** A message is delivered twice (as a retransmitting transport may). */
  duplicateProbability: number;
  /** Latency is uniform in [delayMsMin, delayMsMax]; a wide range reorders messages. */
  delayMsMin: number;
  delayMsMax: number;
  /** A snapshot transfer that has not finished after this long counts as failed (as a stream deadline would). */
  snapshotTimeoutMs: number;
}

/** Where the network delivers: the running replica of a member, or undefined while it is down. */
export type Endpoints = (id: string) => Replica | undefined;

/**
 * The simulated peer network: every message is copied, delayed, maybe
 * dropped, and delivered only if no partition separates the two members
 * when it arrives. Snapshots stream through the real snapshot reader and the
 * receiver's real install path.
 */
export class SimNetwork {
  /** Cut links, as "from>to". */
  private readonly cut = new Set<string>();
  delivered = 0;
  dropped = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly rng: Rng,
    private readonly faults: NetworkFaults,
    private readonly endpoints: Endpoints,
  ) {}

  /** The transport of one run of member `id`'s process; nothing leaves once `alive()` turns false (it crashed). */
  transportFor(id: string, alive: () => boolean): PeerTransport {
    return {
      send: (messages) => {
        if (alive()) for (const m of messages) this.send(id, m);
      },
      sendSnapshot: (msg, reader, members) => (alive() ? this.sendSnapshot(id, msg, reader, members) : Promise.resolve(false)),
      close: async () => {},
      // A crashed peer's connection closes; a cut link stays open and silent (a blackhole, not a reset).
      connectedTo: (peer) => alive() && this.endpoints(peer) !== undefined,
    };
  }

  linked(from: string, to: string): boolean {
    return !this.cut.has(`${from}>${to}`);
  }

  /** Splits the members into groups that cannot reach each other. */
  partition(groups: string[][]): void {
    this.cut.clear();
    for (const a of groups) for (const b of groups) if (a !== b) for (const x of a) for (const y of b) this.cut.add(`${x}>${y}`);
  }

  /** Cuts one direction only: `from` can no longer reach `to`. */
  cutOneWay(from: string, to: string): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  get partitioned(): boolean {
    return this.cut.size > 0;
  }

  private latency(): number {
    return this.rng.int(this.faults.delayMsMin, this.faults.delayMsMax);
  }

  private send(from: string, m: Message): void {
    if (!this.linked(from, m.to) || this.rng.chance(this.faults.dropProbability)) {
      this.dropped++;
      return;
    }
    const copies = this.rng.chance(this.faults.duplicateProbability) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const copy = structuredClone(m);
      this.clock.setTimeout(() => {
        const to = this.endpoints(copy.to);
        if (to === undefined || !this.linked(from, copy.to)) {
          this.dropped++;
          return;
        }
        this.delivered++;
        to.step(copy);
      }, this.latency());
    }
  }

  private async sendSnapshot(from: string, msg: SnapshotMsg, reader: SnapshotReader, members: Buffer): Promise<boolean> {
    const chunks: Buffer[] = [];
    for await (const c of reader.chunks()) chunks.push(Buffer.from(c));
    const outcome = new Promise<boolean>((resolve) => {
      const deadline = this.clock.setTimeout(() => resolve(false), this.faults.snapshotTimeoutMs);
      this.clock.setTimeout(() => {
        const to = this.endpoints(msg.to);
        if (to === undefined || !this.linked(from, msg.to) || this.rng.chance(this.faults.dropProbability)) {
          this.dropped++;
          this.clock.clearTimeout(deadline);
          resolve(false);
          return;
        }
        const incoming = {
          message: structuredClone(msg) as Message,
          appliedIndex: reader.appliedIndex,
          members: Buffer.from(members),
          chunks: (async function* () {
            yield* chunks;
          })(),
        };
        to.installSnapshot(incoming).then(
          (ok) => this.clock.setTimeout(() => resolve(ok && this.linked(msg.to, from)), this.latency()),
          () => resolve(false),
        );
      }, this.latency());
    });
    return outcome;
  }
}
