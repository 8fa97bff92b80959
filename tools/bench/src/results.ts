// Where results go and what every JSON result carries about the machine.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function machine() {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Writes `data` as JSON to `out`, or to bench-results/<name>-<time>.json at the repo root. Returns the path. */
export function writeResult(name: string, data: unknown, out?: string): string {
  const path = out ? resolve(process.env['INIT_CWD'] ?? process.cwd(), out) : join(REPO_ROOT, 'bench-results', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}
