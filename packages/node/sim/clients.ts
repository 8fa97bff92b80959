import type { Rng } from '@bellwether/raft';
import type { Command, WriteResult } from '@bellwether/store';
import type { SimCluster } from './cluster';
import type { VirtualClock } from './virtual-clock';

/** What the checkers learn from a client: its acknowledged writes, in order. */
export interface ClientRecord {
  id: string;
  key: Buffer;
  /** Highest sequence acknowledged (each write is issued only after the previous one is). */
  acked: number;
  /** Sequence of the write in progress, 0 when none. */
  inFlight: number;
  attempts: number;
}

/**
 * A client that writes 1, 2, 3, ... to its own key, one write at a time,
 * each as (client_id, sequence) and retried with the same pair on every
 * timeout or error until it is acknowledged — as the SDK does.
 */
export class SimClient {
  readonly record: ClientRecord;
  private target: string;
  private issuing = true;
  done: Promise<void> = Promise.resolve();

  constructor(
    id: string,
    private readonly cluster: SimCluster,
    private readonly clock: VirtualClock,
    private readonly rng: Rng,
    private readonly log: (line: string) => void,
  ) {
    this.record = { id, key: Buffer.from(`client/${id}`), acked: 0, inFlight: 0, attempts: 0 };
    this.target = this.anyMember();
  }

  start(): void {
    this.done = this.run();
  }

  /** Finish the write in progress (until acknowledged) and issue no more. */
  stopIssuing(): void {
    this.issuing = false;
  }

  private anyMember(): string {
    return this.rng.pick([...this.cluster.members.keys()]);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  private async run(): Promise<void> {
    while (this.issuing) {
      const seq = this.record.acked + 1;
      this.record.inFlight = seq;
      await this.writeUntilAcked(seq);
      this.record.inFlight = 0;
      await this.sleep(this.rng.int(0, 30));
    }
  }

  private async writeUntilAcked(seq: number): Promise<void> {
    const r = this.record;
    for (;;) {
      const replica = this.cluster.replica(this.target);
      if (replica === undefined) {
        this.target = this.anyMember();
        await this.sleep(this.rng.int(5, 30));
        continue;
      }
      r.attempts++;
      const command: Command = { op: 'put', key: r.key, value: Buffer.from(String(seq)), clientId: r.id, sequence: seq, minUnackedSequence: seq, prevKv: false };
      const outcome = await this.withTimeout(replica.propose(command), 800);
      if (outcome.kind === 'ok' && outcome.result.refused === undefined) {
        r.acked = seq;
        this.log(`${r.id} seq ${seq} acked by ${this.target} at revision ${outcome.result.revision}`);
        return;
      }
      if (outcome.kind === 'ok') throw new Error(`${r.id} seq ${seq} refused: ${outcome.result.refused}`);
      // Follow the leader the member names, else try another one.
      this.target = (outcome.kind === 'error' ? replica.leaderId : null) ?? this.anyMember();
      await this.sleep(this.rng.int(5, 50));
    }
  }

  private withTimeout(p: Promise<WriteResult>, ms: number): Promise<{ kind: 'ok'; result: WriteResult } | { kind: 'error' } | { kind: 'timeout' }> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => resolve({ kind: 'timeout' }), ms);
      p.then(
        (result) => {
          this.clock.clearTimeout(timer);
          resolve({ kind: 'ok', result });
        },
        () => {
          this.clock.clearTimeout(timer);
          resolve({ kind: 'error' });
        },
      );
    });
  }
}
