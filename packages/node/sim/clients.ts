import type { Rng } from '@bellwether/raft';
import type { Command } from '@bellwether/store';
import { awaitReadable } from '../src/reads';
import type { ParsedRead } from '../src/validate';
import { checkRead } from './checkers';
import type { SimCluster } from './cluster';
import type { VirtualClock } from './virtual-clock';

/** What the checkers learn from a client: its acknowledged writes, in order. */
export interface ClientRecord {
  id: string;
  key: Buffer;
  /** Highest sequence acknowledged (each write is issued only after the previous one is). */
  acked: number;
  /** Log index of the last acknowledged write (a read-your-writes token). */
  ackedIndex: number;
  /** Sequence of the write in progress, 0 when none. */
  inFlight: number;
  attempts: number;
  reads: number;
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
    /** Every client's record, for the bounds a read must fall within. */
    private readonly all: () => ClientRecord[],
  ) {
    this.record = { id, key: Buffer.from(`client/${id}`), acked: 0, ackedIndex: 0, inFlight: 0, attempts: 0, reads: 0 };
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
      if (this.rng.chance(0.4)) await this.readOnce();
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
        r.ackedIndex = outcome.result.revision;
        this.log(`${r.id} seq ${seq} acked by ${this.target} at revision ${outcome.result.revision}`);
        return;
      }
      if (outcome.kind === 'ok') throw new Error(`${r.id} seq ${seq} refused: ${outcome.result.refused}`);
      // Follow the leader the member names, else try another one.
      this.target = (outcome.kind === 'error' ? replica.leaderId : null) ?? this.anyMember();
      await this.sleep(this.rng.int(5, 50));
    }
  }

  /**
   * One read, as the KV service serves it (the same wait for the mode, then
   * the store): linearizable of any client's key, read-your-writes of our
   * own, or any-follower. A refused read is fine; a served one is checked.
   */
  private async readOnce(): Promise<void> {
    const member = this.anyMember();
    const replica = this.cluster.replica(member);
    const store = this.cluster.members.get(member)?.store;
    if (replica === undefined || store === undefined) return;
    const mode = this.rng.pick(['linearizable', 'read-your-writes', 'any-follower'] as const);
    const target = mode === 'read-your-writes' ? this.record : this.rng.pick(this.all());
    const read: ParsedRead = { mode, minIndex: mode === 'read-your-writes' ? this.record.ackedIndex : 0, maxStalenessMs: 0 };
    const ackedBefore = target.acked;
    const served = await this.withTimeout(
      awaitReadable(replica, read, 1000, { maxReadWaitMs: 1000, unsafeFollowerLinearizableReads: false }).then(() => store.read(target.key)),
      1500,
    );
    if (served.kind !== 'ok') return;
    this.record.reads++;
    const value = served.result.kv === undefined ? 0 : Number(served.result.kv.value.toString());
    this.log(`${this.record.id} ${mode} read on ${member} of ${target.id}'s key returned ${value} (${ackedBefore} acknowledged before it began)`);
    checkRead({ mode, member, reader: this.record.id, client: target.id, value, ackedBefore, issuedAfter: Math.max(target.acked, target.inFlight) });
  }

  private withTimeout<T>(p: Promise<T>, ms: number): Promise<{ kind: 'ok'; result: T } | { kind: 'error' } | { kind: 'timeout' }> {
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
