// A real grpc-js server implementing bellwether.kv.v1.KV over an in-memory
// map, for the SDK's tests. It follows kv.proto's documented behaviour
// (validation, compare-and-swap, exactly-once sessions, paging) and can be
// told to fail or to never answer the next call of a method.
import * as grpc from '@grpc/grpc-js';
import {
  type ClusterHandlers,
  type DeleteRequest__Output,
  type DeleteResponse,
  type GetRequest__Output,
  type KeyValue,
  type KVHandlers,
  loadPublicApi,
  type PutRequest__Output,
  type PutResponse,
  type RangeRequest__Output,
  type ResponseHeader,
} from '@bellwether/proto';

export type Method = 'Put' | 'Get' | 'Delete' | 'Range';

/** What the next call of a method does instead of being served. */
export type Fault =
  | { kind: 'status'; code: grpc.status; details?: string; metadata?: Record<string, string> }
  /** Never answer (until the client gives up or the server stops). */
  | { kind: 'hang' };

interface Stored {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
}

interface Requests {
  Put: PutRequest__Output[];
  Get: GetRequest__Output[];
  Delete: DeleteRequest__Output[];
  Range: RangeRequest__Output[];
}

export interface FakeOptions {
  maxValueBytes?: number;
  memberId?: string;
}

export class FakeKvServer {
  readonly requests: Requests = { Put: [], Get: [], Delete: [], Range: [] };
  /** Hung calls that the client cancelled (seen through the server's 'cancelled' event). */
  cancelledHangs = 0;
  revision = 0;
  readonly #faults = new Map<Method, Fault[]>();
  readonly #data = new Map<string, Stored>();
  readonly #sessions = new Map<string, Map<number, PutResponse | DeleteResponse>>();
  readonly #maxValueBytes: number;
  readonly #memberId: string;

  private constructor(
    readonly server: grpc.Server,
    readonly address: string,
    options: FakeOptions,
  ) {
    this.#maxValueBytes = options.maxValueBytes ?? 1024;
    this.#memberId = options.memberId ?? 'm1';
  }

  static async start(options: FakeOptions = {}): Promise<FakeKvServer> {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const fake = new FakeKvServer(server, `127.0.0.1:${port}`, options);
    server.addService(loadPublicApi().bellwether.kv.v1.KV.service, fake.#handlers());
    server.addService(loadPublicApi().bellwether.cluster.v1.Cluster.service, fake.#clusterHandlers());
    return fake;
  }

  /** The next call of `method` fails with `fault` (faults queue up in order). */
  fail(method: Method, fault: Fault): void {
    const q = this.#faults.get(method) ?? [];
    q.push(fault);
    this.#faults.set(method, q);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.forceShutdown();
      resolve();
    });
  }

  #header(): ResponseHeader {
    return { clusterId: 'fake-cluster', memberId: this.#memberId, term: 3, leaderId: this.#memberId, appliedIndex: this.revision, revision: this.revision };
  }

  #kv(s: Stored | undefined): KeyValue | null {
    return s ? { ...s } : null;
  }

  /** Applies a fault if one is queued; returns true when the call was taken over. */
  #intercept<Req, Res>(method: Method, call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): boolean {
    const fault = this.#faults.get(method)?.shift();
    if (!fault) return false;
    if (fault.kind === 'hang') {
      call.on('cancelled', () => {
        this.cancelledHangs++;
      });
      return true;
    }
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(fault.metadata ?? {})) metadata.set(k, v);
    callback({ code: fault.code, details: fault.details ?? '', metadata });
    return true;
  }

  #checkKey(key: Buffer, callback: grpc.sendUnaryData<never>): boolean {
    if (key.length < 1 || key.length > 4096) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: `key: must be 1..4096 bytes, got ${key.length}` });
      return false;
    }
    return true;
  }

  /** Exactly-once: a known (clientId, sequence) gets the first result again. */
  #dedupe<R extends PutResponse | DeleteResponse>(clientId: string, sequence: number, run: () => R): R {
    if (!clientId) return run();
    let s = this.#sessions.get(clientId);
    if (!s) this.#sessions.set(clientId, (s = new Map()));
    const seen = s.get(sequence);
    if (seen) return seen as R;
    const result = run();
    s.set(sequence, result);
    return result;
  }

  #clusterHandlers(): ClusterHandlers {
    const id = this.#memberId;
    return {
      Status: (_call, callback) =>
        callback(null, {
          clusterId: 'fake-cluster',
          memberId: id,
          role: 'ROLE_LEADER',
          term: 3,
          leaderId: id,
          leaderAddress: this.address,
          commitIndex: this.revision,
          appliedIndex: this.revision,
          lastIndex: this.revision,
          followers: [{ memberId: 'm2', matchIndex: this.revision, lagEntries: 0, lastContactMs: 12, state: 'replicate', learner: false }],
          leaderContactAgeMs: 0,
          address: this.address,
        }),
      Members: (_call, callback) =>
        callback(null, {
          clusterId: 'fake-cluster',
          members: [
            { id, address: this.address, voter: true },
            { id: 'm2', address: '127.0.0.1:7002', voter: true },
          ],
          leaderId: id,
          term: 3,
        }),
      WatchLeader: (call) => {
        call.write({ leaderId: id, leaderAddress: this.address, term: 3, memberId: id });
      },
    };
  }

  #handlers(): KVHandlers {
    return {
      Put: (call, callback) => {
        const req = call.request;
        this.requests.Put.push(req);
        if (this.#intercept('Put', call, callback)) return;
        if (!this.#checkKey(req.key, callback)) return;
        if (req.value.length > this.#maxValueBytes) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: `value: must be at most ${this.#maxValueBytes} bytes, got ${req.value.length}` });
          return;
        }
        const res = this.#dedupe(req.clientId, req.sequence, () => {
          const id = req.key.toString('hex');
          const current = this.#data.get(id);
          const index = ++this.revision;
          if (req.expectedModRevision !== undefined && req.expectedModRevision !== (current?.modRevision ?? 0)) {
            return { header: this.#header(), succeeded: false, prevKv: this.#kv(current) };
          }
          this.#data.set(id, {
            key: req.key,
            value: req.value,
            createRevision: current?.createRevision ?? index,
            modRevision: index,
            version: (current?.version ?? 0) + 1,
          });
          return { header: this.#header(), succeeded: true, prevKv: req.prevKv ? this.#kv(current) : null };
        });
        callback(null, res);
      },
      Delete: (call, callback) => {
        const req = call.request;
        this.requests.Delete.push(req);
        if (this.#intercept('Delete', call, callback)) return;
        if (!this.#checkKey(req.key, callback)) return;
        const res = this.#dedupe(req.clientId, req.sequence, () => {
          const id = req.key.toString('hex');
          const current = this.#data.get(id);
          ++this.revision;
          if (req.expectedModRevision !== undefined && req.expectedModRevision !== (current?.modRevision ?? 0)) {
            return { header: this.#header(), deleted: 0, succeeded: false, prevKv: this.#kv(current) };
          }
          this.#data.delete(id);
          return { header: this.#header(), deleted: current ? 1 : 0, succeeded: true, prevKv: req.prevKv ? this.#kv(current) : null };
        });
        callback(null, res);
      },
      Get: (call, callback) => {
        const req = call.request;
        this.requests.Get.push(req);
        if (this.#intercept('Get', call, callback)) return;
        if (!this.#checkKey(req.key, callback)) return;
        callback(null, { header: this.#header(), kv: this.#kv(this.#data.get(req.key.toString('hex'))) });
      },
      Range: (call, callback) => {
        const req = call.request;
        this.requests.Range.push(req);
        if (this.#intercept('Range', call, callback)) return;
        if (req.limit > 10_000) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: `limit: must be 0..10000, got ${req.limit}` });
          return;
        }
        const limit = req.limit || 1000;
        const sorted = [...this.#data.values()].sort((a, b) => Buffer.compare(a.key, b.key));
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
          header: this.#header(),
          kvs: page.map((s) => ({ ...s, value: req.keysOnly ? Buffer.alloc(0) : s.value })),
          more,
          continuation: more && last ? Buffer.concat([last.key, Buffer.from([0])]) : Buffer.alloc(0),
        });
      },
    };
  }
}
