// The one way every unary call of the client leaves: KV reads and writes,
// transactions, lease grants and revokes, Status/Members, leadership
// transfers and membership changes all go through an Operations object. It
// checks the call's options, links its cancellation to the client's close,
// gives writes their (clientId, sequence), runs the attempt chain
// (attempts.ts) and records what the answer's header says in the client's
// and the session's read-your-writes index.
import type { ReadOptions as WireReadOptions } from '@bellwether/proto';
import type { Answer, RunCall } from './attempts';
import { CancelToken } from './cancel';
import { BellwetherError, Cancelled, InvalidArgument } from './errors';
import type { Method, MethodRequest, MethodResponse } from './member';
import { type ChangeRequest, settledChange } from './membership';
import { type CallOptions, checkCallOptions, checkMode, checkRevision, checkUint32, type ReadMode, type ReadOptions } from './options';
import { type CallContext, type Operation, refusedAfterPossibleEffect } from './pipeline';
import { wireRead } from './requests';
import type { WriteSequencer } from './sequencer';
import { SessionState } from './session';

/** How often, and how far apart, a retried membership change reads the members to settle (see {@link Operations.change}). */
const SETTLE_LOOKS = 10;
const SETTLE_LOOK_EVERY_MS = 50;

/** The methods that are writes with an exactly-once pair. */
type WriteMethod = 'Put' | 'Delete' | 'Txn' | 'Grant' | 'Revoke';
/** The unary calls that are neither KV reads nor writes, sent like linearizable reads. */
type ClusterCall = 'Status' | 'Members' | 'TransferLeadership' | 'TimeToLive' | 'List';

/** What an Operations object needs of its client. */
interface OperationsDeps {
  readonly clientId: string;
  readonly sequencer: WriteSequencer;
  /** The attempt chain. */
  readonly run: RunCall;
  /** Fires on `client.close()`. */
  readonly closing: CancelToken;
  readonly deadlineMs: number;
  readonly readMode: ReadMode;
  readonly maxStalenessMs: number | undefined;
  /** The id of the cluster the client talks to, once known. */
  clusterId(): string | undefined;
}

/** A read's mode and the `min_index` its request carries. */
interface ReadSettings {
  readonly wire: WireReadOptions;
  readonly mode: ReadMode;
  readonly minIndex: number;
}

export class Operations {
  /** What the client has written or read outside any session: read-your-writes reads see at least this. */
  readonly seen = new SessionState();
  readonly #deps: OperationsDeps;

  constructor(deps: OperationsDeps) {
    this.#deps = deps;
  }

  get closed(): boolean {
    return this.#deps.closing.aborted;
  }

  clusterId(): string | undefined {
    return this.#deps.clusterId();
  }

  /**
   * A write with an exactly-once pair: the pair is fixed here, once per
   * logical write, and every attempt resends the same request.
   */
  async write<M extends WriteMethod>(method: M, request: MethodRequest<M>, options: CallOptions, session: SessionState | undefined): Promise<Answer<M>> {
    const parts = checkCallOptions(options, this.#deps.deadlineMs);
    if (this.closed) throw new Cancelled(`${method}: the client is closed`, { method });
    const linked = CancelToken.link([parts.signal, this.#deps.closing]);
    try {
      if (linked.token.aborted) throw cancelledBeforeSending(method, linked.token.reason);
      const sequencer = this.#deps.sequencer;
      const sequence = await sequencer.acquire(linked.token, parts.deadline, method);
      try {
        const clientId = this.#deps.clientId;
        const wire: { clientId?: string; sequence?: number | string | object; minUnackedSequence?: number | string | object } = request;
        wire.clientId = clientId;
        wire.sequence = sequence;
        const op: Operation<M> = {
          method,
          kind: 'write',
          request,
          clientId,
          sequence,
          // Every attempt tells the cluster which results it may forget.
          beforeAttempt: () => {
            wire.minUnackedSequence = sequencer.floor();
          },
        };
        return await this.#execute(op, { deadline: parts.deadline, signal: linked.token }, session);
      } finally {
        sequencer.release(sequence);
      }
    } finally {
      linked.dispose();
    }
  }

  /** A KV read under `read`'s mode (see {@link Operations.readSettings}). */
  read<M extends 'Get' | 'Range'>(method: M, request: MethodRequest<M>, options: CallOptions, read: ReadSettings, session: SessionState | undefined): Promise<Answer<M>> {
    const op: Operation<M> = { method, kind: 'read', request, readMode: read.mode, minIndex: read.minIndex };
    return this.#run(op, checkCallOptions(options, this.#deps.deadlineMs), session);
  }

  /** A cluster or lease call, routed like a linearizable read (the leader first). */
  call<M extends ClusterCall>(method: M, request: MethodRequest<M>, options: CallOptions): Promise<Answer<M>> {
    return this.#run({ method, kind: 'read', request }, checkCallOptions(options, this.#deps.deadlineMs), undefined);
  }

  /**
   * A membership change: routed to the leader like a write (following its
   * hints), with no session and no exactly-once pair. A retry refused because
   * an earlier attempt took effect settles by the member list.
   */
  async change<C extends ChangeRequest>(change: C, options: CallOptions): Promise<MethodResponse<C['method']>> {
    const parts = checkCallOptions(options, this.#deps.deadlineMs);
    try {
      return (await this.#run({ method: change.method, kind: 'write', request: change.request as MethodRequest<C['method']> }, parts, undefined)).response;
    } catch (err) {
      if (!(err instanceof BellwetherError) || !refusedAfterPossibleEffect.has(err)) throw err;
      // The member list a member answers is its applied one, which can trail
      // the configuration that refused the retry by a commit: look a few times.
      for (let look = 0; ; look++) {
        const now = await this.#run({ method: 'Members', kind: 'read', request: {} }, parts, undefined);
        const settled = settledChange(change, err, now.response.members);
        if (settled) return settled as MethodResponse<C['method']>;
        if (look === SETTLE_LOOKS - 1 || Date.now() + SETTLE_LOOK_EVERY_MS >= parts.deadline) throw err;
        await new Promise((r) => setTimeout(r, SETTLE_LOOK_EVERY_MS));
      }
    }
  }

  /** A read's mode and wire options: the client's defaults, this call's options, and the session's index for read-your-writes. */
  readSettings(options: ReadOptions, session: SessionState | undefined): ReadSettings {
    if (options === null || typeof options !== 'object') throw new InvalidArgument('options: must be an object');
    const mode = options.mode === undefined ? this.#deps.readMode : checkMode(options.mode, 'mode');
    let minIndex = 0;
    let bound: number | undefined;
    if (mode === 'read-your-writes') {
      const known = this.clusterId();
      if (session?.clusterId !== undefined && known !== undefined && session.clusterId !== known) {
        throw new InvalidArgument(`token: the session belongs to cluster ${session.clusterId}, but this client talks to cluster ${known}`);
      }
      const floor = options.minIndex === undefined ? 0 : checkRevision(options.minIndex, 'minIndex');
      minIndex = Math.max(floor, (session ?? this.seen).index);
    }
    if (mode === 'any-follower') {
      bound = options.maxStalenessMs === undefined ? this.#deps.maxStalenessMs : checkUint32(options.maxStalenessMs, 'maxStalenessMs');
    }
    return { wire: wireRead(mode, minIndex, bound), mode, minIndex };
  }

  async #run<M extends Method>(op: Operation<M>, parts: { deadline: number; signal: AbortSignal | undefined }, session: SessionState | undefined): Promise<Answer<M>> {
    if (this.closed) throw new Cancelled(`${op.method}: the client is closed`, { method: op.method });
    const linked = CancelToken.link([parts.signal, this.#deps.closing]);
    try {
      return await this.#execute(op, { deadline: parts.deadline, signal: linked.token }, session);
    } finally {
      linked.dispose();
    }
  }

  async #execute<M extends Method>(op: Operation<M>, ctx: CallContext, session: SessionState | undefined): Promise<Answer<M>> {
    const answer = await this.#deps.run(op, ctx);
    const header = answer.header;
    if (header) {
      if (op.kind === 'read' && session?.clusterId !== undefined && header.clusterId && header.clusterId !== session.clusterId) {
        // Checked late when the token was resumed before the client knew its cluster.
        throw new InvalidArgument(`token: the session belongs to cluster ${session.clusterId}, but cluster ${header.clusterId} answered`);
      }
      this.seen.observe(header);
      session?.observe(header);
    }
    return answer;
  }
}

function cancelledBeforeSending(method: string, reason: unknown): Cancelled {
  const why = reason instanceof Cancelled ? reason.message : 'cancelled by the caller';
  return new Cancelled(`${method}: ${why}`, { method, cause: reason });
}
