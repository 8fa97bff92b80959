import type {
  AddMemberRequest,
  AddMemberResponse__Output,
  ClusterClient,
  PromoteMemberRequest,
  PromoteMemberResponse__Output,
  RemoveMemberRequest,
  RemoveMemberResponse__Output,
  DeleteRequest,
  DeleteResponse__Output,
  GetRequest,
  GetResponse__Output,
  KVClient,
  LeaderEvent__Output,
  LeaseClient,
  LeaseGrantRequest,
  LeaseGrantResponse__Output,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse__Output,
  LeaseListRequest,
  LeaseListResponse__Output,
  LeaseRevokeRequest,
  LeaseRevokeResponse__Output,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse__Output,
  MembersRequest,
  MembersResponse__Output,
  PublicGrpc,
  PutRequest,
  PutResponse__Output,
  RangeRequest,
  RangeResponse__Output,
  StatusRequest,
  StatusResponse__Output,
  TransferLeadershipRequest,
  TransferLeadershipResponse__Output,
  TxnRequest,
  TxnResponse__Output,
  WatchRequest,
  WatchResponse__Output,
} from '@bellwether/proto';
import { loadPublicApi } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import type { CancelToken } from './cancel';
import { hostAndPort, proxied, type TcpReach, tcpReach } from './reachability';
import { MemberStream, type StreamLimits, StreamUnsupported } from './stream';

/** The receive window on a member's channel: a large batch of replies arrives without a WINDOW_UPDATE round trip. */
const STREAM_FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024;

interface Methods {
  Put: [PutRequest, PutResponse__Output];
  Get: [GetRequest, GetResponse__Output];
  Delete: [DeleteRequest, DeleteResponse__Output];
  Range: [RangeRequest, RangeResponse__Output];
  Txn: [TxnRequest, TxnResponse__Output];
  Grant: [LeaseGrantRequest, LeaseGrantResponse__Output];
  Revoke: [LeaseRevokeRequest, LeaseRevokeResponse__Output];
  TimeToLive: [LeaseTimeToLiveRequest, LeaseTimeToLiveResponse__Output];
  List: [LeaseListRequest, LeaseListResponse__Output];
  Status: [StatusRequest, StatusResponse__Output];
  Members: [MembersRequest, MembersResponse__Output];
  TransferLeadership: [TransferLeadershipRequest, TransferLeadershipResponse__Output];
  AddMember: [AddMemberRequest, AddMemberResponse__Output];
  PromoteMember: [PromoteMemberRequest, PromoteMemberResponse__Output];
  RemoveMember: [RemoveMemberRequest, RemoveMemberResponse__Output];
}

/** The unary methods the client calls (KV and Cluster services). */
export type Method = keyof Methods;
/** The KV methods, which `KV.Stream` can carry. */
export type KvMethod = 'Put' | 'Get' | 'Delete' | 'Range' | 'Txn';
/** The request message of a method. */
export type MethodRequest<M extends Method> = Methods[M][0];
/** The response message of a method. */
export type MethodResponse<M extends Method> = Methods[M][1];

const SERVICE_OF: Record<Method, 'kv' | 'cluster' | 'lease'> = {
  Put: 'kv',
  Get: 'kv',
  Delete: 'kv',
  Range: 'kv',
  Txn: 'kv',
  Grant: 'lease',
  Revoke: 'lease',
  TimeToLive: 'lease',
  List: 'lease',
  Status: 'cluster',
  Members: 'cluster',
  TransferLeadership: 'cluster',
  AddMember: 'cluster',
  PromoteMember: 'cluster',
  RemoveMember: 'cluster',
};

/**
 * How KV calls travel: `'stream'` multiplexes them over one long-lived
 * `KV.Stream` per member (falling back to unary for a member that does not
 * implement it); `'unary'` makes one RPC per call.
 */
export type Transport = 'stream' | 'unary';

/** How to connect to members; shared by every member of a client. */
interface ChannelSettings {
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
  /** Default `'stream'`. */
  transport?: Transport;
  /** Bounds of each member's stream (tests lower them). */
  streamLimits?: Partial<StreamLimits>;
}

/**
 * The largest stream message the client accepts. The server sends the
 * replies of one event-loop turn as one message, which may exceed grpc-js's
 * default 4 MiB although each reply alone fits.
 */
const MAX_STREAM_MESSAGE_BYTES = 256 * 1024 * 1024;

/**
 * HTTP/2 keepalive: a PING every {@link KEEPALIVE_TIME_MS} on every open
 * connection, calls or not, and the connection is closed when the answer
 * takes longer than {@link KEEPALIVE_TIMEOUT_MS}. That is how an idle client
 * notices a member that went silent (SIGSTOP, a partition) without asking
 * the member anything, and it keeps idle connections alive through proxies
 * and NATs that drop quiet flows after a minute or more. A PING is answered
 * by the member's HTTP/2 layer (no gRPC call): one per second per 10
 * connections.
 */
export const KEEPALIVE_TIME_MS = 10_000;
export const KEEPALIVE_TIMEOUT_MS = 10_000;

/**
 * grpc-js retries a connection that failed on its own, whether or not a call
 * waits on it: after 1 s, then every 2 s at most (each with 20% jitter). (The
 * tracker probes a member it knew over plain TCP first, so a member's channel
 * gets there only when a call failed on it; a restarted member is used again
 * once a probe finds it up.) The first retry is not sooner because after a leader kill every client of a fleet retries the
 * dead member at once, and each attempt costs the client about 0.5 ms of
 * CPU: from 100 ms the clients of a 1,000-client fleet made ~7,800 attempts
 * in the 6 s after a kill, from 1 s ~4,000, and the fleet recovered sooner
 * (docs/fleet.md). Keepalive as above; the caller's channelOptions win.
 */
const DEFAULT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 1000,
  'grpc.max_reconnect_backoff_ms': 2000,
  'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  'grpc.keepalive_permit_without_calls': 1,
};

let api: PublicGrpc | undefined;
function publicApi(): PublicGrpc {
  api ??= loadPublicApi();
  return api;
}

/** One attempt of a unary call: where it stops and who may stop it. */
export interface AttemptOptions {
  /** Absolute deadline, in `Date.now()` milliseconds. */
  deadline: number;
  /** Cancels the attempt when it fires. */
  signal: CancelToken;
  /** Called once the request has been handed to the transport. */
  onSent?: () => void;
}

/**
 * One cluster member as the client sees it: a single gRPC channel to its
 * address, shared by the KV and Cluster stubs. Routing (leader tracking,
 * follower reads) chooses among these; this class only knows how to call.
 */
export class MemberConnection {
  /** The member's `host:port`, as the client dials it. */
  readonly address: string;
  /** The member's id once a response header has named it. */
  memberId: string | undefined;
  readonly #kv: KVClient;
  #cluster: ClusterClient | undefined;
  #lease: LeaseClient | undefined;
  readonly #settings: ChannelSettings;
  #stream: MemberStream | undefined;
  #closed = false;

  constructor(address: string, settings: ChannelSettings) {
    this.address = address;
    this.#settings = settings;
    this.#kv = new (publicApi().bellwether.kv.v1.KV)(address, settings.credentials, settings.channelOptions);
  }

  /** The member's KV.Stream (created on first use; `undefined` with the unary transport). */
  get stream(): MemberStream | undefined {
    if (this.#settings.transport === 'unary' || this.#closed) return undefined;
    this.#stream ??= new MemberStream(this.address, () => this.#kv.Stream(), this.#settings.streamLimits);
    return this.#stream;
  }

  /**
   * Makes one call the client's way: KV calls over the member's stream (or
   * unary, with the unary transport or for a member without KV.Stream),
   * Cluster calls unary. Settles exactly as {@link MemberConnection.unary}.
   */
  async call<M extends Method>(method: M, request: MethodRequest<M>, opts: AttemptOptions): Promise<MethodResponse<M>> {
    const stream = SERVICE_OF[method] === 'kv' ? this.stream : undefined;
    if (stream === undefined || stream.unsupported) return this.unary(method, request, opts);
    try {
      return (await stream.call(method as KvMethod, request as MethodRequest<KvMethod>, opts)) as MethodResponse<M>;
    } catch (err) {
      // An older server: nothing sent on its stream ran; this call goes unary.
      if (err instanceof StreamUnsupported) return this.unary(method, request, opts);
      throw err;
    }
  }

  /** The Cluster service stub on the same channel (for the leader-tracking layer). */
  get cluster(): ClusterClient {
    this.#cluster ??= new (publicApi().bellwether.cluster.v1.Cluster)(this.address, this.#settings.credentials, {
      ...this.#settings.channelOptions,
      channelOverride: this.#kv.getChannel(),
    });
    return this.#cluster;
  }

  /** Whether the channel has an open (READY) connection now; asking opens none. */
  get connected(): boolean {
    return !this.#closed && this.#kv.getChannel().getConnectivityState(false) === grpc.connectivityState.READY;
  }

  /** Whether the member's KV.Stream is open now. */
  get streamOpen(): boolean {
    return this.#stream?.isOpen ?? false;
  }

  /** The Lease service stub on the same channel. */
  get lease(): LeaseClient {
    this.#lease ??= new (publicApi().bellwether.lease.v1.Lease)(this.address, this.#settings.credentials, {
      ...this.#settings.channelOptions,
      channelOverride: this.#kv.getChannel(),
    });
    return this.#lease;
  }

  /** Opens a `Lease.KeepAlive` stream (no deadline: it lives until cancelled). */
  keepAlive(): grpc.ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse__Output> {
    return this.lease.KeepAlive();
  }

  /** Whether {@link MemberConnection.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Makes one unary call (KV or Cluster service). Resolves with the response, rejects with the raw
   * grpc-js error (the caller maps it). Honours the deadline and the signal.
   */
  unary<M extends Method>(method: M, request: MethodRequest<M>, opts: AttemptOptions): Promise<MethodResponse<M>> {
    return new Promise((resolve, reject) => {
      if (opts.signal.aborted) {
        reject(Object.assign(new Error('Cancelled before sending'), { code: grpc.status.CANCELLED, details: 'Cancelled before sending' }));
        return;
      }
      const callOptions: grpc.CallOptions = { deadline: new Date(opts.deadline) };
      let call: grpc.ClientUnaryCall | undefined;
      const off = opts.signal.onAbort(() => call?.cancel());
      const callback: grpc.requestCallback<MethodResponse<M>> = (err, value) => {
        off();
        if (err) reject(err);
        else if (value === undefined) reject(Object.assign(new Error('empty response'), { code: grpc.status.INTERNAL, details: 'empty response' }));
        else resolve(value);
      };
      // The stub's overloads differ only in message types; call it through one signature.
      const service = SERVICE_OF[method];
      const stub: grpc.Client = service === 'kv' ? this.#kv : service === 'lease' ? this.lease : this.cluster;
      const fn = (stub as unknown as Record<M, unknown>)[method] as (
        this: grpc.Client,
        req: MethodRequest<M>,
        options: grpc.CallOptions,
        cb: grpc.requestCallback<MethodResponse<M>>,
      ) => grpc.ClientUnaryCall;
      call = fn.call(stub, request, callOptions, callback);
      opts.onSent?.();
    });
  }

  /**
   * Opens a `Cluster.WatchLeader` stream (no deadline: it lives until
   * cancelled). The caller listens for `data`, `error` and `end` and cancels it.
   */
  watchLeader(): grpc.ClientReadableStream<LeaderEvent__Output> {
    return this.cluster.WatchLeader({});
  }

  /**
   * Calls `listener` each time the member's connection, once READY, stops
   * being READY (the member closed it, it died, or a keepalive PING went
   * unanswered). Watching opens no connection. Returns the unsubscribe.
   */
  onConnectionLost(listener: () => void): () => void {
    let active = true;
    const channel = this.#kv.getChannel();
    const follow = (state: grpc.connectivityState) => {
      if (!active || this.#closed || state === grpc.connectivityState.SHUTDOWN) return;
      try {
        channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, () => {
          if (!active || this.#closed) return;
          const next = channel.getConnectivityState(false);
          if (state === grpc.connectivityState.READY && next !== grpc.connectivityState.READY) listener();
          follow(next);
        });
      } catch {
        // The channel was shut down meanwhile.
      }
    };
    follow(channel.getConnectivityState(false));
    return () => {
      active = false;
    };
  }

  /** Opens a `KV.Watch` stream (no deadline: it lives until cancelled). */
  watch(): grpc.ClientDuplexStream<WatchRequest, WatchResponse__Output> {
    return this.#kv.Watch();
  }

  /** Closes the channel. Calls still in flight are cancelled by the client beforehand. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream?.close();
    this.#kv.close();
  }
}

/**
 * The client's members by address: one {@link MemberConnection} (one
 * channel) per address, created on first use and kept until `close()`.
 */
export class MemberPool {
  readonly #members = new Map<string, MemberConnection>();
  readonly #settings: ChannelSettings;
  readonly #proxied: boolean;

  constructor(settings: ChannelSettings) {
    // grpc-js backs off up to 120 s between reconnects by default; a member
    // that restarts must be usable again within a couple of seconds.
    // The server answers the calls of one event-loop turn in one stream
    // message, which may exceed the 4 MiB grpc-js receives by default.
    const streamOptions: grpc.ChannelOptions = settings.transport === 'unary' ? {} : { 'grpc.max_receive_message_length': MAX_STREAM_MESSAGE_BYTES, 'grpc-node.flow_control_window': STREAM_FLOW_CONTROL_WINDOW_BYTES };
    this.#settings = { ...settings, channelOptions: { ...DEFAULT_CHANNEL_OPTIONS, ...streamOptions, ...settings.channelOptions } };
    this.#proxied = proxied(this.#settings.channelOptions);
  }

  /**
   * Whether a Status probe of `address` is worth sending (reachability.ts):
   * open when its channel is connected, when the address is not `host:port`
   * or a proxy is used; otherwise a TCP connect bounded by `timeoutMs` says.
   */
  reach(address: string, timeoutMs: number): Promise<TcpReach> {
    const target = hostAndPort(address);
    if (this.#members.get(address)?.connected || !target || this.#proxied) return Promise.resolve({ kind: 'open' });
    return tcpReach(target.host, target.port, timeoutMs);
  }

  /** The connection to `address`, creating it if needed. */
  get(address: string): MemberConnection {
    let m = this.#members.get(address);
    if (!m || m.closed) {
      m = new MemberConnection(address, this.#settings);
      this.#members.set(address, m);
    }
    return m;
  }

  /** The connection to `address` if one was made (creates none). */
  peek(address: string): MemberConnection | undefined {
    return this.#members.get(address);
  }

  /** Every connection made so far. */
  all(): MemberConnection[] {
    return [...this.#members.values()];
  }

  /** Closes and forgets the connection to `address` (a member that left the cluster). */
  drop(address: string): void {
    this.#members.get(address)?.close();
    this.#members.delete(address);
  }

  /** Closes every channel. */
  close(): void {
    for (const m of this.#members.values()) m.close();
    this.#members.clear();
  }
}
