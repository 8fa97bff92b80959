// One logical client's way to the cluster.
//
// Each worker is one SDK client (`connect()` with every member as a seed) and
// one SDK session (`client.session()`): the SDK finds the leader, follows it
// across failovers, retries writes with their (clientId, sequence) so each is
// applied at most once, routes reads by mode and keeps the session's
// read-your-writes index. Some workers turn write retries off
// (`retryWrites: false`), so single-attempt failures and their unknown
// outcomes are exercised too.
//
// Reads either go through the session (the SDK picks the member by read mode:
// linearizable to the leader) or straight to one member the workload chooses,
// over the public gRPC API: the SDK does not let a caller pick the member, and
// a linearizable read served by a follower (ReadIndex from the leader) is a
// server path of its own - it is where the injected follower-read bug lives.
// Such a read sends the session's index as min_index for read-your-writes,
// and its header revision is folded back into the session
// (`session.include`), so the session covers everything the worker saw.
import { BellwetherError, type BellwetherClient, connect, type ResponseHeader, type Session } from '@bellwether/client';
import { clientsFor, unary } from '@bellwether/integration/cluster';
import type { GetResponse__Output } from '@bellwether/proto';
import { type Client as GrpcClient, status } from '@grpc/grpc-js';
import type { Outcome, ReadMode } from './history';

export interface Member {
  id: string;
  address: string;
}

export interface ConnOptions {
  members: Member[];
  /** The SDK client id; unique per run and worker. */
  clientId: string;
  deadlineMs: number;
  /** The SDK's write retries across failover (default in the SDK: on). */
  retryWrites: boolean;
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

const WIRE_MODE: Record<ReadMode, string> = {
  linearizable: 'READ_MODE_LINEARIZABLE',
  'read-your-writes': 'READ_MODE_READ_YOUR_WRITES',
  'any-follower': 'READ_MODE_ANY_FOLLOWER',
};

export class WorkerConn {
  private client: Promise<BellwetherClient> | undefined;
  private sessionP: Promise<Session> | undefined;
  private current: Session | undefined;

  constructor(private readonly opts: ConnOptions) {}

  get retryWrites(): boolean {
    return this.opts.retryWrites;
  }

  /** The worker's session (connecting on first use). */
  session(): Promise<Session> {
    this.sessionP ??= (async () => {
      this.client = connect({
        endpoints: this.opts.members.map((m) => m.address),
        clientId: this.opts.clientId,
        deadlineMs: this.opts.deadlineMs,
        retryWrites: this.opts.retryWrites,
      });
      const s = (await this.client).session();
      this.current = s;
      return s;
    })();
    return this.sessionP;
  }

  /** The session index: the highest revision this worker has written or read. */
  get sessionIndex(): number {
    return this.current?.index ?? 0;
  }

  /** A Get sent to one member directly, with the session's index as min_index for read-your-writes. */
  async memberGet(member: Member, key: string, mode: ReadMode, minIndex: number): Promise<MemberGet> {
    const session = await this.session();
    const res = await unary<GetResponse__Output>(
      clientsFor(member.address).kv as unknown as GrpcClient,
      'Get',
      { key: Buffer.from(key), read: { mode: WIRE_MODE[mode], minIndex } },
      this.opts.deadlineMs,
    );
    const header = { memberId: res.header?.memberId ?? member.id, revision: Number(res.header?.revision ?? 0), leaderId: res.header?.leaderId ?? '' };
    if (header.revision > 0) session.include(header.revision);
    const kv = res.kv ? { value: res.kv.value.toString('utf8'), modRevision: Number(res.kv.modRevision) } : null;
    return { header, kv };
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).close();
  }
}

export type { ResponseHeader };
