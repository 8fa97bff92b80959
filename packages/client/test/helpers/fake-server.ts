// Real grpc-js servers implementing bellwether.kv.v1.KV and cluster.v1.Cluster
// over in-memory state, for the SDK's tests. One FakeKvServer alone is a
// one-member cluster that leads; FakeCluster.start(n) makes n members sharing
// one state, with a leader the test chooses (elect), NOT_LEADER answers with
// the leader hint, WatchLeader streams, Members, lagging followers (freeze),
// stale followers (staleMs), paused members (pause: every call hangs, like a
// SIGSTOPped process) and stopped/restarted members. KV.Stream runs each call
// through the unary handler of its method (faults included) and batches the
// results of one event-loop turn into one message, as the real server does;
// `streamUnimplemented` makes it answer UNIMPLEMENTED like an older server.
// It follows kv.proto's documented behaviour (validation, compare-and-swap,
// exactly-once sessions with min_unacked_sequence, paging) and can be told to
// fail, to hang, or to apply a write and then lose the answer. Writes are
// applied by the real state machine (@bellwether/store on an in-memory
// database), so the session table the client's retries meet is the one the
// cluster runs: each write becomes a log entry of its own.

import {
  type ClusterHandlers,
  type DeleteRequest__Output,
  type GetRequest__Output,
  type KeyValue,
  type KVHandlers,
  type LeaderEvent,
  loadPublicApi,
  type PutRequest__Output,
  type RangeRequest__Output,
  type ReadOptions__Output,
  type ResponseHeader,
  type StreamRequest__Output,
  type StreamResponse,
  type StreamResult,
  type WatchLeaderRequest__Output,
} from '@bellwether/proto';
import { type Command, encodeCommand, type KeyValueRecord, Store, type StoreDatabase, type WriteResult } from '@bellwether/store';
import * as grpc from '@grpc/grpc-js';
import { MemoryLevel } from 'memory-level';

export type Method = 'Put' | 'Get' | 'Delete' | 'Range' | 'Status' | 'Members' | 'TransferLeadership' | 'RemoveMember';

/** What the next call of a method does instead of being served. */
export type Fault =
  | { kind: 'status'; code: grpc.status; details?: string; metadata?: Record<string, string> }
  /** Never answer (until the client gives up or the server stops). */
  | { kind: 'hang' }
  /** Apply the write, then answer with this status instead (the answer was lost). */
  | { kind: 'apply-then-status'; code: grpc.status; details?: string }
  /** Apply the write, then never answer. */
  | { kind: 'apply-then-hang' }
  /** Apply the write, then break the KV.Stream it came on (a unary call gets UNAVAILABLE). */
  | { kind: 'apply-then-break' }
  /** Serve the call normally, but only after `ms` milliseconds. */
  | { kind: 'delay'; ms: number };

interface Requests {
  Put: PutRequest__Output[];
  Get: GetRequest__Output[];
  Delete: DeleteRequest__Output[];
  Range: RangeRequest__Output[];
}

type UnaryKvHandlers = Pick<KVHandlers, 'Put' | 'Get' | 'Delete' | 'Range'>;

/** State shared by the members of one fake cluster: the replicated state machine, the leader, the members. */
export class FakeGroup {
  readonly clusterId: string;
  readonly members: FakeKvServer[] = [];
  /** Every write actually applied, in order: a duplicate here is a write applied twice. */
  readonly applied: { clientId: string; sequence: number; key: string; revision: number }[] = [];
  term: number;
  leaderId: string | undefined;
  /** Ids removed by RemoveMember: no longer listed by Members (their servers keep running). */
  readonly removed = new Set<string>();
  /** The state machine every member serves: keys, revisions and the client sessions. */
  readonly store: Store;
  #lastIndex = 0;
  /** Writes apply one entry at a time, in the order they arrived (the store applies one batch at a time). */
  #applying: Promise<unknown> = Promise.resolve();

  private constructor(store: Store, clusterId: string, term: number) {
    this.store = store;
    this.clusterId = clusterId;
    this.term = term;
  }

  static async create(clusterId = 'fake-cluster', term = 3): Promise<FakeGroup> {
    const db: StoreDatabase = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
    return new FakeGroup(await Store.open(db), clusterId, term);
  }

  /** The last applied write's index. */
  get revision(): number {
    return this.store.appliedIndex;
  }

  /** Applies `command` as the next log entry and resolves with its result (a remembered one for a retried write). */
  write(command: Extract<Command, { op: 'put' | 'delete' }>): Promise<WriteResult> {
    const applied = this.#applying.then(async () => {
      const index = ++this.#lastIndex;
      const outcome = await this.store.apply([{ index, term: this.term, type: 'normal', data: encodeCommand(command) }]);
      const result = outcome.results.get(index);
      if (!result) throw new Error(`fake cluster: entry ${index} has no result`);
      // A fresh write is applied at its own index; a retried one answers with the index it was first applied at.
      if (command.clientId && result.revision === index && !result.refused) {
        this.applied.push({ clientId: command.clientId, sequence: command.sequence, key: command.key.toString(), revision: index });
      }
      return result;
    });
    this.#applying = applied.catch(() => undefined);
    return applied;
  }

  /** The members as Cluster.Members lists them (every one a voter), removed ones left out. */
  memberList() {
    return this.members
      .filter((m) => !this.removed.has(m.memberId))
      .map((m) => ({ id: m.memberId, address: m.address, voter: true, role: 'MEMBER_ROLE_VOTER' as const, incarnation: `inc-${m.memberId}` }));
  }

  get leader(): FakeKvServer | undefined {
    return this.members.find((m) => m.memberId === this.leaderId);
  }

  /** A new term with `id` as leader (`undefined`: an election under way); WatchLeader streams hear of it. */
  elect(id: string | undefined): void {
    this.term++;
    this.leaderId = id;
    for (const m of this.members) m.announce();
  }
}

export interface FakeOptions {
  maxValueBytes?: number;
  memberId?: string;
  /** Join this group instead of forming a one-member cluster. */
  group?: FakeGroup;
  /** Bind to this port (a restart); default: an ephemeral one. */
  port?: number;
}

export class FakeKvServer {
  readonly requests: Requests = { Put: [], Get: [], Delete: [], Range: [] };
  /** Hung calls that the client cancelled (seen through the server's 'cancelled' event). */
  cancelledHangs = 0;
  /** Calls of each method received (including Status probes and Members). */
  readonly calls = new Map<string, number>();
  /** WatchLeader streams opened so far. */
  watchOpened = 0;
  /** Every call hangs, new and old, like a SIGSTOPped process. */
  paused = false;
  /** This member's reads see the state as it was when frozen (a lagging follower). */
  frozen: { kvs: Promise<KeyValueRecord[]>; revision: number } | undefined;
  /** Milliseconds since this member heard from a leader (any-follower max_staleness_ms refuses above it). */
  staleMs = 0;
  /** Leave the leader hint out of NOT_LEADER / UNAVAILABLE answers. */
  hideHints = false;
  /** Answer KV.Stream with UNIMPLEMENTED, like a server older than it. */
  streamUnimplemented = false;
  /** Refuse this many more new KV.Streams with RESOURCE_EXHAUSTED and `bellwether-retry-after-ms: shedRetryAfterMs`, like a member shedding a reconnect storm. */
  shedStreams = 0;
  shedRetryAfterMs = 0;
  /** When each KV.Stream open arrived (`Date.now()`), refused ones included. */
  readonly streamOpenedAt: number[] = [];
  /** KV.Stream traffic: streams opened, request messages and calls received, response messages sent. */
  readonly stream = { opened: 0, messagesIn: 0, callsIn: 0, answered: 0, messagesOut: 0, maxInFlight: 0, open: 0, timeoutsMs: [] as number[] };
  readonly group: FakeGroup;
  readonly memberId: string;
  server: grpc.Server;
  readonly address: string;
  running = true;
  readonly #faults = new Map<Method, Fault[]>();
  readonly #maxValueBytes: number;
  readonly #streams = new Set<grpc.ServerWritableStream<WatchLeaderRequest__Output, LeaderEvent>>();

  private constructor(server: grpc.Server, address: string, options: FakeOptions, group: FakeGroup) {
    this.server = server;
    this.address = address;
    this.#maxValueBytes = options.maxValueBytes ?? 1024;
    this.memberId = options.memberId ?? 'm1';
    this.group = group;
  }

  static async start(options: FakeOptions = {}): Promise<FakeKvServer> {
    const standalone = options.group === undefined;
    const group = options.group ?? (await FakeGroup.create());
    const { server, port } = await bind(options.port ?? 0);
    const fake = new FakeKvServer(server, `127.0.0.1:${port}`, options, group);
    fake.#serve(server);
    group.members.push(fake);
    if (standalone) group.leaderId = fake.memberId;
    return fake;
  }

  /** The shared revision (the last applied write's index). */
  get revision(): number {
    return this.group.revision;
  }

  get isLeader(): boolean {
    return this.group.leaderId === this.memberId;
  }

  /** The next call of `method` fails with `fault` (faults queue up in order). */
  fail(method: Method, fault: Fault): void {
    const q = this.#faults.get(method) ?? [];
    q.push(fault);
    this.#faults.set(method, q);
  }

  /** Forgets faults not yet used. */
  clearFaults(): void {
    this.#faults.clear();
  }

  /** Reads now see the state as of now, until thaw(). */
  freeze(): void {
    // The store's snapshot is taken at the call, and holds at least what its applied index says.
    const all = this.group.store.range({ start: Buffer.alloc(0), limit: 1_000_000_000 });
    this.frozen = { kvs: all.then((r) => r.kvs), revision: this.group.revision };
  }

  thaw(): void {
    this.frozen = undefined;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.announce();
  }

  /** Stops serving (connections refused), like a killed process. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.#streams.clear();
    this.server.forceShutdown();
  }

  /** Serves again on the same address. */
  async restart(): Promise<void> {
    if (this.running) return;
    const port = Number(this.address.split(':')[1]);
    for (let i = 0; ; i++) {
      try {
        this.server = (await bind(port)).server;
        break;
      } catch (err) {
        if (i > 50) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.#serve(this.server);
    this.running = true;
  }

  /** Sends the current leader to every open WatchLeader stream (unless paused). */
  announce(): void {
    if (this.paused || !this.running) return;
    for (const s of this.#streams) s.write(this.#leaderEvent());
  }

  #serve(server: grpc.Server): void {
    server.addService(loadPublicApi().bellwether.kv.v1.KV.service, this.#handlers());
    server.addService(loadPublicApi().bellwether.cluster.v1.Cluster.service, this.#clusterHandlers());
  }

  #count(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  #leaderEvent(): LeaderEvent {
    const leader = this.group.leader;
    return { leaderId: leader?.memberId ?? '', leaderAddress: leader?.address ?? '', term: this.group.term, memberId: this.memberId };
  }

  #hint(): grpc.Metadata {
    const md = new grpc.Metadata();
    const leader = this.group.leader;
    if (leader && !this.hideHints) {
      md.set('bellwether-leader-id', leader.memberId);
      md.set('bellwether-leader-address', leader.address);
    }
    return md;
  }

  #header(revision?: number): ResponseHeader {
    const applied = this.frozen?.revision ?? this.group.revision;
    return {
      clusterId: this.group.clusterId,
      memberId: this.memberId,
      term: this.group.term,
      leaderId: this.group.leaderId ?? '',
      appliedIndex: applied,
      revision: revision ?? applied,
    };
  }

  #kv(s: KeyValueRecord | undefined): KeyValue | null {
    return s ? { ...s } : null;
  }

  /** This member's keys (in byte order) and applied index: the frozen state, or the current one. */
  async #state(): Promise<{ kvs: KeyValueRecord[]; applied: number }> {
    if (this.frozen) return { kvs: await this.frozen.kvs, applied: this.frozen.revision };
    const { kvs, appliedIndex } = await this.group.store.range({ start: Buffer.alloc(0), limit: 1_000_000_000 });
    return { kvs, applied: appliedIndex };
  }

  /** A paused member never answers; the client has to give up on it. */
  #hangIfPaused(call: { on(event: 'cancelled', fn: () => void): unknown }): boolean {
    if (!this.paused) return false;
    call.on('cancelled', () => {
      this.cancelledHangs++;
    });
    return true;
  }

  /** Applies a status or hang fault if one is queued; returns the fault if the call was taken over or must be altered. */
  #intercept<Req, Res>(method: Method, call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): Fault | 'handled' | undefined {
    const fault = this.#faults.get(method)?.shift();
    if (!fault) return undefined;
    if (fault.kind === 'hang') {
      call.on('cancelled', () => {
        this.cancelledHangs++;
      });
      return 'handled';
    }
    if (fault.kind === 'status') {
      const metadata = new grpc.Metadata();
      for (const [k, v] of Object.entries(fault.metadata ?? {})) metadata.set(k, v);
      callback({ code: fault.code, details: fault.details ?? '', metadata });
      return 'handled';
    }
    return fault;
  }

  /** Sends a write's response, or loses it as the fault says. */
  #reply<Res>(fault: Fault | undefined, call: grpc.ServerUnaryCall<unknown, Res>, callback: grpc.sendUnaryData<Res>, res: Res): void {
    if (fault?.kind === 'apply-then-break') {
      const breakStream = (call as { breakStream?: () => void }).breakStream;
      if (breakStream) breakStream();
      else callback({ code: grpc.status.UNAVAILABLE, details: 'connection reset after apply' });
    } else if (fault?.kind === 'apply-then-status') callback({ code: fault.code, details: fault.details ?? 'connection reset after apply' });
    else if (fault?.kind === 'apply-then-hang') call.on('cancelled', () => this.cancelledHangs++);
    else callback(null, res);
  }

  #checkKey(key: Buffer, callback: grpc.sendUnaryData<never>): boolean {
    if (key.length < 1 || key.length > 4096) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: `key: must be 1..4096 bytes, got ${key.length}` });
      return false;
    }
    return true;
  }

  /** Writes only on the leader: FAILED_PRECONDITION with the hint, or UNAVAILABLE with no leader. */
  #checkLeader(callback: grpc.sendUnaryData<never>): boolean {
    if (this.isLeader) return true;
    if (this.group.leader) {
      callback({
        code: grpc.status.FAILED_PRECONDITION,
        details: `member ${this.memberId} is not the leader; send writes to leader ${this.group.leaderId}`,
        metadata: this.#hint(),
      });
    } else {
      callback({ code: grpc.status.UNAVAILABLE, details: `member ${this.memberId} is not the leader and no leader is known yet; retry shortly` });
    }
    return false;
  }

  /** Whether this member may serve the read now; answers UNAVAILABLE itself when not. */
  #checkRead(read: ReadOptions__Output | null, callback: grpc.sendUnaryData<never>): boolean {
    const mode = read?.mode ?? 'READ_MODE_LINEARIZABLE';
    const applied = this.frozen?.revision ?? this.group.revision;
    const refuse = (details: string) => {
      callback({ code: grpc.status.UNAVAILABLE, details, metadata: this.#hint() });
      return false;
    };
    if (mode === 'READ_MODE_READ_YOUR_WRITES' && applied < Number(read?.minIndex ?? 0)) {
      return refuse(`member ${this.memberId} has applied ${applied}, behind min_index ${read?.minIndex}; try another member`);
    }
    if (mode === 'READ_MODE_ANY_FOLLOWER' && (read?.maxStalenessMs ?? 0) > 0 && this.staleMs > (read?.maxStalenessMs ?? 0)) {
      return refuse(`member ${this.memberId} last heard from a leader ${this.staleMs} ms ago, over max_staleness_ms ${read?.maxStalenessMs}`);
    }
    if ((mode === 'READ_MODE_LINEARIZABLE' || mode === 'READ_MODE_UNSPECIFIED') && !this.group.leader) {
      return refuse(`member ${this.memberId} knows no leader; a linearizable read cannot be served now`);
    }
    return true;
  }

  /**
   * Applies a write through the store's session table (exactly once: a known
   * (clientId, sequence) gets its first result again) and answers it, or
   * refuses a sequence older than the session remembers with ABORTED, as a
   * member does.
   */
  #applyWrite<Res>(
    command: Extract<Command, { op: 'put' | 'delete' }>,
    answer: (result: WriteResult) => Res,
    fault: Fault | undefined,
    call: grpc.ServerUnaryCall<unknown, Res>,
    callback: grpc.sendUnaryData<Res>,
  ): void {
    this.group.write(command).then(
      (result) => {
        if (result.refused === 'sequence-too-old') {
          callback({
            code: grpc.status.ABORTED,
            details: `sequence ${command.sequence} of client_id "${command.clientId}" is older than the writes the session remembers`,
          });
          return;
        }
        this.#reply(fault, call, callback, answer(result));
      },
      (err: unknown) => callback({ code: grpc.status.INTERNAL, details: String(err) }),
    );
  }

  #clusterHandlers(): ClusterHandlers {
    return {
      Status: (call, callback) => {
        this.#count('Status');
        if (this.#hangIfPaused(call)) return;
        if (this.#intercept('Status', call, callback)) return;
        const g = this.group;
        const others = g.members.filter((m) => m !== this);
        callback(null, {
          clusterId: g.clusterId,
          memberId: this.memberId,
          role: this.isLeader ? 'ROLE_LEADER' : 'ROLE_FOLLOWER',
          term: g.term,
          leaderId: g.leaderId ?? '',
          leaderAddress: g.leader?.address ?? '',
          commitIndex: g.revision,
          appliedIndex: this.frozen?.revision ?? g.revision,
          lastIndex: g.revision,
          followers: !this.isLeader
            ? []
            : others.length === 0
              ? [{ memberId: 'm2', matchIndex: g.revision, lagEntries: 0, lastContactMs: 12, state: 'replicate', learner: false }]
              : others.map((m) => ({ memberId: m.memberId, matchIndex: g.revision, lagEntries: 0, lastContactMs: 12, state: 'replicate', learner: false })),
          leaderContactAgeMs: this.isLeader ? 0 : this.staleMs,
          address: this.address,
        });
      },
      Members: (call, callback) => {
        this.#count('Members');
        if (this.#hangIfPaused(call)) return;
        if (this.#intercept('Members', call, callback)) return;
        const g = this.group;
        callback(null, {
          clusterId: g.clusterId,
          members: g.memberList(),
          leaderId: g.leaderId ?? '',
          term: g.term,
        });
      },
      TransferLeadership: (call, callback) => {
        this.#count('TransferLeadership');
        if (!this.#checkLeader(callback)) return;
        const g = this.group;
        const target = call.request.targetId || g.members.find((m) => m !== this)?.memberId;
        const member = g.members.find((m) => m.memberId === target);
        if (!member) {
          callback({ code: grpc.status.NOT_FOUND, details: `target_id "${call.request.targetId}" is not a member` });
          return;
        }
        if (member !== this) g.elect(member.memberId);
        callback(null, { leaderId: member.memberId, leaderAddress: member.address, term: g.term });
      },
      // Membership changes are a real cluster's business (tools/integration); the fake has fixed members.
      AddMember: (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: 'fake server: fixed members' }),
      PromoteMember: (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: 'fake server: fixed members' }),
      RemoveMember: (call, callback) => {
        this.#count('RemoveMember');
        if (!this.#checkLeader(callback)) return;
        const fault = this.#intercept('RemoveMember', call, callback);
        if (fault === 'handled') return;
        const g = this.group;
        const id = call.request.id;
        if (g.removed.has(id) || !g.members.some((m) => m.memberId === id)) {
          callback({ code: grpc.status.NOT_FOUND, details: `no member ${id}` });
          return;
        }
        g.removed.add(id);
        this.#reply(fault, call, callback, { members: g.memberList() });
      },
      WatchLeader: (call) => {
        this.#count('WatchLeader');
        this.watchOpened++;
        this.#streams.add(call);
        call.on('cancelled', () => this.#streams.delete(call));
        if (!this.paused) call.write(this.#leaderEvent());
      },
    };
  }

  /** Runs a queued `delay` fault: the call is served `ms` later. */
  #delayed<C, R>(method: Method, handler: (call: C, callback: grpc.sendUnaryData<R>) => void): (call: C, callback: grpc.sendUnaryData<R>) => void {
    return (call, callback) => {
      const head = this.#faults.get(method)?.[0];
      if (head?.kind !== 'delay') return handler(call, callback);
      this.#faults.get(method)?.shift();
      setTimeout(() => handler(call, callback), head.ms);
    };
  }

  /**
   * KV.Stream: each call runs through its unary handler; the results of one
   * event-loop turn go back as one message. A call's `cancelled` listeners
   * fire when the stream is cancelled.
   */
  #serveStream(stream: grpc.ServerDuplexStream<StreamRequest__Output, StreamResponse>, unary: UnaryKvHandlers): void {
    this.#count('Stream');
    this.streamOpenedAt.push(Date.now());
    if (this.shedStreams > 0) {
      this.shedStreams--;
      const md = new grpc.Metadata();
      md.set('bellwether-retry-after-ms', String(this.shedRetryAfterMs));
      stream.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'too many new streams', metadata: md });
      return;
    }
    if (this.streamUnimplemented) {
      stream.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'The server does not implement the method /bellwether.kv.v1.KV/Stream' });
      return;
    }
    const st = this.stream;
    st.opened++;
    st.open++;
    let open = true;
    let ending = false;
    let inFlight = 0;
    let pending: StreamResult[] = [];
    let scheduled = false;
    const onCancel: (() => void)[] = [];
    const shut = () => {
      if (!open) return;
      open = false;
      st.open--;
    };
    const flush = () => {
      scheduled = false;
      if (!open) return;
      if (pending.length > 0) {
        const results = pending;
        pending = [];
        st.messagesOut++;
        stream.write({ results });
      }
      if (ending && inFlight === 0) {
        shut();
        stream.end();
      }
    };
    const deliver = (r: StreamResult) => {
      inFlight--;
      st.answered++;
      pending.push(r);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    };
    const breakStream = () => {
      if (!open) return;
      shut();
      stream.emit('error', { code: grpc.status.UNAVAILABLE, details: 'stream reset by the fake' });
    };
    const field = { put: 'Put', get: 'Get', delete: 'Delete', range: 'Range' } as const;
    stream.on('data', (req: StreamRequest__Output) => {
      st.messagesIn++;
      for (const c of req.calls) {
        st.callsIn++;
        st.timeoutsMs.push(c.timeoutMs);
        inFlight++;
        st.maxInFlight = Math.max(st.maxInFlight, inFlight);
        const which = c.request;
        if (which === undefined || which === 'txn') {
          deliver({ id: c.id, error: { code: grpc.status.INVALID_ARGUMENT, message: 'stream call: one of put, get, delete or range must be set' } });
          continue;
        }
        const pseudo = {
          request: c[which],
          on: (event: string, fn: () => void) => {
            if (event === 'cancelled') onCancel.push(fn);
            return pseudo;
          },
          breakStream,
        };
        const callback = (err: Partial<grpc.StatusObject> | null, res?: unknown) => {
          if (err) {
            const md = err.metadata;
            deliver({
              id: c.id,
              error: {
                code: err.code ?? grpc.status.UNKNOWN,
                message: err.details ?? '',
                leaderId: String(md?.get('bellwether-leader-id')[0] ?? ''),
                leaderAddress: String(md?.get('bellwether-leader-address')[0] ?? ''),
              },
            });
          } else {
            deliver({ id: c.id, [which]: res });
          }
        };
        const handler = unary[field[which]] as (call: unknown, cb: typeof callback) => void;
        handler(pseudo, callback);
      }
    });
    stream.on('end', () => {
      ending = true;
      flush();
    });
    const cancelled = () => {
      shut();
      for (const fn of onCancel.splice(0)) fn();
    };
    stream.on('cancelled', cancelled);
    stream.on('error', shut);
  }

  #handlers(): KVHandlers {
    const raw = this.#unaryHandlers();
    const unary: UnaryKvHandlers = {
      Put: this.#delayed('Put', raw.Put),
      Get: this.#delayed('Get', raw.Get),
      Delete: this.#delayed('Delete', raw.Delete),
      Range: this.#delayed('Range', raw.Range),
    };
    // Transactions and watches are tested against real nodes; the fake refuses them.
    return {
      ...unary,
      Stream: (call) => this.#serveStream(call, unary),
      Txn: (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: 'the fake server has no Txn' }),
      Watch: (call) => call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'the fake server has no Watch' }),
    };
  }

  #unaryHandlers(): UnaryKvHandlers {
    return {
      Put: (call, callback) => {
        const req = call.request;
        this.requests.Put.push(req);
        if (this.#hangIfPaused(call)) return;
        const fault = this.#intercept('Put', call, callback);
        if (fault === 'handled') return;
        if (!this.#checkKey(req.key, callback)) return;
        if (!this.#checkLeader(callback)) return;
        if (req.value.length > this.#maxValueBytes) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: `value: must be at most ${this.#maxValueBytes} bytes, got ${req.value.length}` });
          return;
        }
        const command = {
          op: 'put' as const,
          key: req.key,
          value: req.value,
          expectedModRevision: req.expectedModRevision === undefined ? undefined : Number(req.expectedModRevision),
          clientId: req.clientId,
          sequence: Number(req.sequence),
          minUnackedSequence: Number(req.minUnackedSequence),
          prevKv: req.prevKv,
        };
        this.#applyWrite(command, (r) => ({ header: this.#header(r.revision), succeeded: r.succeeded, prevKv: this.#kv(r.prevKv) }), fault, call, callback);
      },
      Delete: (call, callback) => {
        const req = call.request;
        this.requests.Delete.push(req);
        if (this.#hangIfPaused(call)) return;
        const fault = this.#intercept('Delete', call, callback);
        if (fault === 'handled') return;
        if (!this.#checkKey(req.key, callback)) return;
        if (!this.#checkLeader(callback)) return;
        const command = {
          op: 'delete' as const,
          key: req.key,
          expectedModRevision: req.expectedModRevision === undefined ? undefined : Number(req.expectedModRevision),
          clientId: req.clientId,
          sequence: Number(req.sequence),
          minUnackedSequence: Number(req.minUnackedSequence),
          prevKv: req.prevKv,
        };
        this.#applyWrite(
          command,
          (r) => ({ header: this.#header(r.revision), deleted: r.deleted, succeeded: r.succeeded, prevKv: this.#kv(r.prevKv) }),
          fault,
          call,
          callback,
        );
      },
      Get: (call, callback) => {
        const req = call.request;
        this.requests.Get.push(req);
        if (this.#hangIfPaused(call)) return;
        if (this.#intercept('Get', call, callback)) return;
        if (!this.#checkKey(req.key, callback)) return;
        if (!this.#checkRead(req.read, callback)) return;
        const header = this.#header();
        const kv = this.frozen ? this.frozen.kvs.then((kvs) => kvs.find((x) => x.key.equals(req.key))) : this.group.store.get(req.key);
        void kv.then((found) => callback(null, { header, kv: this.#kv(found) }));
      },
      Range: (call, callback) => {
        const req = call.request;
        this.requests.Range.push(req);
        if (this.#hangIfPaused(call)) return;
        if (this.#intercept('Range', call, callback)) return;
        if (req.limit > 10_000) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: `limit: must be 0..10000, got ${req.limit}` });
          return;
        }
        if (!this.#checkRead(req.read, callback)) return;
        const limit = req.limit || 1000;
        const header = this.#header();
        void this.#state().then(({ kvs: sorted }) => {
          const from = req.continuation.length > 0 ? req.continuation : req.start;
          const selected = sorted.filter((s) => {
            if (req.prefix.length > 0 && !s.key.subarray(0, req.prefix.length).equals(req.prefix)) return false;
            if (from.length > 0 && Buffer.compare(s.key, from) < 0) return false;
            if (req.end.length > 0 && Buffer.compare(s.key, req.end) >= 0) return false;
            return true;
          });
          const page = selected.slice(0, limit);
          const more = selected.length > limit;
          const last = page[page.length - 1];
          callback(null, {
            header,
            kvs: page.map((s) => ({ ...s, value: req.keysOnly ? Buffer.alloc(0) : s.value })),
            more,
            continuation: more && last ? Buffer.concat([last.key, Buffer.from([0])]) : Buffer.alloc(0),
          });
        });
      },
    };
  }
}

/** A fake cluster of `size` members sharing one state; `m1` leads at first. */
export class FakeCluster {
  private constructor(readonly group: FakeGroup) {}

  static async start(size: number, options: Omit<FakeOptions, 'group' | 'memberId' | 'port'> = {}): Promise<FakeCluster> {
    const group = await FakeGroup.create();
    for (let i = 1; i <= size; i++) await FakeKvServer.start({ ...options, group, memberId: `m${i}` });
    group.leaderId = 'm1';
    return new FakeCluster(group);
  }

  get members(): FakeKvServer[] {
    return this.group.members;
  }

  get addresses(): string[] {
    return this.members.map((m) => m.address);
  }

  member(id: string): FakeKvServer {
    const m = this.members.find((x) => x.memberId === id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  get leader(): FakeKvServer | undefined {
    return this.group.leader;
  }

  elect(id: string | undefined): void {
    this.group.elect(id);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}

function bind(port: number): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  return new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve({ server, port: p }))),
  );
}
