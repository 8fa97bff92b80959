// One logical client's way to the cluster, through the SDK's public API.
//
// The SDK this was written against talks to one endpoint per client and does
// not retry, so each logical client (worker) holds one SDK client per member
// and follows the leader itself: a write goes to the member it believes leads;
// NOT_LEADER (never applied) or a write that was never sent is tried again on
// the hinted leader or another member, within the op's one deadline. Anything
// else ends the op: a write that may have applied is recorded as `info`.
// Reads either go through the SDK, which picks the member by read mode (with
// leader tracking, linearizable reads go to the leader), or straight to one
// member the workload chooses, over the public gRPC API: the SDK does not let
// a caller pick the member, and a linearizable read served by a follower
// (ReadIndex from the leader) is a server path of its own that must be
// exercised - it is where the injected follower-read bug lives.
//
// The worker's session index (highest revision written or read, as the SDK
// keeps it) is sent as `min_index` with read-your-writes reads, because those
// may land on a different member's SDK client than the writes did.
import { BellwetherError, type BellwetherClient, connect, NotLeader, type ResponseHeader, Unavailable } from '@bellwether/client';
import type { GetResponse__Output } from '@bellwether/proto';
import { clientsFor, unary } from '@bellwether/integration/src/cluster';
import { type Client as GrpcClient, status } from '@grpc/grpc-js';
import type { Outcome, ReadMode } from './history';
import type { Rng } from './rng';

export interface Member {
  id: string;
  address: string;
}

export interface ConnOptions {
  members: Member[];
  /** Prefix of the SDK client ids; unique per run. */
  clientTag: string;
  deadlineMs: number;
  rng: Rng;
}

/** What a failed call means for the history: `info` only for a write that may have applied. */
export function outcomeOf(err: unknown, write: boolean): Outcome {
  if (!write) return 'fail';
  if (err instanceof BellwetherError) return err.mayHaveApplied ? 'info' : 'fail';
  return 'info';
}

export function describeError(err: unknown): string {
  if (err instanceof BellwetherError) return `${err.codeName}: ${err.details || err.message}`.slice(0, 200);
  const e = err as { code?: unknown; details?: unknown };
  if (typeof e?.code === 'number' && typeof e.details === 'string') return `${status[e.code] ?? e.code}: ${e.details}`.slice(0, 200);
  return String(err).slice(0, 200);
}

export interface MemberGet {
  header: { memberId: string; revision: number; leaderId: string };
  kv: { value: string; modRevision: number } | null;
}

export class WorkerConn {
  private readonly clients = new Map<string, Promise<BellwetherClient>>();
  private leader: string | undefined;
  /** The session index: the highest revision this worker has written or read. */
  sessionIndex = 0;

  constructor(private readonly opts: ConnOptions) {}

  get members(): Member[] {
    return this.opts.members;
  }

  private client(address: string): Promise<BellwetherClient> {
    let c = this.clients.get(address);
    if (!c) {
      const id = this.opts.members.find((m) => m.address === address)?.id ?? address;
      c = connect({ endpoints: [address], clientId: `${this.opts.clientTag}-${id}`, deadlineMs: this.opts.deadlineMs });
      this.clients.set(address, c);
    }
    return c;
  }

  observe(header: ResponseHeader): void {
    if (header.revision > this.sessionIndex) this.sessionIndex = header.revision;
  }

  /** Runs a write on the leader, following NOT_LEADER hints; resolves with the result and the member's address. */
  async write<R extends { header: ResponseHeader }>(call: (c: BellwetherClient, deadlineMs: number) => Promise<R>): Promise<R> {
    const until = Date.now() + this.opts.deadlineMs;
    let tried = 0;
    for (;;) {
      const target = this.leader ?? this.opts.rng.pick(this.opts.members).address;
      tried++;
      try {
        const res = await call(await this.client(target), Math.max(1, until - Date.now()));
        this.leader = target;
        this.observe(res.header);
        return res;
      } catch (err) {
        // Safe to try elsewhere only when the write certainly did not apply.
        const notApplied = err instanceof NotLeader || (err instanceof Unavailable && !err.mayHaveApplied);
        const hint = err instanceof NotLeader || err instanceof Unavailable ? err.leaderAddress : undefined;
        this.leader = hint && hint !== target ? hint : undefined;
        if (!notApplied || tried >= 4 || Date.now() >= until - 5) throw err;
        if (!this.leader) await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** The SDK client this worker uses when the SDK is to choose the member. */
  home(): Promise<BellwetherClient> {
    const first = this.clients.values().next();
    return first.done ? this.client(this.leader ?? this.opts.rng.pick(this.opts.members).address) : first.value;
  }

  /** A read through the SDK: the SDK picks the member. */
  async sdkRead<R extends { header: ResponseHeader }>(call: (c: BellwetherClient) => Promise<R>): Promise<R> {
    const res = await call(await this.home());
    this.observe(res.header);
    return res;
  }

  /** A Get sent to one member directly, with this session's index as min_index for read-your-writes. */
  async memberGet(member: Member, key: string, mode: ReadMode, minIndex: number): Promise<MemberGet> {
    const wire = { linearizable: 'READ_MODE_LINEARIZABLE', 'read-your-writes': 'READ_MODE_READ_YOUR_WRITES', 'any-follower': 'READ_MODE_ANY_FOLLOWER' }[mode];
    const res = await unary<GetResponse__Output>(
      clientsFor(member.address).kv as unknown as GrpcClient,
      'Get',
      { key: Buffer.from(key), read: { mode: wire, minIndex } },
      this.opts.deadlineMs,
    );
    const header = { memberId: res.header?.memberId ?? member.id, revision: Number(res.header?.revision ?? 0), leaderId: res.header?.leaderId ?? '' };
    if (header.revision > this.sessionIndex) this.sessionIndex = header.revision;
    const kv = res.kv ? { value: res.kv.value.toString('utf8'), modRevision: Number(res.kv.modRevision) } : null;
    return { header, kv };
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map(async (c) => (await c).close()));
  }
}
