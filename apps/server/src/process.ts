// A server process started by a test or a benchmark: its output goes to a log
// file, and it is signalled by its own PID only.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVER_NODE_FLAGS } from './node-flags';

export abstract class ServerProcess {
  child: ChildProcess | undefined;
  readonly logPath: string;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    /** host:port clients reach it at. */
    readonly address: string,
    readonly dataDir: string,
    logDir: string,
  ) {
    this.logPath = join(logDir, `${id}.log`);
  }

  /** The executable and arguments of one start. */
  protected abstract commandLine(extraArgs: string[]): { bin: string; args: string[] };

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  start(extraArgs: string[] = []): void {
    if (this.running) throw new Error(`${this.id} is already running`);
    const log = createWriteStream(this.logPath, { flags: 'a' });
    const { bin, args } = this.commandLine(extraArgs);
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // Both into one file, which is closed once both are: a test reading the
    // log after waitExit() sees the process's last words.
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('close', () => {
        log.end(() => resolve());
      }),
    );
  }

  /** Sends a signal to this process only (by its PID). */
  signal(sig: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid !== undefined) process.kill(pid, sig);
  }

  async kill9(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (after SIGCONT, in case it is paused), then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  async waitExit(): Promise<number | null> {
    await this.exited;
    return this.child?.exitCode ?? null;
  }

  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }
}

/** One `bellwether serve` process of the server build whose entry point is `serverBin` (dist/bin.js). */
export class ServeProcess extends ServerProcess {
  constructor(
    id: string,
    address: string,
    dataDir: string,
    logDir: string,
    private readonly serverBin: string,
    /** The flags after `serve`. */
    private readonly serveArgs: string[],
    /** Node.js flags for the process, e.g. --cpu-prof. */
    private readonly nodeFlags: string[] = [],
  ) {
    super(id, address, dataDir, logDir);
  }

  protected commandLine(extraArgs: string[]): { bin: string; args: string[] } {
    return { bin: process.execPath, args: [...SERVER_NODE_FLAGS, ...this.nodeFlags, this.serverBin, 'serve', ...this.serveArgs, ...extraArgs] };
  }
}
