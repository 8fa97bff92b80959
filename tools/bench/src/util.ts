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

/**
 * Runs a bench command's `main`: `--help` prints the usage and the flags
 * instead; a UsageError is printed as `name: message` (exit 2), any other
 * error with its stack (exit 1).
 */
export function runCommand(name: string, usage: string, specs: Record<string, FlagSpec>, main: (flags: FlagValues) => Promise<void>): void {
  const run = async () => {
    const flags = parseFlags(process.argv.slice(2), specs);
    if (flags['help']) console.log(flagHelp(usage, specs));
    else await main(flags);
  };
  run().catch((err: unknown) => {
    console.error(err instanceof UsageError ? `${name}: ${err.message}` : err);
    process.exit(err instanceof UsageError ? 2 : 1);
  });
}

export function flagHelp(usage: string, specs: Record<string, FlagSpec>): string {
  const lines = [usage, '', 'Flags:'];
  for (const [name, spec] of Object.entries(specs)) {
    const def = spec.default !== undefined && spec.default !== false ? ` (default ${Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default)})` : '';
    lines.push(`  --${name}${spec.kind === 'bool' ? '' : ' ' + spec.kind.toUpperCase()}`.padEnd(30) + spec.help + def);
  }
  return lines.join('\n');
}

/** A seeded generator, fast and uniform enough to pick keys and fill values. */
export class Rng {
  // xoshiro128** (Blackman and Vigna), seeded through splitmix32: period
  // 2^128 - 1. (An earlier xorshift variant here repeated after 8,190 draws:
  // its "random" values compressed ~100:1 and its random keys covered at
  // most 8,190 distinct keys of any keyspace.)
  private readonly s = new Uint32Array(4);
  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }
  /** Uniform integer in [0, 2^32). */
  next(): number {
    const s = this.s;
    const s0 = s[0]!;
    const s1 = s[1]!;
    const s2 = s[2]!;
    const s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const b2 = s2 ^ s0;
    const b3 = s3 ^ s1;
    s[0] = s0 ^ b3;
    s[1] = s1 ^ b2;
    s[2] = b2 ^ (s1 << 9);
    s[3] = rotl(b3, 11);
    return result;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
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
