// What storing large values costs one member's store, without the network:
// applies puts of random values at random keys (batches of --batch, as a
// busy member's applies are, with changes tracked for watches as the node
// does, and released unread as on a member no prev_kv watch reads) for
// --seconds, once with values in blob files (the default for values of
// 64 KiB and more) and once with them all in LevelDB, alternating, and
// prints puts/s, CPU per put (all threads) and bytes on disk.
//
//   pnpm --filter @bellwether/bench store-values [--value-bytes 1048576] [--keys 1280] [--seconds 40] [--rounds 2]
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCommand, type LogEntry, releaseChanges, Store, type StoreOpenOptions } from '@bellwether/store';
import { KeySpace } from './keys';
import { type FlagSpec, type FlagValues, fmtNum, Rng, runCommand, table, UsageError } from './util';

const FLAGS: Record<string, FlagSpec> = {
  'value-bytes': { kind: 'int', default: 1024 * 1024, help: 'bytes per value' },
  keys: { kind: 'int', default: 1280, help: 'distinct keys (all written once before the measured part)' },
  batch: { kind: 'int', default: 8, help: 'puts per apply' },
  seconds: { kind: 'int', default: 40, help: 'measured seconds per store' },
  rounds: { kind: 'int', default: 2, help: 'times both stores are run, alternating which goes first' },
  help: { kind: 'bool', default: false, help: 'print this help' },
};

const STORES: { name: string; opts: StoreOpenOptions }[] = [
  { name: 'blob files', opts: {} },
  { name: 'LevelDB only', opts: { blobMinBytes: Number.POSITIVE_INFINITY } },
];

function bytesUnder(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) total += bytesUnder(path);
    else if (e.isFile()) total += statSync(path).size;
  }
  return total;
}

async function run(opts: StoreOpenOptions, keys: KeySpace, rng: Rng, batch: number, seconds: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-store-values-'));
  const store = await Store.open(dir, { ...opts, trackChanges: true });
  try {
    let index = 0;
    const put = (key: number): LogEntry => {
      index++;
      const data = encodeCommand({ op: 'put', key: keys.key(key), value: keys.value(rng), clientId: 'store-values', sequence: index, minUnackedSequence: index, prevKv: false });
      return { index, term: 1, type: 'normal', data };
    };
    // Changes are let go at once, as on a member no prev_kv watch reads.
    const apply = async (entries: LogEntry[]) => releaseChanges((await store.apply(entries)).changes);
    for (let i = 0; i < keys.size; i += batch) await apply(Array.from({ length: Math.min(batch, keys.size - i) }, (_, j) => put(i + j)));
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let puts = 0;
    while (performance.now() - t0 < seconds * 1000) {
      await apply(Array.from({ length: batch }, () => put(rng.below(keys.size))));
      puts += batch;
    }
    const cpu = process.cpuUsage(c0);
    const wall = (performance.now() - t0) / 1000;
    const blobs = store.stateMachine.blobs.usage;
    return [fmtNum(puts / wall), ((cpu.user + cpu.system) / 1000 / puts).toFixed(2), (bytesUnder(dir) / 2 ** 20).toFixed(0), blobs.files ? `${blobs.files} (${((100 * blobs.live) / blobs.bytes).toFixed(0)}% live)` : '-'];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(f: FlagValues): Promise<void> {
  const batch = f['batch'] as number;
  if ((f['keys'] as number) < 1 || batch < 1 || (f['seconds'] as number) < 1) throw new UsageError('--keys, --batch and --seconds: at least 1');
  const keys = new KeySpace({ keyspace: f['keys'] as number, keyBytes: 16, valueBytes: f['value-bytes'] as number });
  const rng = new Rng(1);
  const rows: string[][] = [];
  for (let round = 1; round <= (f['rounds'] as number); round++) {
    for (const s of round % 2 ? STORES : [...STORES].reverse()) {
      rows.push([String(round), s.name, ...(await run(s.opts, keys, rng, batch, f['seconds'] as number))]);
    }
  }
  console.log(`${fmtNum(keys.size)} keys, ${f['value-bytes']}-byte values, ${batch} puts per apply, ${f['seconds']} s each`);
  console.log(table(['round', 'values in', 'puts/s', 'CPU ms/put (all threads)', 'MiB on disk at the end', 'blob files'], rows));
}

runCommand('store-values', 'Usage: pnpm --filter @bellwether/bench store-values [flags]', FLAGS, main);
