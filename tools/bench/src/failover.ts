// pnpm bench:failover: writes under load, kill -9 of the leader, N times.
// For each repetition: the window without an acknowledged write (from the
// last acknowledgement before the new leader's first one, to that one) and
// the time from the kill to that first acknowledgement; at the end, every
// acknowledged write is read back (linearizable) and the ones missing are
// counted as lost (must be 0).
//
// --mode rolling (Bellwether): instead of a kill, N rolling restarts: every
// member in turn gets SIGTERM (a leader hands over first), is started again
// and catches up, the leader last; per restart, the longest time without an
// acknowledged write.
import { randomUUID } from 'node:crypto';
import { type BellwetherClient, connect } from '@bellwether/client';
import type { NodeProcess, TestCluster } from '@bellwether/integration/cluster';
import { loadPublicApi, unary } from '@bellwether/proto';
import { prefixEnd } from '@bellwether/store';
import * as grpc from '@grpc/grpc-js';
import { BellwetherLocal, EtcdLocal } from './clusters';
import { errorName } from './drivers';
import { type EtcdCluster, type EtcdMember, ensureEtcd, loadEtcdApi } from './etcd';
import { KeySpace } from './keys';
import { machine, writeResult } from './results';
import { type FlagSpec, flagHelp, fmtMs, fmtNum, median, parseFlags, Rng, sleep, table, UsageError, withTimeout } from './util';

const FLAGS: Record<string, FlagSpec> = {
  reps: { kind: 'int', default: 20, help: 'kill -9 the leader this many times (--mode rolling: restart every member this many times)' },
  mode: { kind: 'string', default: 'kill', help: 'kill (kill -9 of the leader) | rolling (SIGTERM and restart of every member in turn, the leader last; Bellwether only)' },
  system: { kind: 'string', default: 'bellwether', help: 'bellwether | etcd | both' },
  client: { kind: 'string', default: 'raw', help: 'Bellwether writers: raw (gRPC, follows the leader hint, retries with the same client id and sequence) | sdk (@bellwether/client with every member as endpoint)' },
  writers: { kind: 'int', default: 16, help: 'concurrent writers (each with one write in flight)' },
  'value-bytes': { kind: 'int', default: 256, help: 'value size' },
  'settle-ms': { kind: 'int', default: 1000, help: 'steady writing before each kill' },
  'after-ms': { kind: 'int', default: 500, help: 'writing on after the first new acknowledgement, before restarting the killed member' },
  'rep-timeout-ms': { kind: 'int', default: 15_000, help: 'give up on a repetition without a new acknowledgement after this long' },
  'attempt-deadline-ms': { kind: 'int', default: 500, help: 'deadline of one write attempt, then it is retried (the etcd window depends on it: a write relayed to a dead leader hangs until then)' },
  out: { kind: 'string', help: 'JSON result path (default bench-results/failover-<time>.json at the repo root)' },
  quiet: { kind: 'bool', default: false, help: 'less output' },
  help: { kind: 'bool', default: false, help: 'print this help' },
};

/** What the failover loop needs from a cluster, whichever the system. */
interface Member {
  id: string;
  address: string;
  readonly running: boolean;
  kill9(): Promise<void>;
  start(): void;
  signal(sig: NodeJS.Signals): void;
  waitExit(): Promise<number | null>;
}

interface Adapter {
  system: 'bellwether' | 'etcd';
  members: Member[];
  /** The leader all running members agree on. */
  leader(timeoutMs: number): Promise<Member>;
  /** A key naming `m` as a leader (as members report it), for `leaderSeen`. */
  leaderKey(m: Member): Promise<string>;
  /** The leader key some running member reports now, if any. */
  leaderSeen(): Promise<string[]>;
  /** True once `m` has applied what the leader had committed when asked. */
  caughtUp(m: Member): Promise<boolean>;
  /** One write attempt on `address`; resolves with the Raft term of the member that answered, rejects with the gRPC error. */
  attempt(address: string, w: WriteReq, deadlineMs: number): Promise<number>;
  /** Every key under `prefix` with its value, read linearizably. */
  readAll(prefix: Buffer): Promise<Map<string, Buffer>>;
  /** A leader hint carried by an error, if the system has them. */
  hint(err: unknown): string | undefined;
  stop(): Promise<void>;
  close(): void;
  electionTimeout: string;
}

interface WriteReq {
  key: Buffer;
  value: Buffer;
  clientId: string;
  sequence: number;
}

/** One KV client per member address; reconnects fast, as a killed member comes back within the repetition. */
class KvClients {
  private readonly clients = new Map<string, grpc.Client>();
  constructor(private readonly make: (address: string, options: grpc.ChannelOptions) => grpc.Client) {}

  get(address: string): grpc.Client {
    let c = this.clients.get(address);
    if (!c) {
      c = this.make(address, { 'grpc.use_local_subchannel_pool': 1, 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 200 });
      this.clients.set(address, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

class BellwetherAdapter implements Adapter {
  readonly system = 'bellwether' as const;
  readonly electionTimeout = 'Bellwether default (--election-timeout-ms 150, randomised up to 300)';
  private readonly kv = new KvClients((address, options) => {
    const KV = loadPublicApi().bellwether.kv.v1.KV as unknown as grpc.ServiceClientConstructor;
    return new KV(address, grpc.credentials.createInsecure(), options);
  });
  constructor(private readonly cluster: TestCluster) {}

  get members(): Member[] {
    return this.cluster.nodes as unknown as Member[];
  }

  async leader(timeoutMs: number): Promise<Member> {
    return (await this.cluster.waitForLeader(timeoutMs)) as unknown as Member;
  }

  async leaderKey(m: Member): Promise<string> {
    return m.id;
  }

  async leaderSeen(): Promise<string[]> {
    const running = this.cluster.nodes.filter((n) => n.running);
    const st = await Promise.all(running.map((n) => this.cluster.status(n, 200).catch(() => undefined)));
    return st.map((x) => (x?.role === 'ROLE_LEADER' ? x.memberId : '')).filter((x) => x !== '');
  }

  async caughtUp(m: Member): Promise<boolean> {
    const leader = (await this.cluster.waitForLeader(5000)) as NodeProcess;
    const [ls, ms] = await Promise.all([this.cluster.status(leader), this.cluster.status(m as unknown as NodeProcess)]);
    return ms.appliedIndex >= ls.commitIndex;
  }

  async attempt(address: string, w: WriteReq, deadlineMs: number): Promise<number> {
    const res = await unary<{ header: { term: number } | null }>(
      this.kv.get(address),
      'Put',
      { key: w.key, value: w.value, clientId: w.clientId, sequence: w.sequence, minUnackedSequence: w.sequence },
      deadlineMs,
    );
    return res.header?.term ?? 0;
  }

  hint(err: unknown): string | undefined {
    const md = (err as grpc.ServiceError).metadata;
    const v = md?.get('bellwether-leader-address')[0];
    return v ? String(v) : undefined;
  }

  async readAll(prefix: Buffer): Promise<Map<string, Buffer>> {
    const leader = await this.leader(10_000);
    const out = new Map<string, Buffer>();
    let continuation: Buffer = Buffer.alloc(0);
    for (;;) {
      const res = await unary<{ kvs: { key: Buffer; value: Buffer }[]; more: boolean; continuation: Buffer }>(
        this.kv.get(leader.address),
        'Range',
        { prefix, limit: 2000, continuation, read: { mode: 'READ_MODE_LINEARIZABLE' } },
        10_000,
      );
      for (const kv of res.kvs) out.set(kv.key.toString('latin1'), kv.value);
      if (!res.more) return out;
      continuation = res.continuation;
    }
  }

  stop(): Promise<void> {
    this.close();
    return this.cluster.stop();
  }

  close(): void {
    this.kv.close();
  }
}

class EtcdAdapter implements Adapter {
  readonly system = 'etcd' as const;
  readonly electionTimeout = 'etcd default (--heartbeat-interval 100, --election-timeout 1000)';
  private readonly kv = new KvClients((address, options) => new (loadEtcdApi().KV)(address, grpc.credentials.createInsecure(), options));
  constructor(private readonly cluster: EtcdCluster) {}

  get members(): Member[] {
    return this.cluster.members;
  }

  leader(timeoutMs: number): Promise<Member> {
    return this.cluster.waitForLeader(timeoutMs);
  }

  async leaderKey(m: Member): Promise<string> {
    return (await this.cluster.status(m as EtcdMember)).memberId;
  }

  async leaderSeen(): Promise<string[]> {
    const running = this.cluster.members.filter((m) => m.running);
    const st = await Promise.all(running.map((m) => this.cluster.status(m, 200).catch(() => undefined)));
    // A member that is the leader it reports.
    return st.flatMap((x) => (x && x.leader !== '0' && x.leader === x.memberId ? [x.memberId] : []));
  }

  async caughtUp(m: Member): Promise<boolean> {
    const leader = await this.cluster.waitForLeader(5000);
    const [ls, ms] = await Promise.all([this.cluster.status(leader), this.cluster.status(m as EtcdMember)]);
    return ms.raftAppliedIndex >= ls.raftIndex;
  }

  async attempt(address: string, w: WriteReq, deadlineMs: number): Promise<number> {
    const res = await unary<{ header: { raftTerm: string } | null }>(this.kv.get(address), 'Put', { key: w.key, value: w.value }, deadlineMs);
    return Number(res.header?.raftTerm ?? 0);
  }

  hint(): string | undefined {
    return undefined;
  }

  async readAll(prefix: Buffer): Promise<Map<string, Buffer>> {
    const leader = await this.leader(10_000);
    const out = new Map<string, Buffer>();
    // etcd's range_end "\0" means every key from the start on.
    const end = prefixEnd(prefix) ?? Buffer.from([0]);
    let from = prefix;
    for (;;) {
      const res = await unary<{ kvs: { key: Buffer; value: Buffer }[]; more: boolean }>(
        this.kv.get(leader.address),
        'Range',
        { key: from, rangeEnd: end, limit: '2000', serializable: false },
        10_000,
      );
      for (const kv of res.kvs) out.set(kv.key.toString('latin1'), kv.value);
      if (!res.more || res.kvs.length === 0) return out;
      from = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
  }

  stop(): Promise<void> {
    this.close();
    return this.cluster.stop();
  }

  close(): void {
    this.kv.close();
  }
}

interface Rep {
  rep: number;
  killed: string;
  killedAddress: string;
  killAt: number;
  /** The highest term acknowledged before the kill: an acknowledgement in a higher term comes from the new leader. */
  killTerm: number;
  /** Longest time without an acknowledged write, from the last one before the kill to the new leader's first. */
  windowMs: number | null;
  /** Longest gap seen so far in this repetition (acknowledgements may still trickle in after the kill). */
  gapMs: number;
  killToAckMs: number | null;
  /** From the kill until a surviving member reported itself leader (polled every 10 ms). */
  electedMs: number | null;
  newAckBy: string | null;
  /** From restarting the killed member until it had caught up. */
  catchUpMs: number | null;
  error?: string;
}

/** One graceful restart of one member in a rolling restart. */
interface Restart {
  rep: number;
  member: string;
  wasLeader: boolean;
  /** Longest time without an acknowledged write, from the SIGTERM until the member was back and caught up. */
  stallMs: number;
  /** When the longest stall began, in ms after the SIGTERM (negative: it was already open). */
  stallAtMs: number;
  /** Longest time without an acknowledged write from the SIGTERM until the process exited (the handover, for a leader). */
  stopStallMs: number;
  /** From the SIGTERM until the process exited. */
  exitMs: number | null;
  exitCode: number | null;
  /** From starting it again until it had caught up. */
  catchUpMs: number | null;
  error?: string;
}

interface Options {
  mode: 'kill' | 'rolling';
  reps: number;
  writers: number;
  valueBytes: number;
  settleMs: number;
  afterMs: number;
  repTimeoutMs: number;
  attemptDeadlineMs: number;
  client: 'raw' | 'sdk';
  quiet: boolean;
}

export interface FailoverSummary {
  system: 'bellwether' | 'etcd';
  client: string;
  mode: 'kill' | 'rolling';
  reps: Rep[];
  restarts: Restart[];
  stallMs: { median: number | null; max: number | null };
  /** The longest gap between acknowledgements before any fault (the machine's own hiccups). */
  baselineStallMs: number;
  windowMs: { median: number | null; max: number | null; min: number | null };
  killToAckMs: { median: number | null; max: number | null };
  electedMs: { median: number | null; max: number | null };
  failedReps: number;
  acknowledged: number;
  lost: number;
  lostKeys: string[];
  attemptErrors: Record<string, number>;
  electionTimeout: string;
}

/** Runs the kill -9 loop on `a` and checks the acknowledged writes at the end. */
async function runFailover(a: Adapter, opts: Options, sdk?: BellwetherClient): Promise<FailoverSummary> {
  const runId = randomUUID().slice(0, 8);
  const prefix = Buffer.from(`fo/${runId}/`);
  const values = new KeySpace({ keyspace: 1, keyBytes: 2, valueBytes: opts.valueBytes, seed: 7 });
  const acked = new Map<string, Buffer>();
  const attemptErrors: Record<string, number> = {};
  const reps: Rep[] = [];
  const restarts: Restart[] = [];
  /** The longest gap between acknowledgements while a graceful restart is under way. */
  let stall: { maxMs: number; atMs: number; t0: number } | undefined;
  let current: Rep | undefined;
  let lastAckAt = 0;
  let stopping = false;
  const addresses = a.members.map((m) => m.address);
  let sharedTarget = (await a.leader(10_000)).address;
  const byMemberId = new Map(a.members.map((m) => [m.id, m.address]));

  let maxTerm = 0;
  /**
   * The window ends at the first acknowledgement in a term above the one the
   * killed leader held (after a kill, acknowledgements of the old term may
   * still arrive: replies in flight, or an etcd follower relaying the old
   * leader's commit); it is the longest gap between acknowledgements from
   * the last one before the kill up to that one.
   */
  const onAck = (address: string, term: number) => {
    const t = performance.now();
    const rep = current;
    if (rep && rep.windowMs === null && rep.killAt > 0) {
      rep.gapMs = Math.max(rep.gapMs, t - lastAckAt);
      if (term > rep.killTerm) {
        rep.windowMs = rep.gapMs;
        rep.killToAckMs = t - rep.killAt;
        rep.newAckBy = address;
      }
    }
    if (term > maxTerm) maxTerm = term;
    if (stall && t - lastAckAt > stall.maxMs) {
      stall.maxMs = t - lastAckAt;
      stall.atMs = lastAckAt - stall.t0;
    }
    lastAckAt = t;
  };

  const catchUp = async (m: Member): Promise<void> => {
    await withTimeout(
      (async () => {
        for (;;) {
          if (await a.caughtUp(m).catch(() => false)) return;
          await sleep(50);
        }
      })(),
      60_000,
      `${m.id} catching up after its restart`,
    );
  };

  /** SIGTERM to `m`, wait for it to exit, start it again and wait until it caught up; the longest write stall meanwhile. */
  const restart = async (rep: number, m: Member, wasLeader: boolean): Promise<Restart> => {
    const r: Restart = { rep, member: m.id, wasLeader, stallMs: 0, stallAtMs: 0, stopStallMs: 0, exitMs: null, exitCode: null, catchUpMs: null };
    const t0 = performance.now();
    const watch = { maxMs: 0, atMs: 0, t0 };
    stall = watch;
    // The gap already open when the signal goes counts from the last acknowledgement.
    const openGap = () => performance.now() - lastAckAt;
    m.signal('SIGTERM');
    try {
      r.exitCode = await withTimeout(m.waitExit(), 60_000, `${m.id} exiting after SIGTERM`);
      r.exitMs = performance.now() - t0;
      r.stopStallMs = Math.max(watch.maxMs, openGap());
      m.start();
      const t1 = performance.now();
      await catchUp(m);
      r.catchUpMs = performance.now() - t1;
      await sleep(opts.afterMs);
    } catch (err) {
      r.error = (err as Error).message;
    }
    const open = openGap();
    r.stallMs = Math.max(watch.maxMs, open);
    r.stallAtMs = open > watch.maxMs ? lastAckAt - t0 : watch.atMs;
    stall = undefined;
    return r;
  };

  const rolling = async (i: number): Promise<void> => {
    const leader = await a.leader(30_000);
    const order = [...a.members.filter((m) => m.id !== leader.id), leader];
    for (const m of order) {
      const r = await restart(i, m, m.id === leader.id);
      restarts.push(r);
      if (!opts.quiet) {
        console.error(
          `  ${a.system} rolling ${i}/${opts.reps}: ${r.member}${r.wasLeader ? ' (leader)' : ''} exited in ${fmtMs(r.exitMs ?? undefined)} ms (code ${r.exitCode}), caught up in ${fmtMs(r.catchUpMs ?? undefined)} ms; longest write stall ${fmtMs(r.stallMs)} ms (from ${fmtMs(r.stallAtMs)} ms after the SIGTERM; until the exit ${fmtMs(r.stopStallMs)} ms); ${fmtNum(acked.size)} acknowledged${r.error ? `; ${r.error}` : ''}`,
        );
      }
      await sleep(opts.settleMs);
    }
  };
  const countError = (err: unknown) => {
    const n = errorName(err);
    attemptErrors[n] = (attemptErrors[n] ?? 0) + 1;
  };

  const writer = async (wi: number) => {
    const rng = new Rng(wi + 1);
    const clientId = `failover-${runId}-${wi}`;
    let target = sharedTarget;
    for (let seq = 1; !stopping; seq++) {
      const key = Buffer.concat([prefix, Buffer.from(`${String(wi).padStart(3, '0')}/${String(seq).padStart(9, '0')}`)]);
      const value = values.value(rng);
      const req: WriteReq = { key, value, clientId, sequence: seq };
      // One logical write: retried (same client id and sequence) until acknowledged.
      while (!stopping) {
        if (sdk) {
          try {
            const res = await sdk.put(key, value, { deadlineMs: opts.attemptDeadlineMs });
            acked.set(key.toString('latin1'), value);
            onAck(byMemberId.get(res.header.memberId) ?? res.header.memberId, res.header.term);
            break;
          } catch (err) {
            countError(err);
            await sleep(5);
            continue;
          }
        }
        const sentTo = target;
        try {
          const term = await a.attempt(sentTo, req, opts.attemptDeadlineMs);
          acked.set(key.toString('latin1'), value);
          sharedTarget = sentTo;
          onAck(sentTo, term);
          break;
        } catch (err) {
          countError(err);
          const hint = a.hint(err);
          if (hint && hint !== sentTo) {
            target = hint;
          } else if (sharedTarget !== sentTo) {
            target = sharedTarget;
          } else {
            target = addresses[(addresses.indexOf(sentTo) + 1) % addresses.length]!;
            await sleep(5);
          }
        }
      }
    }
  };

  const writers = Array.from({ length: opts.writers }, (_, i) => writer(i));
  /** The longest gap between acknowledgements with no fault at all (the second half of the first settle): what the machine alone causes. */
  let baselineStallMs = 0;
  try {
    await sleep(opts.settleMs / 2);
    const quiet = { maxMs: 0, atMs: 0, t0: performance.now() };
    stall = quiet;
    await sleep(opts.settleMs / 2);
    stall = undefined;
    baselineStallMs = Math.max(quiet.maxMs, performance.now() - lastAckAt);
    for (let i = 1; i <= opts.reps; i++) {
      if (opts.mode === 'rolling') {
        await rolling(i);
        continue;
      }
      const leader = await a.leader(30_000);
      const rep: Rep = {
        rep: i,
        killed: leader.id,
        killedAddress: leader.address,
        killAt: 0,
        killTerm: 0,
        windowMs: null,
        gapMs: 0,
        killToAckMs: null,
        electedMs: null,
        newAckBy: null,
        catchUpMs: null,
      };
      current = rep;
      const killedKey = await a.leaderKey(leader);
      const killing = leader.kill9();
      rep.killAt = performance.now();
      rep.killTerm = maxTerm;
      rep.gapMs = rep.killAt - lastAckAt;
      await killing;
      const until = performance.now() + opts.repTimeoutMs;
      // Election time, seen from the members (apart from what clients see).
      const polling = (async () => {
        while (performance.now() < until) {
          const seen = await a.leaderSeen().catch(() => []);
          if (seen.some((k) => k !== killedKey)) {
            rep.electedMs = performance.now() - rep.killAt;
            return;
          }
          await sleep(10);
        }
      })();
      while (rep.windowMs === null && performance.now() < until) await sleep(5);
      await polling;
      if (rep.windowMs === null) rep.error = `no acknowledged write within ${opts.repTimeoutMs} ms of the kill`;
      await sleep(opts.afterMs);
      leader.start();
      const t0 = performance.now();
      try {
        await withTimeout(
          (async () => {
            for (;;) {
              if (await a.caughtUp(leader).catch(() => false)) return;
              await sleep(50);
            }
          })(),
          60_000,
          `${leader.id} catching up after its restart`,
        );
        rep.catchUpMs = performance.now() - t0;
      } catch (err) {
        rep.error = [rep.error, (err as Error).message].filter(Boolean).join('; ');
      }
      reps.push(rep);
      if (!opts.quiet) {
        console.error(
          `  ${a.system} rep ${i}/${opts.reps}: killed ${rep.killed}; window ${fmtMs(rep.windowMs ?? undefined)} ms, kill→ack ${fmtMs(rep.killToAckMs ?? undefined)} ms (new ${rep.newAckBy ?? '-'}); ${rep.killed} caught up in ${fmtMs(rep.catchUpMs ?? undefined)} ms; ${fmtNum(acked.size)} acknowledged${rep.error ? `; ${rep.error}` : ''}`,
        );
      }
      current = undefined;
      await sleep(opts.settleMs);
    }
  } finally {
    stopping = true;
    await withTimeout(Promise.all(writers), 30_000, 'writers stopping').catch((e: Error) => console.error(e.message));
  }

  // Every acknowledged write must be there, with its value.
  const stored = await a.readAll(prefix);
  const lostKeys: string[] = [];
  for (const [k, v] of acked) {
    const got = stored.get(k);
    if (!got?.equals(v)) lostKeys.push(k);
  }
  const windows = reps.map((r) => r.windowMs).filter((x): x is number => x !== null);
  const k2a = reps.map((r) => r.killToAckMs).filter((x): x is number => x !== null);
  const el = reps.map((r) => r.electedMs).filter((x): x is number => x !== null);
  const stalls = restarts.map((r) => r.stallMs);
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    system: a.system,
    client: sdk ? 'sdk' : a.system === 'etcd' ? 'raw (grpc-js, next member on error)' : 'raw (grpc-js, follows leader hints, exactly-once retries)',
    mode: opts.mode,
    restarts: restarts.map((r) => ({ ...r, stallMs: r1(r.stallMs), stallAtMs: r1(r.stallAtMs), stopStallMs: r1(r.stopStallMs), exitMs: r.exitMs === null ? null : r1(r.exitMs), catchUpMs: r.catchUpMs === null ? null : r1(r.catchUpMs) })),
    stallMs: { median: stalls.length ? r1(median(stalls)) : null, max: stalls.length ? r1(Math.max(...stalls)) : null },
    baselineStallMs: r1(baselineStallMs),
    reps: reps.map((r) => ({ ...r, killAt: r1(r.killAt), gapMs: r1(r.gapMs), windowMs: r.windowMs === null ? null : r1(r.windowMs), killToAckMs: r.killToAckMs === null ? null : r1(r.killToAckMs), electedMs: r.electedMs === null ? null : r1(r.electedMs), catchUpMs: r.catchUpMs === null ? null : r1(r.catchUpMs) })),
    windowMs: { median: windows.length ? r1(median(windows)) : null, max: windows.length ? r1(Math.max(...windows)) : null, min: windows.length ? r1(Math.min(...windows)) : null },
    killToAckMs: { median: k2a.length ? r1(median(k2a)) : null, max: k2a.length ? r1(Math.max(...k2a)) : null },
    electedMs: { median: el.length ? r1(median(el)) : null, max: el.length ? r1(Math.max(...el)) : null },
    failedReps: reps.filter((r) => r.windowMs === null).length + restarts.filter((r) => r.error !== undefined || r.exitCode !== 0).length,
    acknowledged: acked.size,
    lost: lostKeys.length,
    lostKeys: lostKeys.slice(0, 20),
    attemptErrors,
    electionTimeout: a.electionTimeout,
  };
}

function renderRolling(s: FailoverSummary): string {
  const leaderStalls = s.restarts.filter((r) => r.wasLeader).map((r) => r.stallMs);
  const handovers = s.restarts.filter((r) => r.wasLeader).map((r) => r.stopStallMs);
  return [
    `\n${s.system} rolling restarts: ${s.restarts.length} graceful restarts (SIGTERM, start again, catch up; the leader last); writers: ${s.client}`,
    table(
      ['rep', 'member', 'leader', 'exit ms', 'exit code', 'catch-up ms', 'longest stall ms', 'stall began ms', 'stall to exit ms', 'note'],
      s.restarts.map((r) => [
        String(r.rep),
        r.member,
        r.wasLeader ? 'yes' : '',
        fmtMs(r.exitMs ?? undefined),
        String(r.exitCode),
        fmtMs(r.catchUpMs ?? undefined),
        fmtMs(r.stallMs),
        fmtMs(r.stallAtMs),
        fmtMs(r.stopStallMs),
        r.error ?? '',
      ]),
    ),
    `longest write stall per restart: median ${fmtMs(s.stallMs.median ?? undefined)} ms, max ${fmtMs(s.stallMs.max ?? undefined)} ms; restarts of the leader: median ${fmtMs(leaderStalls.length ? median(leaderStalls) : undefined)} ms, max ${fmtMs(leaderStalls.length ? Math.max(...leaderStalls) : undefined)} ms; of which from its SIGTERM to its exit (the handover): median ${fmtMs(handovers.length ? median(handovers) : undefined)} ms, max ${fmtMs(handovers.length ? Math.max(...handovers) : undefined)} ms`,
    `for comparison, the longest gap between acknowledgements with no fault (half a settle period before the first restart): ${fmtMs(s.baselineStallMs)} ms`,
    `acknowledged writes ${fmtNum(s.acknowledged)}, lost ${s.lost}${s.lost ? ` (e.g. ${s.lostKeys.slice(0, 5).join(', ')})` : ''}; failed restarts ${s.failedReps}; failed attempts (errors the writers saw) ${Object.entries(s.attemptErrors).map(([k, v]) => `${k} ${v}`).join(', ') || '0'}`,
  ].join('\n');
}

function render(s: FailoverSummary): string {
  if (s.mode === 'rolling') return renderRolling(s);
  const lines = [
    `\n${s.system} failover: ${s.reps.length} kill -9 of the leader; writers: ${s.client}; ${s.electionTimeout}`,
    table(
      ['rep', 'killed', 'window ms', 'kill→ack ms', 'kill→elected ms', 'new leader', 'catch-up ms', 'note'],
      s.reps.map((r) => [
        String(r.rep),
        r.killed,
        fmtMs(r.windowMs ?? undefined),
        fmtMs(r.killToAckMs ?? undefined),
        fmtMs(r.electedMs ?? undefined),
        r.newAckBy ?? '-',
        fmtMs(r.catchUpMs ?? undefined),
        r.error ?? '',
      ]),
    ),
    `window without an acknowledged write: median ${fmtMs(s.windowMs.median ?? undefined)} ms, max ${fmtMs(s.windowMs.max ?? undefined)} ms (min ${fmtMs(s.windowMs.min ?? undefined)} ms); kill→first new ack: median ${fmtMs(s.killToAckMs.median ?? undefined)} ms, max ${fmtMs(s.killToAckMs.max ?? undefined)} ms; kill→a member reports itself leader: median ${fmtMs(s.electedMs.median ?? undefined)} ms, max ${fmtMs(s.electedMs.max ?? undefined)} ms`,
    `for comparison, the longest gap between acknowledgements with no fault (half a settle period before the first kill): ${fmtMs(s.baselineStallMs)} ms`,
    `acknowledged writes ${fmtNum(s.acknowledged)}, lost ${s.lost}${s.lost ? ` (e.g. ${s.lostKeys.slice(0, 5).join(', ')})` : ''}; failed repetitions ${s.failedReps}; failed attempts ${Object.entries(s.attemptErrors).map(([k, v]) => `${k} ${v}`).join(', ') || '0'}`,
  ];
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const f = parseFlags(argv, FLAGS);
  if (f['help']) {
    console.log(flagHelp('Usage: pnpm bench:failover [flags]   e.g. pnpm bench:failover --reps 20 --system both', FLAGS));
    return 0;
  }
  const sys = f['system'] as string;
  if (!['bellwether', 'etcd', 'both'].includes(sys)) throw new UsageError(`--system: expected bellwether, etcd or both, got "${sys}"`);
  const client = f['client'] as string;
  if (client !== 'raw' && client !== 'sdk') throw new UsageError(`--client: expected raw or sdk, got "${client}"`);
  const mode = f['mode'] as string;
  if (mode !== 'kill' && mode !== 'rolling') throw new UsageError(`--mode: expected kill or rolling, got "${mode}"`);
  if (mode === 'rolling' && sys !== 'bellwether') throw new UsageError('--mode rolling: only with --system bellwether');
  if (sys !== 'bellwether') ensureEtcd();
  const opts: Options = {
    mode,
    reps: Math.max(1, f['reps'] as number),
    writers: Math.max(1, f['writers'] as number),
    valueBytes: f['value-bytes'] as number,
    settleMs: f['settle-ms'] as number,
    afterMs: f['after-ms'] as number,
    repTimeoutMs: f['rep-timeout-ms'] as number,
    attemptDeadlineMs: f['attempt-deadline-ms'] as number,
    client,
    quiet: f['quiet'] as boolean,
  };
  const systems = sys === 'both' ? (['bellwether', 'etcd'] as const) : [sys as 'bellwether' | 'etcd'];
  let adapter: Adapter | undefined;
  const onSignal = () => {
    const x = adapter;
    adapter = undefined;
    (x ? x.stop() : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const summaries: FailoverSummary[] = [];
  for (const system of systems) {
    console.error(`starting a local 3-member ${system} cluster...`);
    adapter = system === 'etcd' ? new EtcdAdapter((await EtcdLocal.start()).cluster) : new BellwetherAdapter((await BellwetherLocal.start()).cluster);
    let sdk: BellwetherClient | undefined;
    try {
      if (system === 'bellwether' && client === 'sdk') {
        const leader = await adapter.leader(10_000);
        sdk = await connect({ endpoints: [leader.address, ...adapter.members.map((m) => m.address).filter((x) => x !== leader.address)] });
      }
      const s = await runFailover(adapter, opts, sdk);
      summaries.push(s);
      console.log(render(s));
    } finally {
      await sdk?.close();
      const x = adapter;
      adapter = undefined;
      await x?.stop();
    }
  }
  const path = writeResult('failover', { kind: 'bellwether-bench/failover', version: 1, createdAt: new Date().toISOString(), machine: machine(), config: opts, results: summaries }, f['out'] as string | undefined);
  console.log(`result: ${path}`);
  return summaries.every((s) => s.lost === 0 && s.failedReps === 0) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`failover: ${err.message} (see --help)`);
      process.exit(2);
    }
    console.error('failover: failed:', err);
    process.exit(1);
  },
);
