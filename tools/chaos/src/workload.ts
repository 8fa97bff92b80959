// The workloads, run by many concurrent workers (each one logical client and
// one session):
// - register: put / get (each read mode) / compare-and-swap on per-key registers;
// - set: unique-value appends (read, then compare-and-swap the list plus one element);
// - counter: increments by compare-and-swap.
// Keys retire after a bounded number of operations and fresh ones take their
// place, so each key's history stays small enough for the linearizability
// search (keys are independent and checked apart).
import { describeError, type Member, outcomeOf, WorkerConn } from './conn';
import type { History, Observed, Op, ReadMode, Workload } from './history';
import type { Rng } from '@bellwether/raft';
import { appendElement, counterCount, counterValue, type KeyKind, keyName } from './values';

export interface WorkloadOptions {
  /** Relative weights of the three workloads. */
  mix: Record<KeyKind, number>;
  /** Relative weights of register operations. */
  registerOps: { put: number; get: number; cas: number };
  /** Relative weights of read modes for register gets. */
  readModes: Record<ReadMode, number>;
  /** Probability that a read is sent straight to a follower (chosen by the workload). */
  followerReads: number;
  /** Of the other reads, the share left to the SDK's routing (the rest go straight to the leader). */
  sdkReads: number;
  /** Active keys per workload. */
  activeKeys: number;
  /** Workers 1..N of this many make single-attempt writes (`retryWrites: false`); the rest let the SDK retry. */
  singleAttemptClients: number;
  /** Operations after which a key retires. */
  opsPerKey: Record<KeyKind, number>;
  deadlineMs: number;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = {
  mix: { register: 6, set: 2, counter: 2 },
  registerOps: { put: 3, get: 5, cas: 2 },
  readModes: { linearizable: 2, 'read-your-writes': 1, 'any-follower': 1 },
  followerReads: 0.5,
  sdkReads: 0.6,
  activeKeys: 4,
  opsPerKey: { register: 120, set: 60, counter: 80 },
  deadlineMs: 1500,
  singleAttemptClients: 2,
};

/** The keys in use per workload, and every key ever used (for the final read-back). */
export class KeyPool {
  private readonly active: Record<KeyKind, { key: string; ops: number }[]> = { register: [], set: [], counter: [] };
  private next = 1;
  readonly all: string[] = [];

  constructor(private readonly opts: WorkloadOptions) {}

  /** A key of `kind` for one more operation. */
  take(kind: KeyKind, rng: Rng): string {
    const list = this.active[kind];
    while (list.length < this.opts.activeKeys) {
      const key = keyName(kind, this.next++);
      list.push({ key, ops: 0 });
      this.all.push(key);
    }
    const i = rng.int(0, list.length - 1);
    const slot = list[i]!;
    slot.ops++;
    if (slot.ops >= this.opts.opsPerKey[kind]) list.splice(i, 1);
    return slot.key;
  }
}

export interface WorkerShared {
  history: History;
  keys: KeyPool;
  opts: WorkloadOptions;
  members: Member[];
  clientTag: string;
  /** A fresh Jepsen process number (a worker takes one after each `info` op). */
  newProcess(): number;
  /** The leader most recently seen by anyone (a hint for choosing follower reads). */
  leaderHint: string | undefined;
}

export class Worker {
  readonly conn: WorkerConn;
  private process: number;
  private seq = 0;
  /** The last state this worker saw per key: the starting point of its next compare-and-swap. */
  private readonly lastSeen = new Map<string, Observed | null>();

  constructor(
    readonly session: number,
    private readonly shared: WorkerShared,
    private readonly rng: Rng,
  ) {
    this.process = shared.newProcess();
    this.conn = new WorkerConn({
      members: shared.members,
      clientId: `${shared.clientTag}-s${session}`,
      deadlineMs: shared.opts.deadlineMs,
      retryWrites: session > shared.opts.singleAttemptClients,
    });
  }

  private uniqueValue(): string {
    return `s${this.session}.${++this.seq}`;
  }

  /** Runs operations until `stop` fires. */
  async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const kind = this.rng.weighted(this.shared.opts.mix);
      try {
        if (kind === 'register') await this.registerOp();
        else if (kind === 'set') await this.appendOp();
        else await this.incrementOp();
      } catch (err) {
        // A bug in the workload itself: never let it pass silently.
        this.shared.history.note({ workerError: String(err) });
        throw err;
      }
    }
  }

  private async registerOp(): Promise<void> {
    const key = this.shared.keys.take('register', this.rng);
    const f = this.rng.weighted(this.shared.opts.registerOps);
    if (f === 'put') await this.put(key, 'register', this.uniqueValue());
    else if (f === 'get') await this.get(key, 'register', this.rng.weighted(this.shared.opts.readModes));
    else {
      let seen = this.lastSeen.get(key);
      if (seen === undefined) {
        const read = await this.get(key, 'register', 'linearizable');
        if (read.outcome !== 'ok') return;
        seen = read.read ?? null;
      }
      await this.cas(key, 'register', seen, this.uniqueValue());
    }
  }

  private async appendOp(): Promise<void> {
    const key = this.shared.keys.take('set', this.rng);
    const read = await this.get(key, 'set', 'linearizable');
    if (read.outcome !== 'ok') return;
    const seen = read.read ?? null;
    await this.cas(key, 'set', seen, appendElement(seen?.value, `e${this.session}.${++this.seq}`));
  }

  private async incrementOp(): Promise<void> {
    const key = this.shared.keys.take('counter', this.rng);
    const read = await this.get(key, 'counter', 'linearizable');
    if (read.outcome !== 'ok') return;
    const seen = read.read ?? null;
    await this.cas(key, 'counter', seen, counterValue(counterCount(seen?.value) + 1, `s${this.session}.${++this.seq}`));
  }

  /** After an op of unknown outcome, this worker continues as a new process (the old op stays open). */
  private finish(op: Op): Op {
    if (op.outcome === 'info') this.process = this.shared.newProcess();
    return op;
  }

  private base(key: string, workload: Workload) {
    return { process: this.process, session: this.session, workload, key };
  }

  async put(key: string, workload: Workload, value: string): Promise<Op> {
    const h = this.shared.history;
    const pending = h.invoke({ ...this.base(key, workload), f: 'put', value });
    try {
      const res = await (await this.conn.session()).put(key, value);
      this.noteLeader(res.header.memberId);
      this.lastSeen.set(key, { value, modRevision: res.revision });
      return this.finish(h.complete(pending, 'ok', { revision: res.revision, node: res.header.memberId, headerRevision: res.header.revision }));
    } catch (err) {
      return this.finish(h.complete(pending, outcomeOf(err, true), { error: describeError(err) }));
    }
  }

  async cas(key: string, workload: Workload, from: Observed | null, value: string): Promise<Op> {
    const h = this.shared.history;
    const expectedRevision = from?.modRevision ?? 0;
    const pending = h.invoke({ ...this.base(key, workload), f: 'cas', from: from?.value ?? null, expectedRevision, value });
    try {
      const res = await (await this.conn.session()).compareAndSwap(key, expectedRevision, value);
      this.noteLeader(res.header.memberId);
      if (res.succeeded) {
        this.lastSeen.set(key, { value, modRevision: res.revision });
        return this.finish(
          h.complete(pending, 'ok', { succeeded: true, revision: res.revision, node: res.header.memberId, headerRevision: res.header.revision }),
        );
      }
      const current = res.current ? { value: res.current.valueString, modRevision: res.current.modRevision } : null;
      this.lastSeen.set(key, current);
      return this.finish(h.complete(pending, 'ok', { succeeded: false, read: current, node: res.header.memberId, headerRevision: res.header.revision }));
    } catch (err) {
      this.lastSeen.delete(key);
      return this.finish(h.complete(pending, outcomeOf(err, true), { error: describeError(err) }));
    }
  }

  /** Where a read goes: through the SDK's routing, or to one member (a follower with probability `followerReads`). */
  private readTarget(): Member | 'sdk' {
    const { members, opts } = this.shared;
    const leader = this.shared.leaderHint;
    const followers = members.filter((m) => m.id !== leader);
    const route = this.rng.weighted({ follower: opts.followerReads, sdk: (1 - opts.followerReads) * opts.sdkReads, leader: (1 - opts.followerReads) * (1 - opts.sdkReads) });
    if (route === 'sdk') return 'sdk';
    if (route === 'follower' && leader && followers.length > 0) return this.rng.pick(followers);
    return members.find((m) => m.id === leader) ?? this.rng.pick(members);
  }

  async get(key: string, workload: Workload, mode: ReadMode, target = this.readTarget()): Promise<Op> {
    const h = this.shared.history;
    const minIndex = mode === 'read-your-writes' ? this.conn.sessionIndex : undefined;
    const via = target === 'sdk' ? 'sdk' : 'member';
    const pending = h.invoke({ ...this.base(key, workload), f: 'get', mode, minIndex, via, node: target === 'sdk' ? undefined : target.id });
    try {
      let header: { memberId: string; revision: number; leaderId?: string };
      let read: Observed | null;
      if (target === 'sdk') {
        const res = await (await this.conn.session()).get(key, { mode });
        header = res.header;
        read = res.kv ? { value: res.kv.valueString, modRevision: res.kv.modRevision } : null;
      } else {
        const res = await this.conn.memberGet(target, key, mode, minIndex ?? 0);
        header = res.header;
        read = res.kv;
      }
      this.lastSeen.set(key, read);
      if (header.leaderId) this.noteLeader(header.leaderId);
      return h.complete(pending, 'ok', { read, node: header.memberId, headerRevision: header.revision });
    } catch (err) {
      return h.complete(pending, 'fail', { error: describeError(err) });
    }
  }

  private noteLeader(id: string): void {
    if (id) this.shared.leaderHint = id;
  }
}
