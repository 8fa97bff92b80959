import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_OPEN_FILES_RANGE, Store } from '../src/index';
import { putEntry } from './helpers';

/** LevelDB table files of `dir` mapped into this process's memory. */
function mappedTables(dir: string): number {
  const tables = new Set<string>();
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const path = line.slice(line.indexOf('/'));
    if (path.startsWith(dir) && path.endsWith('.ldb')) tables.add(path);
  }
  return tables.size;
}

test('maxOpenFiles bounds the LevelDB tables held open (and mapped) while a snapshot reads every one', { skip: process.platform !== 'linux' && 'reads /proc/self/maps' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-store-'));
  const limit = MAX_OPEN_FILES_RANGE.min;
  // LevelDB's smallest tables (1 MiB) and memtable, so that ~100 MiB of
  // values make more tables than the limit.
  // Values kept in LevelDB, not in blob files: the test needs its tables.
  const store = await Store.open(dir, { maxOpenFiles: limit, maxTableBytes: 1024 * 1024, memtableBytes: 1024 * 1024, blobMinBytes: Number.POSITIVE_INFINITY });
  // Closed before the directory goes: compactions may still be writing to it.
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const tableCount = () => readdirSync(dir).filter((f) => f.endsWith('.ldb')).length;
  let index = 0;
  // 1 MiB values that do not compress: a table each, once compacted.
  while (tableCount() <= limit + 20 && index < 1000) {
    await store.apply(Array.from({ length: 10 }, () => ++index).map((i) => putEntry(i, `k${String(i).padStart(4, '0')}`, randomBytes(768 * 1024).toString('base64'))));
  }
  let read = 0;
  let mostOpen = 0;
  for await (const chunk of store.snapshotReader().chunks()) {
    read += chunk.length;
    mostOpen = Math.max(mostOpen, mappedTables(dir));
  }
  const tables = tableCount();
  assert.ok(read >= index * 1024 * 1024, `the snapshot read ${read} bytes of ${index} values`);
  assert.ok(tables > limit, `the test needs more tables (${tables}) than the limit (${limit})`);
  assert.ok(mostOpen <= limit, `${mostOpen} tables open at once, with maxOpenFiles ${limit}`);
});
