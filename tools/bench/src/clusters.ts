// Local clusters the bench starts and stops itself: Bellwether (through
// tools/integration's harness: real `bellwether serve` processes) and etcd.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_BIN, TestCluster } from '@bellwether/integration/cluster';
import { AuthAdmin } from '@bellwether/integration/auth-admin';
import { enableAuth, tlsClusterOptions } from '@bellwether/integration/secure';
import * as grpc from '@grpc/grpc-js';
import type { ServerProcess } from '@bellwether/server/process';
import { EtcdCluster } from './etcd';
import type { ServerPid } from './procstat';
import { leaderOrStop } from './util';

export type System = 'bellwether' | 'etcd';

/** Loaded into profiled nodes (node refuses --cpu-prof in NODE_OPTIONS, not --import). */
const PROFILE_PRELOAD = fileURLToPath(new URL('../scripts/cpu-profile-preload.mjs', import.meta.url));
/** Loaded into nodes whose copies of large buffers are counted (copy-count.ts). */
export const COPY_COUNT_PRELOAD = fileURLToPath(new URL('../scripts/copy-count-preload.mjs', import.meta.url));

export interface LocalCluster {
  readonly system: System;
  readonly version: string;
  /** Client addresses of every member, in member order. */
  addresses(): string[];
  serverPids(): ServerPid[];
  leaderAddress(timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
  logs(): string;
  /** What clients need to reach it (TLS CA, credentials). */
  readonly security: ClientSecurity;
}

export interface StartOptions {
  size?: number;
  /** Bellwether only: write a V8 CPU profile per node into this directory (at a clean stop). */
  profileDir?: string;
  /** Bellwether only: count each node's copies of large buffers into this directory (scripts/copy-count-preload.mjs). */
  copyCountDir?: string;
  /** Extra server flags. */
  args?: string[];
  /** Bellwether only: client TLS and peer mutual TLS on separate ports (throwaway certificates). */
  tls?: boolean;
  /** Bellwether only: auth enabled with a root user; clients log in as root. */
  auth?: boolean;
}

/** How clients reach a secured cluster (see StartOptions.tls / auth). */
export interface ClientSecurity {
  tls?: { ca: Buffer };
  auth?: { username: string; password: string };
}

/** What both harnesses offer: member processes and a way to find the leader. */
interface ProcessGroup {
  processes(): ServerProcess[];
  waitForLeader(timeoutMs: number): Promise<{ address: string }>;
  stop(): Promise<void>;
  logs(): string;
}

/** A LocalCluster over a group of server processes, whatever the system. */
abstract class ProcessCluster implements LocalCluster {
  abstract readonly system: System;
  abstract readonly version: string;
  protected abstract readonly group: ProcessGroup;
  /** What clients need to reach it (TLS CA, credentials); empty for a plain cluster. */
  security: ClientSecurity = {};

  addresses(): string[] {
    return this.group.processes().map((p) => p.address);
  }

  serverPids(): ServerPid[] {
    return this.group.processes().flatMap((p) => (p.pid === undefined ? [] : [{ id: p.id, pid: p.pid }]));
  }

  async leaderAddress(timeoutMs = 10_000): Promise<string> {
    return (await this.group.waitForLeader(timeoutMs)).address;
  }

  stop(): Promise<void> {
    return this.group.stop();
  }

  logs(): string {
    return this.group.logs();
  }
}

export class BellwetherLocal extends ProcessCluster {
  readonly system = 'bellwether' as const;
  readonly version = 'workspace';
  protected readonly group: ProcessGroup;
  private constructor(
    readonly cluster: TestCluster,
    /** Throwaway certificates, removed with the cluster (members re-read them on SIGHUP). */
    certDir?: string,
  ) {
    super();
    this.group = {
      processes: () => cluster.nodes,
      waitForLeader: (ms) => cluster.waitForLeader(ms),
      stop: async () => {
        await cluster.stop();
        if (certDir) rmSync(certDir, { recursive: true, force: true });
      },
      logs: () => cluster.logs(),
    };
  }

  static async start(opts: StartOptions = {}): Promise<BellwetherLocal> {
    if (!existsSync(SERVER_BIN)) throw new Error(`${SERVER_BIN} is missing: run \`pnpm build\` (pnpm bench does)`);
    // The harness spawns with this process's environment: set it for the spawn only.
    const spawnEnv: Record<string, string> = {};
    const preloads: string[] = [];
    const nodeOptions: string[] = [];
    if (opts.profileDir) {
      spawnEnv['BENCH_CPU_PROFILE_DIR'] = resolve(opts.profileDir);
      preloads.push(PROFILE_PRELOAD);
    }
    if (opts.copyCountDir) {
      spawnEnv['BENCH_COPY_COUNT_DIR'] = resolve(opts.copyCountDir);
      preloads.push(COPY_COUNT_PRELOAD);
      // Call sites named in the TypeScript sources, not the bundles.
      nodeOptions.push('--enable-source-maps');
    }
    for (const dir of Object.values(spawnEnv)) mkdirSync(dir, { recursive: true });
    const saved = process.env['NODE_OPTIONS'];
    if (preloads.length > 0) {
      process.env['NODE_OPTIONS'] = [saved ?? '', ...nodeOptions, ...preloads.map((p) => `--import=${p}`)].join(' ').trim();
      Object.assign(process.env, spawnEnv);
    }
    let cluster: TestCluster;
    const size = opts.size ?? 3;
    const certDir = opts.tls ? mkdtempSync(join(tmpdir(), 'bellwether-bench-tls-')) : undefined;
    const tls = certDir ? tlsClusterOptions(certDir, size) : undefined;
    try {
      cluster = await TestCluster.start({ size, args: ['--log-level', 'warn', ...(opts.args ?? [])], ...(tls?.options ?? {}) });
    } finally {
      if (preloads.length > 0) {
        if (saved === undefined) delete process.env['NODE_OPTIONS'];
        else process.env['NODE_OPTIONS'] = saved;
        for (const k of Object.keys(spawnEnv)) delete process.env[k];
      }
    }
    const local = new BellwetherLocal(cluster, certDir);
    await leaderOrStop(cluster);
    if (tls) local.security.tls = { ca: tls.ca };
    if (opts.auth) {
      const password = 'bench-root-password';
      const leader = await local.leaderAddress();
      await enableAuth(leader, password, tls?.options.credentials);
      local.security.auth = { username: 'root', password };
      // The harness's own Status calls now need a token too.
      const admin = new AuthAdmin(tls?.options.credentials);
      const md = new grpc.Metadata();
      try {
        md.set('authorization', `Bearer ${await admin.token(leader, 'root', password)}`);
      } finally {
        admin.close();
      }
      cluster.callMetadata = () => md;
    }
    return local;
  }

}

export class EtcdLocal extends ProcessCluster {
  readonly system = 'etcd' as const;
  protected readonly group: ProcessGroup;
  private constructor(readonly cluster: EtcdCluster) {
    super();
    this.group = {
      processes: () => cluster.members,
      waitForLeader: (ms) => cluster.waitForLeader(ms),
      stop: () => cluster.stop(),
      logs: () => cluster.logs(),
    };
  }

  get version(): string {
    return this.cluster.version;
  }

  static async start(opts: StartOptions = {}): Promise<EtcdLocal> {
    return new EtcdLocal(await EtcdCluster.start({ size: opts.size ?? 3, extraArgs: opts.args ?? [] }));
  }

}

export function startLocal(system: System, opts: StartOptions = {}): Promise<LocalCluster> {
  return system === 'etcd' ? EtcdLocal.start(opts) : BellwetherLocal.start(opts);
}
