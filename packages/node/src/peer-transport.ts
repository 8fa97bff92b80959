import {
  CLUSTER_ID_METADATA,
  loadPeerApi,
  MEMBER_ID_METADATA,
  type MessageBatch,
  type MessageBatch__Output,
  type ObserveResponse,
  type ObserveResponse__Output,
  type RaftClient,
  type RaftHandlers,
  type SnapshotChunk__Output,
} from '@bellwether/proto';
import type { Message, SnapshotMsg } from '@bellwether/raft';
import type { SnapshotReader } from '@bellwether/store';
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from 'pino';
import { type Admission, EXPECTED_INCARNATION_METADATA, INCARNATION_METADATA, isCounted } from './incarnation';
import type { PeerMessageCounts } from './io-counters';
import { fromWire, toWire } from './peer-codec';
import { checkBatchSize, checkPeerMessage } from './peer-validate';
import { certificateNames } from './tls';
import type { RoundTripTracker } from './peer-rtt';
import { snapshotHeader, streamSnapshot } from './snapshot-transfer';
import type { PeerTransport } from './replica';

/** Largest peer message accepted or sent: a Ready's appends to one peer (Raft caps each at ~1 MiB, 64 in flight) with room to spare. */
export const PEER_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
/** Metadata on peer calls (both ways): the sender's address for clients, so members can point clients at each other when peers have a port of their own. */
export const CLIENT_ADDRESS_METADATA = 'bellwether-client-address';
/** Bytes queued on one stream before further messages to that peer are dropped (Raft resends). */
export const MAX_STREAM_BUFFER_BYTES = 32 * 1024 * 1024;
/**
 * Raft's window of entry bytes in flight to one follower. Kept under
 * {@link MAX_STREAM_BUFFER_BYTES}: with a larger window, a follower slower
 * than the leader (catching up, or under large values) filled the stream
 * past the bound, its appends were dropped, and Raft went back to probing and
 * sent (and read back from disk) the whole window again, over and over.
 */
export const PEER_INFLIGHT_BYTES = MAX_STREAM_BUFFER_BYTES / 2;
/** HTTP/2 receive windows on peer and client connections: a batch of entries or calls arrives without waiting on WINDOW_UPDATEs. */
export const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024;
const RECONNECT_BACKOFF_MS = { min: 50, max: 1000 };
/** How recent a peer's presented incarnation must be for the leader to record it. */
const PRESENTED_FRESH_MS = 2000;

type Duplex = grpc.ClientDuplexStream<MessageBatch, MessageBatch__Output> | grpc.ServerDuplexStream<MessageBatch__Output, MessageBatch>;

interface Outbound {
  address: string;
  client: RaftClient;
  stream: grpc.ClientDuplexStream<MessageBatch, MessageBatch__Output> | undefined;
  retryAtMs: number;
  backoffMs: number;
  refusedLogged: boolean;
  /** The incarnation the peer's process presented when it answered this stream. */
  incarnation: string | undefined;
}

/** A snapshot arriving from the leader: the message to step once its state is installed. */
export interface IncomingSnapshot {
  message: Message;
  appliedIndex: number;
  members: Buffer;
  chunks: AsyncIterable<Uint8Array>;
}

export interface GrpcPeerTransportOptions {
  memberId: string;
  clusterId: string;
  /** Current address of a member, or undefined if it is not one. */
  addressOf(id: string): string | undefined;
  /** Delivers a message from a peer to the local Raft. */
  deliver(msg: Message): void;
  /** Tells Raft a peer could not be reached, so it stops pipelining to it. */
  unreachable(id: string): void;
  /** Installs a leader's snapshot; resolves true once it is installed (or the local state is newer). */
  installSnapshot(snapshot: IncomingSnapshot): Promise<boolean>;
  /** A MessageBatch is cut to this many bytes (what the receiver accepts in one message, less framing). */
  maxBatchBytes: number;
  log: Logger;
  /** How to dial peer `to` (default: plaintext). */
  credentials?: (to: string) => grpc.ChannelCredentials;
  /** When set, a caller must present a TLS certificate naming the member id it claims. */
  requirePeerCertificate?: boolean;
  /** This member's client address, sent to peers; and what to do with theirs. */
  clientAddress?: () => string;
  learnClientAddress?: (id: string, address: string) => void;
  /** Counts messages sent and received (for the metrics). */
  counts?: PeerMessageCounts;
  /** Measures heartbeat round trips (for the metrics). */
  roundTrips?: RoundTripTracker;
  /** This process's incarnation (its data dir's), presented to every peer. */
  incarnation?: string;
  /** How a peer presenting `incarnation` is treated (incarnation.ts); everything counts when absent. */
  admit?(from: string, incarnation: string): Admission;
  /** Why this process must refuse a caller that expects `expected` as its incarnation, or undefined. */
  checkExpected?(from: string, expected: string): string | undefined;
  /** The incarnation recorded for a member (sent to it, so a wiped member learns it is refused). */
  recordedIncarnation?(id: string): string | undefined;
  /** What this member says about itself to a peer's dashboard (Raft.Observe). */
  observe?(): Promise<ObserveResponse>;
}

/**
 * Raft messages over one long-lived bidirectional `Replicate` stream per pair
 * of members. A member sends to a peer on the stream that peer opened to it
 * when there is one (so a follower's acks go back on its leader's stream),
 * else on a stream it opens itself. All messages for one peer produced by one
 * Ready go out as one MessageBatch.
 */
export class GrpcPeerTransport implements PeerTransport {
  private readonly outbound = new Map<string, Outbound>();
  private readonly inbound = new Map<string, grpc.ServerDuplexStream<MessageBatch__Output, MessageBatch>>();
  private readonly lastHeardMs = new Map<string, number>();
  /** The incarnation each admitted peer presented last (and when), for the leader to record. */
  private readonly presented = new Map<string, { incarnation: string; atMs: number }>();
  /** Refusals already logged, by peer and incarnation (peers retry every second). */
  private readonly refusalsLogged = new Set<string>();
  /** Per stream: bytes written and not yet taken by HTTP/2. */
  private readonly queuedBytes = new WeakMap<Duplex, number>();
  private readonly api = loadPeerApi();
  private closed = false;

  constructor(private readonly opts: GrpcPeerTransportOptions) {}

  /**
   * The incarnation `id` presented in the last few seconds; undefined if none.
   * Only recent ones: a member removed and added again under the same id must
   * be recorded as the process that answers now, not one that answered before.
   */
  presentedIncarnation(id: string, now = Date.now()): string | undefined {
    const p = this.presented.get(id);
    return p && now - p.atMs <= PRESENTED_FRESH_MS ? p.incarnation : undefined;
  }

  /**
   * Forgets what `id` presented: called when its member record is made anew
   * or dropped. A member removed and added back within the freshness window
   * would otherwise be recorded as the removed process, and the new one
   * refused for good.
   */
  forgetPresented(id: string): void {
    this.presented.delete(id);
  }

  private admission(from: string, incarnation: string): Admission {
    const a = this.opts.admit?.(from, incarnation) ?? { kind: 'count' };
    if (a.kind === 'refuse') {
      this.presented.delete(from);
      const key = `${from}/${incarnation}`;
      if (!this.refusalsLogged.has(key)) {
        this.refusalsLogged.add(key);
        this.opts.log.error({ peer: from, incarnation }, a.reason);
      }
    } else if (incarnation) this.presented.set(from, { incarnation, atMs: Date.now() });
    return a;
  }

  /** Milliseconds since a message from `id` last arrived; undefined if never. */
  lastContactMs(id: string, now = Date.now()): number | undefined {
    const at = this.lastHeardMs.get(id);
    return at === undefined ? undefined : now - at;
  }

  connectedTo(id: string): boolean {
    if (this.inbound.has(id)) return true;
    // A stream still connecting (to a peer that may be gone) does not count until the peer answered it.
    const p = this.outbound.get(id);
    return p?.stream !== undefined && p.incarnation !== undefined;
  }

  send(messages: Message[]): void {
    if (this.closed) return;
    const byPeer = new Map<string, Message[]>();
    for (const m of messages) {
      const list = byPeer.get(m.to);
      if (list) list.push(m);
      else byPeer.set(m.to, [m]);
    }
    for (const [to, list] of byPeer) {
      const stream = this.inbound.get(to) ?? this.outboundStream(to);
      if (!stream) {
        this.opts.unreachable(to);
        continue;
      }
      if ((this.queuedBytes.get(stream) ?? 0) > MAX_STREAM_BUFFER_BYTES) {
        // The peer is not reading (paused or overloaded): bound our memory.
        this.opts.counts?.countDropped(list);
        this.opts.unreachable(to);
        continue;
      }
      let batches = 0;
      for (const batch of splitByBytes(list, this.opts.maxBatchBytes)) {
        this.write(stream, batch);
        batches++;
      }
      this.opts.counts?.countSent(list, batches);
      this.opts.roundTrips?.sent(to, list);
    }
  }

  /**
   * Writes one batch, counting its bytes as queued on `stream` until HTTP/2
   * has taken them. (A gRPC stream is in object mode: its writableLength
   * counts messages, not bytes, so it cannot bound a peer that stopped reading.)
   */
  private write(stream: Duplex, batch: Message[]): void {
    const bytes = batch.reduce((n, m) => n + messageBytes(m), 0);
    this.queuedBytes.set(stream, (this.queuedBytes.get(stream) ?? 0) + bytes);
    stream.write({ messages: batch.map(toWire) }, () => this.queuedBytes.set(stream, (this.queuedBytes.get(stream) ?? 0) - bytes));
  }

  /** Asks peer `to` about itself (Raft.Observe), over the peer connection. */
  observePeer(to: string, deadlineMs: number): Promise<ObserveResponse__Output> {
    const peer = this.peer(to);
    if (!peer) return Promise.reject(new Error(`${to} is not a member`));
    return new Promise((resolve, reject) => {
      peer.client.Observe({}, this.peerMetadata(to), { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err || !res) reject(err ?? new Error('no answer'));
        else resolve(res);
      });
    });
  }

  /** The gRPC client for a peer, made (or remade, if its address changed) on demand. */
  private peer(to: string): Outbound | undefined {
    const address = this.opts.addressOf(to);
    if (!address) return undefined;
    let peer = this.outbound.get(to);
    if (peer && peer.address !== address) {
      peer.stream?.cancel();
      peer.client.close();
      peer = undefined;
    }
    if (!peer) {
      const client = new this.api.bellwether.raft.v1.Raft(address, this.opts.credentials?.(to) ?? grpc.credentials.createInsecure(), {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.max_receive_message_length': PEER_MAX_MESSAGE_BYTES,
        'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
        'grpc.max_send_message_length': PEER_MAX_MESSAGE_BYTES,
        'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_MS.min,
        'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MS.max,
        // With TLS the peer is verified by member id, which is also the name to ask it for (SNI) rather than an IP.
        ...(this.opts.credentials ? { 'grpc.ssl_target_name_override': to } : {}),
      });
      peer = { address, client, stream: undefined, retryAtMs: 0, backoffMs: RECONNECT_BACKOFF_MS.min, refusedLogged: false, incarnation: undefined };
      this.outbound.set(to, peer);
    }
    return peer;
  }

  private peerMetadata(to: string): grpc.Metadata {
    const md = new grpc.Metadata();
    const expected = this.opts.recordedIncarnation?.(to);
    if (expected) md.set(EXPECTED_INCARNATION_METADATA, expected);
    md.set(CLUSTER_ID_METADATA, this.opts.clusterId);
    md.set(MEMBER_ID_METADATA, this.opts.memberId);
    if (this.opts.clientAddress) md.set(CLIENT_ADDRESS_METADATA, this.opts.clientAddress());
    if (this.opts.incarnation) md.set(INCARNATION_METADATA, this.opts.incarnation);
    return md;
  }

  private outboundStream(to: string): grpc.ClientDuplexStream<MessageBatch, MessageBatch__Output> | undefined {
    const peer = this.peer(to);
    if (!peer) return undefined;
    if (peer.stream) return peer.stream;
    if (Date.now() < peer.retryAtMs) return undefined;
    const stream = peer.client.Replicate(this.peerMetadata(to));
    const p = peer;
    p.stream = stream;
    p.incarnation = undefined;
    stream.on('metadata', (md: grpc.Metadata) => {
      p.incarnation = String(md.get(INCARNATION_METADATA)[0] ?? '');
      this.learnClientAddress(to, md);
    });
    stream.on('data', (batch: MessageBatch__Output) => {
      p.backoffMs = RECONNECT_BACKOFF_MS.min;
      // The process answering at the peer's address may not be the incarnation the cluster knows.
      if (!this.receive(to, batch, p.incarnation ?? '')) stream.cancel();
    });
    const drop = (err?: grpc.ServiceError) => {
      if (p.stream !== stream) return;
      p.stream = undefined;
      p.retryAtMs = Date.now() + p.backoffMs;
      p.backoffMs = Math.min(p.backoffMs * 2, RECONNECT_BACKOFF_MS.max);
      if (err?.code === grpc.status.FAILED_PRECONDITION && !p.refusedLogged) {
        p.refusedLogged = true;
        this.opts.log.error({ peer: to, reason: err.details }, 'peer refused this member');
      }
      this.opts.unreachable(to);
    };
    stream.on('error', drop);
    stream.on('end', () => drop());
    return stream;
  }

  /** Delivers a batch from `from`; false if that incarnation of `from` is refused. */
  private receive(from: string, batch: MessageBatch__Output, incarnation: string): boolean {
    const admission = this.admission(from, incarnation);
    if (admission.kind === 'refuse') return false;
    this.lastHeardMs.set(from, Date.now());
    try {
      checkBatchSize(batch.messages.length);
    } catch (err) {
      this.opts.log.warn({ peer: from, err: (err as Error).message }, 'dropped a malformed peer message');
      // Dropped, but the peer itself is not refused.
      return true;
    }
    this.opts.counts?.countReceived(batch.messages);
    this.opts.roundTrips?.received(from, batch.messages);
    for (const w of batch.messages) {
      // A peer speaks only for itself and only to us.
      if (w.from !== from || w.to !== this.opts.memberId) continue;
      let msg: Message;
      try {
        checkPeerMessage(w);
        msg = fromWire(w);
      } catch (err) {
        this.opts.log.warn({ peer: from, type: w.type, err: (err as Error).message }, 'dropped a malformed peer message');
        continue;
      }
      if (admission.kind === 'listen' && isCounted(msg)) continue;
      this.opts.deliver(msg);
    }
    return true;
  }

  /** The server half: accepts peers' streams after checking who they are. */
  handlers(): RaftHandlers {
    return {
      Replicate: (call) => {
        const from = String(call.metadata.get(MEMBER_ID_METADATA)[0] ?? '');
        const incarnation = String(call.metadata.get(INCARNATION_METADATA)[0] ?? '');
        const refusal = this.checkPeer(call) ?? this.incarnationStatus(from, incarnation, call.metadata);
        if (refusal) {
          call.emit('error', refusal);
          return;
        }
        this.learnClientAddress(from, call.metadata);
        const reply = new grpc.Metadata();
        if (this.opts.incarnation) reply.set(INCARNATION_METADATA, this.opts.incarnation);
        if (this.opts.clientAddress) reply.set(CLIENT_ADDRESS_METADATA, this.opts.clientAddress());
        call.sendMetadata(reply);
        this.inbound.get(from)?.end();
        this.inbound.set(from, call);
        call.on('data', (batch: MessageBatch__Output) => {
          if (!this.receive(from, batch, incarnation)) call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: this.refusal(from, incarnation) });
        });
        const done = () => {
          if (this.inbound.get(from) === call) this.inbound.delete(from);
        };
        call.on('end', () => {
          done();
          call.end();
        });
        call.on('error', done);
        call.on('cancelled', done);
      },
      Observe: (call, callback) => {
        const refusal = this.checkPeer(call);
        if (refusal) {
          callback(refusal);
          return;
        }
        if (!this.opts.observe) {
          callback({ code: grpc.status.UNIMPLEMENTED, details: `member ${this.opts.memberId} does not answer Observe` });
          return;
        }
        this.opts.observe().then(
          (res) => callback(null, res),
          (err: Error) => callback({ code: grpc.status.INTERNAL, details: err.message }),
        );
      },
      InstallSnapshot: (call, callback) => {
        const from = String(call.metadata.get(MEMBER_ID_METADATA)[0] ?? '');
        const refusal = this.checkPeer(call) ?? this.incarnationStatus(from, String(call.metadata.get(INCARNATION_METADATA)[0] ?? ''), call.metadata);
        if (refusal) {
          callback(refusal);
          return;
        }
        void this.receiveSnapshot(call).then(
          (accepted) => callback(null, { accepted }),
          (err: Error) => {
            this.opts.log.warn({ peer: String(call.metadata.get(MEMBER_ID_METADATA)[0] ?? ''), err: err.message }, 'refused a snapshot');
            callback({ code: grpc.status.ABORTED, details: `snapshot not installed: ${err.message}` });
          },
        );
      },
    };
  }

  private learnClientAddress(id: string, md: grpc.Metadata): void {
    const address = md.get(CLIENT_ADDRESS_METADATA)[0];
    if (typeof address === 'string' && address.length <= 256) this.opts.learnClientAddress?.(id, address);
  }

  /** Why a peer's call must be refused (not who its certificate says, another cluster, not a member), or undefined. */
  private checkPeer(call: { metadata: grpc.Metadata; getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null }): Partial<grpc.StatusObject> | undefined {
    const md = call.metadata;
    if (this.opts.requirePeerCertificate) {
      const from = String(md.get(MEMBER_ID_METADATA)[0] ?? '');
      const names = certificateNames(call.getAuthContext()?.sslPeerCertificate);
      if (!names.includes(from)) {
        const details = `member ${this.opts.memberId}: the caller's certificate names ${names.join(', ') || 'nothing'}, not member "${from}"`;
        this.opts.log.warn({ peer: from, certificateNames: names }, details);
        return { code: grpc.status.UNAUTHENTICATED, details };
      }
    }
    const refusal = this.checkMembership(md);
    return refusal ? { code: grpc.status.FAILED_PRECONDITION, details: refusal } : undefined;
  }

  private incarnationStatus(from: string, incarnation: string, md: grpc.Metadata): Partial<grpc.StatusObject> | undefined {
    const refusal = this.refusal(from, incarnation, md);
    return refusal ? { code: grpc.status.FAILED_PRECONDITION, details: refusal } : undefined;
  }

  /** Why a call from `from` is refused on incarnation grounds (its own, or the one it expects of us), or undefined. */
  private refusal(from: string, incarnation: string, md?: grpc.Metadata): string | undefined {
    const expected = md ? String(md.get(EXPECTED_INCARNATION_METADATA)[0] ?? '') : '';
    const self = expected ? this.opts.checkExpected?.(from, expected) : undefined;
    if (self) {
      const key = `self/${from}/${expected}`;
      if (!this.refusalsLogged.has(key)) {
        this.refusalsLogged.add(key);
        this.opts.log.error({ peer: from, expected }, self);
      }
      return self;
    }
    const a = this.admission(from, incarnation);
    return a.kind === 'refuse' ? a.reason : undefined;
  }

  /** Why a peer's call must be refused (another cluster, not a member), or undefined. */
  private checkMembership(md: grpc.Metadata): string | undefined {
    const cluster = String(md.get(CLUSTER_ID_METADATA)[0] ?? '');
    const from = String(md.get(MEMBER_ID_METADATA)[0] ?? '');
    let refusal: string | undefined;
    if (cluster !== this.opts.clusterId) {
      refusal = `member ${this.opts.memberId} belongs to cluster ${this.opts.clusterId}; refusing "${from}" of cluster ${cluster || '(none)'}`;
    } else if (!from || from === this.opts.memberId || !this.opts.addressOf(from)) {
      refusal = `member ${this.opts.memberId}: "${from}" is not a member of cluster ${this.opts.clusterId}`;
    }
    if (refusal) this.opts.log.warn({ peer: from, peerCluster: cluster }, refusal);
    return refusal;
  }

  private async receiveSnapshot(call: grpc.ServerReadableStream<SnapshotChunk__Output, unknown>): Promise<boolean> {
    const iterator = call[Symbol.asyncIterator]() as AsyncIterator<SnapshotChunk__Output>;
    const first = await iterator.next();
    if (first.done) throw new Error('empty snapshot stream');
    const header = snapshotHeader(first.value);
    let finished = false;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        if (next.value.data.length > 0) yield next.value.data;
        if (next.value.done) {
          finished = true;
          break;
        }
      }
      if (!finished) throw new Error('snapshot stream ended before its last chunk');
    }
    this.opts.log.info({ leader: header.message.from, appliedIndex: header.appliedIndex }, 'installing a snapshot');
    const ok = await this.opts.installSnapshot({ message: fromWire(header.message), appliedIndex: header.appliedIndex, members: header.members, chunks: chunks() });
    this.opts.log.info({ leader: header.message.from, appliedIndex: header.appliedIndex, ok }, 'snapshot installed');
    return ok;
  }

  /** Streams a snapshot to a peer on its own call; resolves whether the peer installed it. */
  async sendSnapshot(msg: SnapshotMsg, reader: SnapshotReader, members: Buffer): Promise<boolean> {
    const peer = this.closed ? undefined : this.peer(msg.to);
    if (!peer) return false;
    this.opts.log.info({ peer: msg.to, snapshotIndex: msg.snapshot.index, appliedIndex: reader.appliedIndex }, 'sending a snapshot');
    const ok = await streamSnapshot((cb) => peer.client.InstallSnapshot(this.peerMetadata(msg.to), cb), msg, reader, members);
    this.opts.log.info({ peer: msg.to, ok }, 'snapshot sent');
    return ok;
  }

  /** Opens a stream to a peer if none exists either way, so the two exchange their call metadata. */
  contact(id: string): void {
    if (!this.closed && !this.inbound.has(id)) this.outboundStream(id);
  }

  /** Drops every outbound connection (they are redialled on demand), e.g. to use reloaded certificates. */
  resetConnections(): void {
    for (const p of this.outbound.values()) {
      p.stream?.cancel();
      p.client.close();
    }
    this.outbound.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.outbound.values()) {
      p.stream?.end();
      p.client.close();
    }
    for (const s of this.inbound.values()) s.end();
    this.outbound.clear();
    this.inbound.clear();
  }
}

/** Roughly a message's encoded size: its entries and context plus a fixed allowance for the other fields. */
function messageBytes(m: Message): number {
  let bytes = 128;
  if ('entries' in m && m.entries) for (const e of m.entries) bytes += e.data.byteLength + 32;
  if ('context' in m && m.context) bytes += m.context.byteLength;
  return bytes;
}

/** Cuts one peer's messages (in order) into batches of at most `maxBytes`; a larger single message goes alone. */
export function splitByBytes(messages: Message[], maxBytes: number): Message[][] {
  const batches: Message[][] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = messageBytes(m);
    if (current.length > 0 && bytes + size > maxBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
