// Runs the bwctl binary as a separate process, as an operator would.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BWCTL_BIN = fileURLToPath(new URL('../../../apps/bwctl/dist/bin.js', import.meta.url));

export interface BwctlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

type BwctlOptions = { endpoints?: string[]; input?: string; env?: NodeJS.ProcessEnv };

/** Runs `bwctl ...args` (endpoints via BWCTL_ENDPOINTS when given); resolves when it exits. */
export function bwctl(args: string[], opts: BwctlOptions = {}): Promise<BwctlRun> {
  return startBwctl(args, opts).done;
}

/** Starts `bwctl ...args` and returns at once: for commands that run until stopped (stop it by its PID). */
export function startBwctl(args: string[], opts: BwctlOptions = {}): { pid: number | undefined; done: Promise<BwctlRun> } {
  const env = { ...process.env, ...opts.env };
  delete env['BWCTL_ENDPOINTS'];
  if (opts.endpoints) env['BWCTL_ENDPOINTS'] = opts.endpoints.join(',');
  const child = spawn(process.execPath, [BWCTL_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<BwctlRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  child.stdin.end(opts.input ?? '');
  return { pid: child.pid, done };
}

/** Runs bwctl with `-w json` and parses its output; rejects with everything it printed when it fails. */
export async function bwctlJson<T>(args: string[], opts: { endpoints?: string[]; expectCode?: number } = {}): Promise<T> {
  const run = await bwctl(['-w', 'json', ...args], opts);
  if (run.code !== (opts.expectCode ?? 0)) throw new Error(`bwctl ${args.join(' ')} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
