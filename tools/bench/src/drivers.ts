// One interface over the three ways the bench talks to a store:
// Bellwether through the SDK, Bellwether through raw unary gRPC, and etcd
// through raw unary gRPC (its v3 KV API). The raw drivers share one code
// path (grpc-js unary calls on plain channels); only the messages differ.
import { type BellwetherClient, cmp, connect, op, type ReadMode as SdkReadMode } from '@bellwether/client';
import { LEADER_ADDRESS_METADATA, loadPublicApi, unary } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import type { ClientSecurity } from './clusters';
import { loadEtcdApi } from './etcd';

export type ReadMode = 'linearizable' | 'read-your-writes' | 'any-follower' | 'serializable';
export const READ_MODES: readonly ReadMode[] = ['linearizable', 'read-your-writes', 'any-follower', 'serializable'];

export type TargetKind = 'bellwether-sdk' | 'bellwether-raw' | 'etcd';
export const TARGET_KINDS: readonly TargetKind[] = ['bellwether-sdk', 'bellwether-raw', 'etcd'];

export interface CasResult {
  succeeded: boolean;
  /** The key's mod revision after the call: the new one on success, the current one (0 = absent) on failure. */
  modRevision: number;
}

export interface Driver {
  readonly kind: TargetKind;
  /** `w` is the worker number; it picks the connection. */
  put(w: number, key: Buffer, value: Buffer): Promise<void>;
  get(w: number, key: Buffer): Promise<void>;
  cas(w: number, key: Buffer, expectedModRevision: number, value: Buffer): Promise<CasResult>;
  /** A two-key transaction: a compare on `a`, then a put of each key (one revision). */
  txn?(w: number, a: Buffer, b: Buffer, value: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface DriverOptions {
  kind: TargetKind;
  /** Every member's client address (host:port). */
  members: readonly string[];
  /** The leader's address: raw writes go there; the SDK gets it first in its endpoint list. */
  leader: string;
  /** Client instances (raw: one channel per member each; SDK: one connect() each). */
  connections: number;
  readMode: ReadMode;
  /** Which members raw reads go to, in turn. */
  readTargets: 'all' | 'leader' | 'followers';
  deadlineMs: number;
  /** The workload writes: the single-endpoint SDK then needs the leader first on every client. */
  writes: boolean;
  /** bellwether-sdk only: the SDK's transport (default: the SDK's own). */
  transport?: 'stream' | 'unary';
  /** bellwether-sdk only: TLS and auth for a secured cluster. */
  security?: ClientSecurity;
}

/** A name for an error: the gRPC status name when there is one. */
export function errorName(err: unknown): string {
  const e = err as { codeName?: unknown; code?: unknown; name?: unknown };
  // The SDK's "the write may or may not have been applied" (its code is DEADLINE_EXCEEDED): counted apart.
  if (e?.name === 'OutcomeUnknown') return 'OutcomeUnknown';
  if (typeof e?.codeName === 'string') return e.codeName;
  if (typeof e?.code === 'number' && grpc.status[e.code] !== undefined) return grpc.status[e.code] as string;
  if (typeof e?.name === 'string') return e.name;
  return 'Error';
}

/** Separate channels (TCP connections) even to the same address: grpc-js otherwise shares subchannels. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1 };

/** The plumbing both raw drivers share: channels per member, writes to the leader, reads in turn. */
class RawChannels {
  readonly perMember: grpc.Client[][];
  leaderIndex: number;
  private readonly readers: number[];
  private turn = 0;

  constructor(
    ctor: grpc.ServiceClientConstructor,
    private readonly opts: DriverOptions,
  ) {
    this.perMember = opts.members.map((addr) =>
      Array.from({ length: Math.max(1, opts.connections) }, () => new ctor(addr, grpc.credentials.createInsecure(), CHANNEL_OPTIONS)),
    );
    this.leaderIndex = opts.members.indexOf(opts.leader);
    if (this.leaderIndex < 0) throw new Error(`leader ${opts.leader} is not among the members ${opts.members.join(', ')}`);
    const all = opts.members.map((_, i) => i);
    this.readers =
      opts.readTargets === 'leader' ? [this.leaderIndex] : opts.readTargets === 'followers' && all.length > 1 ? all.filter((i) => i !== this.leaderIndex) : all;
  }

  /** Sends later writes to `address` (a leader hint), if it is a member. */
  follow(address: string): void {
    const i = this.opts.members.indexOf(address);
    if (i >= 0) this.leaderIndex = i;
  }

  writer(w: number): grpc.Client {
    const conns = this.perMember[this.leaderIndex]!;
    return conns[w % conns.length]!;
  }

  reader(w: number): grpc.Client {
    const m = this.readers[this.turn++ % this.readers.length]!;
    const conns = this.perMember[m]!;
    return conns[w % conns.length]!;
  }

  close(): void {
    for (const cs of this.perMember) for (const c of cs) c.close();
  }
}

interface BwHeader {
  revision: number;
  appliedIndex: number;
}

const BW_MODE: Record<ReadMode, string> = {
  linearizable: 'READ_MODE_LINEARIZABLE',
  'read-your-writes': 'READ_MODE_READ_YOUR_WRITES',
  'any-follower': 'READ_MODE_ANY_FOLLOWER',
  serializable: 'READ_MODE_ANY_FOLLOWER',
};

class BellwetherRawDriver implements Driver {
  readonly kind = 'bellwether-raw' as const;
  private readonly ch: RawChannels;
  /** Highest revision this driver has written or read: its read-your-writes floor. */
  private index = 0;
  private readonly mode: string;

  constructor(private readonly opts: DriverOptions) {
    this.ch = new RawChannels(loadPublicApi().bellwether.kv.v1.KV as unknown as grpc.ServiceClientConstructor, opts);
    this.mode = BW_MODE[opts.readMode];
  }

  private seen(h: BwHeader | null | undefined): void {
    if (h && h.revision > this.index) this.index = h.revision;
  }

  /** A write refused by a member that is not the leader names the leader: send later writes there. */
  private followHint(err: unknown): never {
    const hint = (err as grpc.ServiceError).metadata?.get(LEADER_ADDRESS_METADATA)[0];
    if (hint) this.ch.follow(String(hint));
    throw err;
  }

  async put(w: number, key: Buffer, value: Buffer): Promise<void> {
    const res = await unary<{ header: BwHeader | null }>(this.ch.writer(w), 'Put', { key, value }, this.opts.deadlineMs).catch((e) => this.followHint(e));
    this.seen(res.header);
  }

  async get(w: number, key: Buffer): Promise<void> {
    const read = { mode: this.mode, minIndex: this.mode === 'READ_MODE_READ_YOUR_WRITES' ? this.index : 0 };
    const res = await unary<{ header: BwHeader | null }>(this.ch.reader(w), 'Get', { key, read }, this.opts.deadlineMs);
    this.seen(res.header);
  }

  async cas(w: number, key: Buffer, expectedModRevision: number, value: Buffer): Promise<CasResult> {
    const res = await unary<{ header: BwHeader | null; succeeded: boolean; prevKv: { modRevision: number } | null }>(
      this.ch.writer(w),
      'Put',
      { key, value, expectedModRevision },
      this.opts.deadlineMs,
    ).catch((e) => this.followHint(e));
    this.seen(res.header);
    return res.succeeded ? { succeeded: true, modRevision: res.header?.revision ?? 0 } : { succeeded: false, modRevision: res.prevKv?.modRevision ?? 0 };
  }

  async close(): Promise<void> {
    this.ch.close();
  }
}

class EtcdDriver implements Driver {
  readonly kind = 'etcd' as const;
  private readonly ch: RawChannels;
  private readonly serializable: boolean;

  constructor(private readonly opts: DriverOptions) {
    this.ch = new RawChannels(loadEtcdApi().KV, opts);
    // etcd has two read modes: linearizable (ReadIndex) and serializable (member-local).
    this.serializable = opts.readMode !== 'linearizable';
  }

  async put(w: number, key: Buffer, value: Buffer): Promise<void> {
    await unary(this.ch.writer(w), 'Put', { key, value }, this.opts.deadlineMs);
  }

  async get(w: number, key: Buffer): Promise<void> {
    await unary(this.ch.reader(w), 'Range', { key, serializable: this.serializable }, this.opts.deadlineMs);
  }

  async cas(w: number, key: Buffer, expectedModRevision: number, value: Buffer): Promise<CasResult> {
    const res = await unary<{
      header: { revision: string } | null;
      succeeded: boolean;
      responses: { responseRange?: { kvs: { modRevision: string }[] } | null }[];
    }>(
      this.ch.writer(w),
      'Txn',
      {
        compare: [{ result: 'EQUAL', target: 'MOD', key, modRevision: String(expectedModRevision) }],
        success: [{ requestPut: { key, value } }],
        failure: [{ requestRange: { key } }],
      },
      this.opts.deadlineMs,
    );
    if (res.succeeded) return { succeeded: true, modRevision: Number(res.header?.revision ?? 0) };
    const kv = res.responses[0]?.responseRange?.kvs[0];
    return { succeeded: false, modRevision: kv ? Number(kv.modRevision) : 0 };
  }

  async close(): Promise<void> {
    this.ch.close();
  }
}

class SdkDriver implements Driver {
  readonly kind = 'bellwether-sdk' as const;
  private readonly mode: SdkReadMode;

  private constructor(
    private readonly clients: BellwetherClient[],
    private readonly opts: DriverOptions,
  ) {
    this.mode = opts.readMode === 'serializable' ? 'any-follower' : opts.readMode;
  }

  /**
   * Each client gets every member as its endpoint list, the leader first.
   * For follower reads without writes, client i starts its list at member i,
   * so an SDK that uses only its first endpoint still spreads the reads.
   */
  static async create(opts: DriverOptions): Promise<SdkDriver> {
    const others = opts.members.filter((m) => m !== opts.leader);
    const ordered = [opts.leader, ...others];
    const rotate = !opts.writes && opts.readMode !== 'linearizable' && opts.readTargets !== 'leader';
    const clients: BellwetherClient[] = [];
    for (let i = 0; i < Math.max(1, opts.connections); i++) {
      const k = rotate ? i % ordered.length : 0;
      const endpoints = [...ordered.slice(k), ...ordered.slice(0, k)];
      clients.push(
        await connect({
          endpoints,
          deadlineMs: opts.deadlineMs,
          channelOptions: CHANNEL_OPTIONS,
          ...(opts.transport ? { transport: opts.transport } : {}),
          ...(opts.security?.tls ? { tls: opts.security.tls } : {}),
          ...(opts.security?.auth ? { auth: opts.security.auth } : {}),
        }),
      );
    }
    return new SdkDriver(clients, opts);
  }

  private client(w: number): BellwetherClient {
    return this.clients[w % this.clients.length]!;
  }

  async put(w: number, key: Buffer, value: Buffer): Promise<void> {
    await this.client(w).put(key, value);
  }

  async get(w: number, key: Buffer): Promise<void> {
    await this.client(w).get(key, { mode: this.mode });
  }

  async cas(w: number, key: Buffer, expectedModRevision: number, value: Buffer): Promise<CasResult> {
    const res = await this.client(w).compareAndSwap(key, expectedModRevision, value);
    return res.succeeded ? { succeeded: true, modRevision: res.revision } : { succeeded: false, modRevision: res.current?.modRevision ?? 0 };
  }

  async txn(w: number, a: Buffer, b: Buffer, value: Buffer): Promise<void> {
    const ops = a.equals(b) ? [op.put(a, value)] : [op.put(a, value), op.put(b, value)];
    await this.client(w)
      .txn()
      .if(cmp.version(a, '<', Number.MAX_SAFE_INTEGER))
      .then(...ops)
      .commit();
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }

  get connections(): number {
    return this.opts.connections;
  }
}

export async function createDriver(opts: DriverOptions): Promise<Driver> {
  switch (opts.kind) {
    case 'bellwether-sdk':
      return SdkDriver.create(opts);
    case 'bellwether-raw':
      return new BellwetherRawDriver(opts);
    case 'etcd':
      return new EtcdDriver(opts);
  }
}
