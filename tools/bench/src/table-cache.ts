// What LevelDB's open-file limit (--store-max-open-files) costs point reads:
// fills a store with small values at random keys, then reads random keys
// (64 at a time, batched into one getMany as a member's reads are) with each
// limit in turn, and prints CPU per read. Beyond ~limit tables, a read whose
// table was closed reopens it; a smaller limit keeps fewer tables mapped into
// memory (docs/large-values.md).
//
//   pnpm --filter @bellwether/bench table-cache [--keys 1000000] [--limits 1000,100] [--reads 200000]
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCommand, type LogEntry, MAX_OPEN_FILES_RANGE, Store } from '@bellwether/store';
import { KeySpace } from './keys';
import { type FlagSpec, type FlagValues, fmtNum, Rng, runCommand, table, UsageError } from './util';

const FLAGS: Record<string, FlagSpec> = {
  keys: { kind: 'int', default: 1_000_000, help: 'distinct keys written (in random order) before reading' },
  'value-bytes': { kind: 'int', default: 100, help: 'bytes per value' },
  limits: { kind: 'string', default: '1000,100', help: 'open-file limits to read with, in turn (the store is reopened with each)' },
  reads: { kind: 'int', default: 200_000, help: 'random reads per limit' },
  rounds: { kind: 'int', default: 2, help: 'times the list of limits is run, alternating' },
  help: { kind: 'bool', default: false, help: 'print this help' },
};

async function fill(dir: string, keys: KeySpace, rng: Rng): Promise<void> {
  const store = await Store.open(dir);
  try {
    const order = Uint32Array.from({ length: keys.size }, (_, i) => i);
    for (let i = keys.size - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let i = 0; i < keys.size; i += 1000) {
      const entries: LogEntry[] = [];
      for (let j = i; j < Math.min(keys.size, i + 1000); j++) {
        const data = encodeCommand({ op: 'put', key: keys.key(order[j]!), value: keys.value(rng), clientId: '', sequence: 0, minUnackedSequence: 0, prevKv: false });
        entries.push({ index: j + 1, term: 1, type: 'normal', data });
      }
      await store.apply(entries);
    }
  } finally {
    await store.close();
  }
}

async function readWith(dir: string, maxOpenFiles: number, keys: KeySpace, rng: Rng, reads: number): Promise<{ cpuUs: number; wallUs: number }> {
  const store = await Store.open(dir, { maxOpenFiles });
  try {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let done = 0; done < reads; done += 64) {
      await Promise.all(Array.from({ length: 64 }, () => store.read(keys.key(rng.below(keys.size)))));
    }
    const cpu = process.cpuUsage(c0);
    return { cpuUs: (cpu.user + cpu.system) / reads, wallUs: ((performance.now() - t0) * 1000) / reads };
  } finally {
    await store.close();
  }
}

async function main(f: FlagValues): Promise<void> {
  const reads = f['reads'] as number;
  const limits = (f['limits'] as string).split(',').map(Number);
  if ((f['keys'] as number) < 1 || reads < 64) throw new UsageError('--keys: at least 1; --reads: at least 64');
  const { min, max } = MAX_OPEN_FILES_RANGE;
  if (limits.some((l) => !Number.isInteger(l) || l < min || l > max)) throw new UsageError(`--limits: integers from ${min} to ${max} (LevelDB's range), got ${f['limits']}`);
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-table-cache-'));
  try {
    const t0 = performance.now();
    const keys = new KeySpace({ keyspace: f['keys'] as number, keyBytes: 16, valueBytes: f['value-bytes'] as number });
    const rng = new Rng(1);
    await fill(dir, keys, rng);
    const tables = readdirSync(dir).filter((n) => n.endsWith('.ldb')).length;
    console.log(`filled ${fmtNum(keys.size)} keys of ${f['value-bytes']} bytes in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${tables} tables`);
    const rows: string[][] = [];
    for (let round = 1; round <= (f['rounds'] as number); round++) {
      for (const limit of round % 2 ? limits : [...limits].reverse()) {
        const r = await readWith(dir, limit, keys, rng, reads);
        rows.push([String(round), String(limit), r.cpuUs.toFixed(2), r.wallUs.toFixed(2)]);
      }
    }
    console.log(table(['round', 'open files', 'CPU µs/read (all threads)', 'wall µs/read'], rows));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runCommand('table-cache', 'Usage: pnpm --filter @bellwether/bench table-cache [flags]', FLAGS, main);
