// A local etcd cluster for side-by-side runs: members on 127.0.0.1 with
// ports the OS picked, data in temp dirs, stopped by PID. And a grpc-js
// client for etcd's v3 KV API from protos/etcd_kv_subset.proto.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '@bellwether/integration/cluster';
import { ServerProcess } from '@bellwether/server/process';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { leaderOrStop, sleep } from './util';

export const ETCD_PROTO = fileURLToPath(new URL('../protos/etcd_kv_subset.proto', import.meta.url));

let etcdApi: grpc.GrpcObject | undefined;

/** etcdserverpb as grpc-js constructors. 64-bit integers as strings: member ids use all 64 bits. */
export function loadEtcdApi(): { KV: grpc.ServiceClientConstructor; Maintenance: grpc.ServiceClientConstructor } {
  if (!etcdApi) {
    const def = protoLoader.loadSync(ETCD_PROTO, { longs: String, enums: String, defaults: true, oneofs: true });
    etcdApi = grpc.loadPackageDefinition(def);
  }
  const pkg = etcdApi['etcdserverpb'] as grpc.GrpcObject;
  return { KV: pkg['KV'] as grpc.ServiceClientConstructor, Maintenance: pkg['Maintenance'] as grpc.ServiceClientConstructor };
}

/** The etcd binary, or undefined when it is not installed. */
export function etcdBinary(): string | undefined {
  for (const p of [process.env['ETCD_BIN'], '/usr/bin/etcd', '/usr/local/bin/etcd']) {
    if (!p) continue;
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore', timeout: 10_000 });
      return p;
    } catch {
      // try the next
    }
  }
  return undefined;
}

const ENSURE_SCRIPT = fileURLToPath(new URL('../scripts/ensure-etcd.sh', import.meta.url));

/** The etcd binary, installing Debian's etcd-server first when it is missing and this process may (root, apt). */
export function ensureEtcd(): string {
  const found = etcdBinary();
  if (found) return found;
  try {
    execFileSync('bash', [ENSURE_SCRIPT], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
  } catch {
    // the script said why
  }
  const bin = etcdBinary();
  if (!bin) throw new Error('etcd is not installed: apt-get install -y etcd-server etcd-client (or set ETCD_BIN)');
  return bin;
}

export function etcdVersion(bin: string): string {
  try {
    return /etcd Version: (\S+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 }))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** One etcd member process. */
export class EtcdMember extends ServerProcess {
  constructor(
    id: string,
    /** host:port of the client (gRPC) listener. */
    address: string,
    dataDir: string,
    private readonly bin: string,
    private readonly args: string[],
    logDir: string,
  ) {
    super(id, address, dataDir, logDir);
  }

  protected commandLine(extraArgs: string[]): { bin: string; args: string[] } {
    return { bin: this.bin, args: [...this.args, ...extraArgs] };
  }
}

export interface EtcdStatus {
  memberId: string;
  leader: string;
  raftIndex: number;
  raftAppliedIndex: number;
}

export class EtcdCluster {
  private readonly maint = new Map<string, grpc.Client>();

  private constructor(
    readonly members: EtcdMember[],
    readonly root: string,
    readonly version: string,
  ) {}

  static async start(opts: { size: number; bin?: string; extraArgs?: string[] }): Promise<EtcdCluster> {
    const bin = opts.bin ?? etcdBinary();
    if (!bin) throw new Error('etcd is not installed: apt-get install -y etcd-server (or set ETCD_BIN)');
    const root = mkdtempSync(join(tmpdir(), 'bellwether-bench-etcd-'));
    const ports = await freePorts(opts.size * 2);
    const names = Array.from({ length: opts.size }, (_, i) => `e${i + 1}`);
    const peerUrl = (i: number) => `http://127.0.0.1:${ports[opts.size + i]}`;
    const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
    const token = `bench-${randomUUID()}`;
    const members = names.map((name, i) => {
      const dataDir = join(root, name);
      mkdirSync(dataDir, { recursive: true });
      const clientUrl = `http://127.0.0.1:${ports[i]}`;
      const args = [
        '--name', name,
        '--data-dir', dataDir,
        '--listen-client-urls', clientUrl,
        '--advertise-client-urls', clientUrl,
        '--listen-peer-urls', peerUrl(i),
        '--initial-advertise-peer-urls', peerUrl(i),
        '--initial-cluster', initialCluster,
        '--initial-cluster-token', token,
        '--initial-cluster-state', 'new',
        // The 1 MiB row writes more than etcd's default 2 GiB quota of revisions (nothing compacts them in a run); 8 GiB is its documented ceiling.
        '--quota-backend-bytes', String(8 * 1024 ** 3),
        '--logger', 'zap',
        '--log-level', 'warn',
        ...(opts.extraArgs ?? []),
      ];
      return new EtcdMember(name, `127.0.0.1:${ports[i]}`, dataDir, bin, args, root);
    });
    for (const m of members) m.start();
    const cluster = new EtcdCluster(members, root, etcdVersion(bin));
    await leaderOrStop(cluster);
    return cluster;
  }

  private maintenance(m: EtcdMember): grpc.Client {
    let c = this.maint.get(m.id);
    if (!c) {
      c = new (loadEtcdApi().Maintenance)(m.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      this.maint.set(m.id, c);
    }
    return c;
  }

  status(m: EtcdMember, deadlineMs = 1000): Promise<EtcdStatus> {
    const c = this.maintenance(m) as unknown as { Status: (req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Record<string, unknown>) => void) => void };
    return new Promise((resolve, reject) => {
      c.Status({}, { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err || !res) return reject(err ?? new Error('empty status'));
        const header = res['header'] as { memberId: string } | null;
        resolve({
          memberId: header?.memberId ?? '',
          leader: String(res['leader']),
          raftIndex: Number(res['raftIndex']),
          raftAppliedIndex: Number(res['raftAppliedIndex']),
        });
      });
    });
  }

  /** Waits until every running member reports the same leader, and returns the leader member. */
  async waitForLeader(timeoutMs = 10_000): Promise<EtcdMember> {
    const until = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const running = this.members.filter((m) => m.running);
      const st = await Promise.all(
        running.map((m) =>
          this.status(m).catch((e: Error) => {
            last = e.message;
            return undefined;
          }),
        ),
      );
      const leaders = new Set(st.map((s) => s?.leader));
      if (st.every((s) => s !== undefined) && leaders.size === 1) {
        const leaderId = [...leaders][0];
        const i = st.findIndex((s) => s!.memberId === leaderId);
        if (leaderId !== '0' && i >= 0) return running[i]!;
      }
      if (Date.now() > until) throw new Error(`etcd: no agreed leader within ${timeoutMs} ms${last ? ` (last error: ${last})` : ''}`);
      await sleep(50);
    }
  }

  /** Stops every member this cluster started, by PID, and removes the data. */
  async stop(keepData = false): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
    for (const c of this.maint.values()) c.close();
    this.maint.clear();
    if (!keepData) rmSync(this.root, { recursive: true, force: true });
  }

  logs(): string {
    return this.members.map((m) => `--- ${m.id}\n${m.log().split('\n').slice(-20).join('\n')}`).join('\n');
  }
}
