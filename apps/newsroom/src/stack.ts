// The whole demo site on one machine: a 3-member Bellwether cluster (the
// integration harness's real `bellwether serve` processes), two newsroom app
// processes, and the round-robin proxy in front. Used by `pnpm demo` and by
// the browser test.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePorts, TestCluster, waitFor } from '@bellwether/integration/cluster';
import { ServerProcess } from '@bellwether/server/process';
import { type ProxyOptions, type RoundRobinProxy, startProxy } from './proxy';

const APP_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** One `newsroom` app process (built: dist/main.js). */
export class AppProcess extends ServerProcess {
  constructor(
    name: string,
    address: string,
    logDir: string,
    private readonly args: string[],
  ) {
    super(name, address, logDir, logDir);
  }

  get url(): string {
    return `http://${this.address}`;
  }

  protected commandLine(extraArgs: string[]): { bin: string; args: string[] } {
    return { bin: process.execPath, args: [APP_MAIN, '--listen', this.address, '--name', this.id, ...this.args, ...extraArgs] };
  }
}

export interface StackOptions {
  /** The proxy's port (default: any free one). */
  port?: number;
  onForward?: ProxyOptions['onForward'];
}

export class NewsroomStack {
  private constructor(
    readonly cluster: TestCluster,
    readonly apps: AppProcess[],
    readonly proxy: RoundRobinProxy,
  ) {}

  get url(): string {
    return this.proxy.url;
  }

  static async start(options: StackOptions = {}): Promise<NewsroomStack> {
    const cluster = await TestCluster.start({ size: 3 });
    const apps: AppProcess[] = [];
    try {
      await cluster.waitForLeader(60_000);
      const endpoints = cluster.nodes.map((n) => n.address).join(',');
      const secret = randomBytes(24).toString('hex');
      const ports = await freePorts(2);
      for (const [i, port] of ports.entries()) {
        const app = new AppProcess(`app-${String.fromCharCode(97 + i)}`, `127.0.0.1:${port}`, cluster.root, ['--endpoints', endpoints, '--secret', secret]);
        apps.push(app);
        app.start();
      }
      for (const app of apps) {
        await waitFor(
          async () => {
            if (!app.running) throw new Error(`${app.id} exited: ${app.log().slice(-2000)}`);
            return (await fetch(`${app.url}/healthz`)).ok || undefined;
          },
          60_000,
          `${app.id} answers on ${app.url}`,
        );
      }
      const proxy = await startProxy({ targets: apps.map((a) => a.address), onForward: options.onForward }, options.port);
      return new NewsroomStack(cluster, apps, proxy);
    } catch (err) {
      await Promise.all(apps.map((a) => a.stop()));
      await cluster.stop();
      throw err;
    }
  }

  /** Stops the proxy, the app processes and the cluster (each by PID), and removes the data. */
  async stop(keepData = false): Promise<void> {
    await this.proxy.close();
    await Promise.all(this.apps.map((a) => a.stop()));
    await this.cluster.stop(keepData);
  }
}
