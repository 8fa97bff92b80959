// Small helpers shared by the bench commands: flags, randomness, formatting.
import { type FlagValue, FlagSyntaxError, readFlags } from '@bellwether/server/flag-reader';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class UsageError extends Error {}

export interface FlagSpec {
  /** 'string' | 'int' | 'number' | 'bool' | 'list' (comma-separated strings). */
  kind: 'string' | 'int' | 'number' | 'bool' | 'list';
  help: string;
  default?: string | number | boolean | string[];
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

/** Parses `--name value`, `--name=value` and bare `--flag` for bools. `--` is skipped (pnpm passes it through). */
export function parseFlags(argv: readonly string[], specs: Record<string, FlagSpec>): FlagValues {
  const out: FlagValues = {};
  for (const [name, spec] of Object.entries(specs)) out[name] = spec.default;
  const types = Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, spec.kind === 'bool' ? 'boolean' : 'string'] as const));
  let given: FlagValue[];
  try {
    given = readFlags(argv, types, { doubleDash: 'skip' }) as FlagValue[];
  } catch (err) {
    throw err instanceof FlagSyntaxError ? new UsageError(err.message) : err;
  }
  for (const [name, value] of given) out[name] = convert(name, specs[name]!, value === true ? 'true' : value);
  return out;
}

function convert(name: string, spec: FlagSpec, raw: string): string | number | boolean | string[] {
  switch (spec.kind) {
    case 'bool':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new UsageError(`--${name}: expected true or false, got "${raw}"`);
    case 'int': {
      const n = Number(raw.replace(/_/g, ''));
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name}: expected a non-negative integer, got "${raw}"`);
      return n;
    }
    case 'number': {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name}: expected a non-negative number, got "${raw}"`);
      return n;
    }
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    default:
      return raw;
  }
}

export function flagHelp(usage: string, specs: Record<string, FlagSpec>): string {
  const lines = [usage, '', 'Flags:'];
  for (const [name, spec] of Object.entries(specs)) {
    const def = spec.default !== undefined && spec.default !== false ? ` (default ${Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default)})` : '';
    lines.push(`  --${name}${spec.kind === 'bool' ? '' : ' ' + spec.kind.toUpperCase()}`.padEnd(30) + spec.help + def);
  }
  return lines.join('\n');
}

/** xorshift128+: fast, seeded, good enough to pick keys uniformly. */
export class Rng {
  private s0: number;
  private s1: number;
  constructor(seed: number) {
    this.s0 = (seed ^ 0x9e3779b9) >>> 0 || 1;
    this.s1 = (Math.imul(seed, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0 || 2;
    for (let i = 0; i < 8; i++) this.next();
  }
  /** Uniform integer in [0, 2^32). */
  next(): number {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x ^= x << 23;
    x ^= x >>> 17;
    x ^= y ^ (y >>> 26);
    this.s1 = x >>> 0;
    return (this.s0 + this.s1) >>> 0;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }
}

export function fmtNum(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Renders rows as an aligned plain-text table (first column left, the rest right). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Runs `fn` with a hard time limit; rejects with a message naming `what`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for a freshly started cluster's first leader; without one it stops the cluster and fails with its logs. */
export async function leaderOrStop(cluster: { waitForLeader(timeoutMs: number): Promise<unknown>; logs(): string; stop(): Promise<void> }): Promise<void> {
  try {
    await cluster.waitForLeader(30_000);
  } catch (err) {
    const logs = cluster.logs();
    await cluster.stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}
