// The client: connect(), the BellwetherClient class, and the wiring of its
// parts. Each job lives in its own module: options (options.ts), the write
// sequencer (sequencer.ts), the key-value methods shared with sessions
// (kv.ts), sessions (session.ts), requests (requests.ts), result conversion
// (results.ts), the operations object every call goes through
// (operations.ts) and its attempt chain (attempts.ts), events (events.ts)
// and the cluster view (cluster-view.ts).
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { attemptChain } from './attempts';
import { type AuthOptions, checkAuth, TokenSource } from './auth';
import { AuthAdmin } from './auth-admin';
import { CancelToken } from './cancel';
import { clusterView } from './cluster-view';
import { BellwetherError, Cancelled, InvalidArgument, StatusCode } from './errors';
import { ClientEvents, type ClientEventListener, type ClientEventName } from './events';
import { CONSTRUCT, KeyValueCalls } from './kv';
import { checkTtl, Lease, type LeaseOptions } from './lease';
import { LeaseAdmin } from './lease-admin';
import { MemberPool } from './member';
import { type AddMemberOptions, checkMemberId } from './membership';
import { Operations } from './operations';
import { type CallOptions, checkClientOptions, type ClientOptions, makeLog, type SessionOptions } from './options';
import { acquireLock, Election, type LockHandle, type LockOptions } from './recipes';
import {
  type ClusterMember,
  type ClusterMembers,
  type ClusterView,
  type LeadershipTransfer,
  type MembershipChange,
  type MemberStatus,
  toClusterMembers,
  toLeadershipTransfer,
  toMembershipChange,
  toMemberStatus,
} from './results';
import { ClusterRetryPolicy, ClusterRouter } from './routing';
import { WriteSequencer } from './sequencer';
import { decodeToken, Session, SessionState } from './session';
import { channelCredentials } from './tls';
import { ClusterTracker } from './tracker';
import { trackerSettings } from './tracker-settings';
import { TxnBuilder } from './txn';
import { type WatchEvent, type WatchOptions, type WatchSelector, watchChanges } from './watch';

/** The parts of a client, made from its checked options before the client object exists. */
interface ClientParts {
  readonly clientId: string;
  readonly endpoints: readonly string[];
  readonly deadlineMs: number;
  readonly pool: MemberPool;
  readonly tracker: ClusterTracker;
  readonly operations: Operations;
  readonly closing: CancelToken;
  readonly tokens: TokenSource | undefined;
  readonly channel: { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions };
}

function assemble(options: ClientOptions): ClientParts {
  const settings = checkClientOptions(options);
  const clientId = settings.clientId ?? randomUUID();
  const log = makeLog(options.logger, clientId);
  // A generated id is new: start at 1. A given id may have been used by an
  // earlier process whose results the cluster still remembers: start past
  // anything it can have reached (fewer than 1024 writes per millisecond).
  const first = settings.clientId === undefined ? 1 : Date.now() * 1024;
  const sequencer = new WriteSequencer(first, settings.maxPendingWrites);
  const credentials = channelCredentials(options.tls, options.credentials);
  const auth: AuthOptions | undefined = checkAuth(options.auth);
  let channelOptions: grpc.ChannelOptions = options.channelOptions ?? {};
  let tokens: TokenSource | undefined;
  if (auth) {
    tokens = new TokenSource(settings.endpoints, credentials, channelOptions, auth, log);
    channelOptions = tokens.withInterceptor(channelOptions);
  }
  const pool = new MemberPool({ credentials, channelOptions, transport: settings.transport });
  const tracker = new ClusterTracker(
    pool,
    settings.endpoints,
    trackerSettings(settings.heartbeatIntervalMs, settings.heartbeatTimeoutMs, settings.refreshIntervalMs),
    log,
  );
  const { retryWrites, retryReads, attemptTimeoutMs, backoff } = settings;
  const closing = new CancelToken();
  const operations = new Operations({
    clientId,
    sequencer,
    run: attemptChain(new ClusterRouter(tracker, pool, settings.loadBalancing), new ClusterRetryPolicy({ retryWrites, retryReads, attemptTimeoutMs, backoff })),
    closing,
    deadlineMs: settings.deadlineMs,
    readMode: settings.readMode,
    maxStalenessMs: settings.maxStalenessMs,
    clusterId: () => tracker.clusterId,
  });
  return {
    clientId,
    endpoints: Object.freeze([...settings.endpoints]),
    deadlineMs: settings.deadlineMs,
    pool,
    tracker,
    operations,
    closing,
    tokens,
    channel: { credentials, options: channelOptions },
  };
}

/**
 * A connection to a Bellwether cluster. Make one with {@link connect}, share
 * it across your application, and {@link BellwetherClient.close} it at exit.
 *
 * The client finds every member from the seed endpoints, follows the leader
 * (WatchLeader streams, NOT_LEADER hints, probes), sends writes to it and
 * retries them across failovers with their `(clientId, sequence)` so each is
 * applied at most once, and spreads follower reads by read mode. Every method
 * takes an optional `signal` and `deadlineMs` (one deadline for the whole
 * call, retries included), and rejects only with subclasses of
 * `BellwetherError`.
 */
export class BellwetherClient extends KeyValueCalls {
  /** This client's id, carried by every write for exactly-once retries. */
  readonly clientId: string;
  /** The seed endpoints the client was given. */
  readonly endpoints: readonly string[];
  readonly #pool: MemberPool;
  readonly #tracker: ClusterTracker;
  readonly #ops: Operations;
  readonly #closing: CancelToken;
  readonly #deadlineMs: number;
  readonly #events = new ClientEvents();
  readonly #tokens: TokenSource | undefined;
  readonly #channel: { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions };
  #authAdmin: AuthAdmin | undefined;
  readonly #leases = new Set<Lease>();
  #leaseAdmin: LeaseAdmin | undefined;

  /** Not for applications: use {@link connect}. */
  constructor(options: ClientOptions, token: typeof CONSTRUCT) {
    if (token !== CONSTRUCT) throw new TypeError('use connect() to create a BellwetherClient');
    const parts = assemble(options);
    super(parts.operations, undefined);
    this.clientId = parts.clientId;
    this.endpoints = parts.endpoints;
    this.#pool = parts.pool;
    this.#tracker = parts.tracker;
    this.#ops = parts.operations;
    this.#closing = parts.closing;
    this.#deadlineMs = parts.deadlineMs;
    this.#tokens = parts.tokens;
    this.#channel = parts.channel;
    this.#tracker.subscribe((e) => this.#events.dispatch(e, this.#tracker));
    this.#tracker.start();
  }

  /** Whether {@link BellwetherClient.close} has been called. */
  get closed(): boolean {
    return this.#closing.aborted;
  }

  /**
   * Starts a transaction: `client.txn().if(cmp...).then(op...).else(op...).commit()`.
   * It is applied atomically at one revision, retried across failovers and
   * applied at most once (see {@link TxnBuilder}).
   */
  txn(): TxnBuilder {
    return new TxnBuilder((request, options) => this.#ops.write('Txn', request, options, undefined));
  }

  /**
   * Streams the changes to the selected keys, in revision order, from
   * `options.startRevision` (default: from now). Served by any member; the
   * iterator follows failovers and member loss by watching again from the
   * revision after the last one it delivered, so no change is missed or
   * repeated. Ends when `options.signal` fires or the loop breaks.
   * @throws {@link Compacted} when the start (or the resume point) is older
   * than the members' watch history; {@link InvalidArgument} for a bad
   * selector or option.
   * @example
   * ```ts
   * for await (const ev of client.watch({ prefix: 'articles/' }, { signal })) {
   *   console.log(ev.type, ev.kv.keyString, ev.revision);
   * }
   * ```
   */
  watch(selector: WatchSelector, options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    if (this.closed) throw new Cancelled('Watch: the client is closed', { method: 'Watch' });
    return watchChanges(
      {
        members: () =>
          this.#tracker
            .members()
            .filter((m) => m.usable)
            .sort((a, b) => (a.health === 'up' ? 0 : 1) - (b.health === 'up' ? 0 : 1))
            .map((m) => m.address),
        connect: (address) => this.#pool.get(address).watch(),
        changed: (token) => this.#tracker.changed(token),
        closing: this.#closing,
        observe: (header) => this.#ops.seen.observe(header),
      },
      selector,
      options,
    );
  }

  /**
   * Grants a lease of `ttlMs` and keeps it alive (keep-alives to the leader
   * every third of the TTL, across failovers) until `lease.revoke()` or
   * `client.close()`. Attach keys with `put(key, value, { lease })`. If it
   * cannot be kept alive for a whole TTL, or the cluster says it expired, it
   * emits `lost` (its keys are then, or soon, deleted).
   * @example
   * ```ts
   * const lease = await client.lease({ ttlMs: 5000 });
   * lease.on('lost', () => stopWork());
   * await client.put('workers/7', 'alive', { lease });
   * ```
   */
  async lease(options: LeaseOptions): Promise<Lease> {
    if (options === null || typeof options !== 'object') throw new InvalidArgument('options: must be { ttlMs }');
    const ttlMs = checkTtl(options.ttlMs);
    const sentAt = Date.now();
    const { response } = await this.#ops.write('Grant', { ttlMs }, options, undefined);
    return this.#keepLease(Number(response.id), ttlMs, sentAt);
  }

  /** Leases by id: revoke, time to live, list, keep-alives for a lease granted elsewhere (see {@link LeaseAdmin}). */
  get leases(): LeaseAdmin {
    this.#leaseAdmin ??= new LeaseAdmin({
      revoke: (id, options) => this.#ops.write('Revoke', { id }, options, undefined),
      timeToLive: (id, keys, options) => this.#ops.call('TimeToLive', { id, keys }, options),
      list: async (options) => (await this.#ops.call('List', {}, options)).response,
      leader: this.#leaderAddress,
      keepAliveStream: this.#keepAliveStream,
      adopt: (id, ttlMs, validUntil) => this.#keepLease(id, ttlMs, validUntil - ttlMs),
      defaultDeadlineMs: this.#deadlineMs,
    });
    return this.#leaseAdmin;
  }

  readonly #leaderAddress = (): string | undefined => this.#tracker.leaderMember()?.address;
  readonly #keepAliveStream = (address: string) => this.#pool.get(address).keepAlive();

  /** Keeps lease `id` alive from this client; `confirmedFrom` + `ttlMs` is when it surely still holds. */
  #keepLease(id: number, ttlMs: number, confirmedFrom: number): Lease {
    const lease = new Lease(id, ttlMs, confirmedFrom, {
      leader: this.#leaderAddress,
      keepAlive: this.#keepAliveStream,
      revoke: async (id) => {
        try {
          await this.#ops.write('Revoke', { id }, {}, undefined);
        } catch (err) {
          // Already expired: its keys are gone, which is what revoking wants.
          if (!(err instanceof BellwetherError && err.code === StatusCode.NOT_FOUND)) throw err;
        } finally {
          this.#leases.delete(lease);
        }
      },
    });
    this.#leases.add(lease);
    lease.on('lost', () => this.#leases.delete(lease));
    return lease;
  }

  /**
   * Acquires the lock `name`, waiting in line (revision order) behind earlier
   * contenders. The lock is held through a lease of `ttlMs` (default 10 s): if
   * the holder dies, the lock passes on within about that time.
   * `revision` is a fencing token (see {@link LockHandle}).
   * @example
   * ```ts
   * const lock = await client.lock('jobs/nightly', { ttlMs: 5000 });
   * try { await runJob(lock.revision); } finally { await lock.release(); }
   * ```
   */
  lock(name: string, options: LockOptions = {}): Promise<LockHandle> {
    return acquireLock(this, name, options);
  }

  /** A leader election named `name` (see {@link Election}). */
  election(name: string): Election {
    return new Election(this, name);
  }

  /**
   * Describes one member (Cluster.Status): the leader when one is known,
   * else another reachable member. Its role, term, the leader it knows of
   * and how far its log and state reach.
   */
  async status(options: CallOptions = {}): Promise<MemberStatus> {
    return toMemberStatus((await this.#ops.call('Status', {}, options)).response);
  }

  /** Lists the cluster's members as the leader (or another reachable member) knows them (Cluster.Members). */
  async members(options: CallOptions = {}): Promise<ClusterMembers> {
    return toClusterMembers((await this.#ops.call('Members', {}, options)).response);
  }

  /**
   * Hands leadership to the member `targetId` (Cluster.TransferLeadership),
   * or, without one, to the voter whose log is most up to date, and resolves
   * once it leads. Writes in flight meanwhile are not failed: the client
   * follows the new leader by itself. Use it before taking the leader down
   * for maintenance (a SIGTERM does the same on its own).
   *
   * Without a target, a call retried after a lost reply may move leadership
   * once more; name the target to make retries exact.
   * @throws {@link InvalidArgument} for a malformed id; a
   * {@link BellwetherError} with code NOT_FOUND when `targetId` is not a
   * member; {@link FailedPrecondition} when the target is a learner or no
   * other voter is reachable; {@link Aborted} when the target did not take
   * over in time (it is behind or unreachable; leadership may have stayed).
   */
  async transferLeadership(targetId?: string, options: CallOptions = {}): Promise<LeadershipTransfer> {
    if (targetId !== undefined && (typeof targetId !== 'string' || targetId === '')) {
      throw new InvalidArgument('targetId: must be a non-empty member id, or omitted for the most up-to-date voter');
    }
    return toLeadershipTransfer((await this.#ops.call('TransferLeadership', { targetId: targetId ?? '' }, options)).response);
  }

  /**
   * Adds a member to the cluster (Cluster.AddMember, sent to the leader):
   * as a learner unless `learner: false`. Then start the new node with an
   * empty data dir and `--initial-cluster-state existing`; it catches up from
   * the leader, and {@link BellwetherClient.promoteMember} makes it a voter.
   * A change retried after a lost reply settles by the member list: a retry
   * refused because the first attempt took effect (the member is there at
   * that address) resolves as a success, and so do promote and remove.
   * @throws {@link AlreadyExists} when the id or the address is already a member's.
   * @throws {@link FailedPrecondition} when adding a voter would leave the
   * cluster without a quorum of members that are up.
   * @throws {@link InvalidArgument} for a malformed id or address.
   */
  async addMember(id: string, peerAddress: string, options: AddMemberOptions = {}): Promise<MembershipChange> {
    const learner = options?.learner ?? true;
    if (typeof learner !== 'boolean') throw new InvalidArgument('learner: must be a boolean');
    return toMembershipChange(await this.#ops.change({ method: 'AddMember', request: { id: checkMemberId(id), peerAddress: String(peerAddress), learner: { value: learner } } }, options));
  }

  /**
   * Makes a learner a voter (Cluster.PromoteMember, sent to the leader).
   * @throws {@link FailedPrecondition} while the learner has not connected or
   * is behind the leader by more than the server's bound (retry once it has
   * caught up; {@link BellwetherClient.status} on the leader shows its lag).
   * @throws {@link NotFound} for an unknown id.
   */
  async promoteMember(id: string, options: CallOptions = {}): Promise<MembershipChange> {
    return toMembershipChange(await this.#ops.change({ method: 'PromoteMember', request: { id: checkMemberId(id) } }, options));
  }

  /**
   * Removes a member (Cluster.RemoveMember, sent to the leader). The leader
   * may remove itself: it hands leadership over first. Resolves with the
   * members after the change. Stop the removed node's process afterwards.
   * @throws {@link NotFound} for an unknown id.
   * @throws {@link FailedPrecondition} when the remaining voters that are up
   * could not form a quorum, or for the last voter.
   */
  async removeMember(id: string, options: CallOptions = {}): Promise<readonly ClusterMember[]> {
    const res = await this.#ops.change({ method: 'RemoveMember', request: { id: checkMemberId(id) } }, options);
    return toMembershipChange({ members: res.members }).members;
  }

  /**
   * Starts a read-your-writes scope, or resumes an exported one with
   * `{ token }` (see {@link Session}).
   * @throws {@link InvalidArgument} for a malformed token, or one from
   * another cluster than the one this client talks to.
   */
  session(options: SessionOptions = {}): Session {
    if (options === null || typeof options !== 'object') throw new InvalidArgument('options: must be an object');
    const state = new SessionState();
    if (options.token !== undefined) {
      const { index, clusterId } = decodeToken(options.token);
      const known = this.#tracker.clusterId;
      if (clusterId !== undefined && known !== undefined && clusterId !== known) {
        throw new InvalidArgument(`token: the session belongs to cluster ${clusterId}, but this client talks to cluster ${known}`);
      }
      state.advance(index);
      state.clusterId = clusterId;
    }
    return new Session(state, this.#ops, CONSTRUCT);
  }

  /**
   * Calls `listener` on every `event`: `'leaderChange'`, `'memberUp'`,
   * `'memberDown'`. Listeners run synchronously as the client learns the
   * news; an exception in one is logged and does not affect the client.
   */
  on<E extends ClientEventName>(event: E, listener: ClientEventListener<E>): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Like {@link BellwetherClient.on}, for the next event only. */
  once<E extends ClientEventName>(event: E, listener: ClientEventListener<E>): this {
    const wrapper: ClientEventListener<E> = (e) => {
      this.off(event, wrapper);
      listener(e);
    };
    return this.on(event, wrapper);
  }

  /** Removes a listener added with {@link BellwetherClient.on}. */
  off<E extends ClientEventName>(event: E, listener: ClientEventListener<E>): this {
    this.#events.off(event, listener);
    return this;
  }

  /**
   * The client's current view of the cluster: the leader it follows, and per
   * member whether it answers, when it last did, how far it has applied,
   * its round-trip time and the calls in flight to it. A snapshot: call again
   * for fresh numbers.
   */
  cluster(): ClusterView {
    return clusterView(this.#tracker);
  }

  /**
   * Closes every connection and stops tracking the cluster. Calls in flight
   * reject with {@link Cancelled}; later calls reject at once. Safe to call
   * twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.#closing.abort(new Cancelled('the client was closed'));
    for (const lease of this.#leases) lease.close();
    this.#tracker.stop();
    this.#pool.close();
    this.#tokens?.close();
    this.#authAdmin?.close();
    this.#events.clear();
  }

  /** Users, roles and permissions (`bellwether.auth.v1.Auth`); changes need the root role once auth is enabled. */
  get auth(): AuthAdmin {
    this.#authAdmin ??= new AuthAdmin(this.endpoints, this.#channel.credentials, this.#channel.options);
    return this.#authAdmin;
  }

  /** Resolves once the client holds a token (at once without `auth`); rejects with the typed error of a failed login. */
  async authenticated(): Promise<void> {
    await this.#tokens?.token();
  }
}

/**
 * Creates a client for the cluster reachable at `options.endpoints`.
 *
 * This resolves at once, without waiting for the cluster: discovery starts
 * in the background (every seed is asked for the member list and watched for
 * the leader), and calls made meanwhile wait for it within their deadline.
 * Seeds may be any subset of the members; unreachable ones are skipped.
 *
 * @throws {@link InvalidArgument} for bad options.
 * @example
 * ```ts
 * const client = await connect({ endpoints: ['127.0.0.1:7001'] });
 * await client.put('greeting', 'hello');
 * console.log((await client.get('greeting')).valueString);
 * await client.close();
 * ```
 */
export async function connect(options: ClientOptions): Promise<BellwetherClient> {
  if (options === null || typeof options !== 'object') throw new InvalidArgument('options: must be an object');
  const client = new BellwetherClient(options, CONSTRUCT);
  try {
    // A wrong password fails here, not on the first call.
    await client.authenticated();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

