import { type BatchOp, writeBatch } from '../batch';
import { Reader } from '../codec';
import type { StoreDatabase } from '../database';
import { HARD_STATE_KEY, logKey, metaKey } from '../keys';
import type { HardState, LogEntry } from '../storage-interfaces';
import type { WalFiles } from './wal-files';
import { entryRecord, hardStateRecord, snapshotRecord } from './wal-records';

/**
 * Data directories written before the log moved out of LevelDB keep it
 * there: entries under 'l' + u64be(index) (term, type, data length, data),
 * the hard state under 'h', the compaction point's meta under meta
 * 'snapshot'. At open such a log is copied into a first segment, synced,
 * and only then deleted from LevelDB: while the old keys exist the copy is
 * not known to be whole, so an interrupted move is done again from them.
 */
const LEGACY_LOG_RANGE = { gte: logKey(0), lte: logKey(Number.MAX_SAFE_INTEGER) };
const LEGACY_SNAPSHOT_KEY = metaKey('snapshot');
const ENTRY_TYPES = ['normal', 'noop', 'conf'] as const;

/** Appends of the copy are gathered up to this size. */
const COPY_CHUNK_BYTES = 32 * 1024 * 1024;

export async function moveLegacyLog(db: StoreDatabase, files: WalFiles): Promise<void> {
  const [rawHardState, meta] = await db.getMany([HARD_STATE_KEY, LEGACY_SNAPSHOT_KEY]);
  let firstIndex: number | undefined;
  for await (const key of db.keys({ ...LEGACY_LOG_RANGE, limit: 1 })) firstIndex = indexOf(key);
  if (!rawHardState && !meta && firstIndex === undefined) return;

  for (const name of await files.list()) await files.remove(name);
  const file = await files.create('0000000000000001.wal');
  const moved: number[] = [];
  try {
    let chunks: Uint8Array[] = [];
    let bytes = 0;
    if (meta) {
      // The node's snapshot meta starts with its index (a varint): the point an empty log resumes after.
      const point = firstIndex !== undefined ? firstIndex - 1 : new Reader(meta).uint();
      chunks.push(snapshotRecord('compact', point, meta));
    }
    if (rawHardState) chunks.push(hardStateRecord(decodeLegacyHardState(rawHardState)));
    for await (const [key, value] of db.iterator(LEGACY_LOG_RANGE)) {
      const e = decodeLegacyEntry(indexOf(key), value);
      for (const c of entryRecord(e)) {
        chunks.push(c);
        bytes += c.length;
      }
      moved.push(e.index);
      if (bytes >= COPY_CHUNK_BYTES) {
        await file.append(chunks, true);
        chunks = [];
        bytes = 0;
      }
    }
    await file.append(chunks, true);
  } finally {
    await file.close();
  }
  const ops: BatchOp[] = [{ type: 'del', key: HARD_STATE_KEY }, { type: 'del', key: LEGACY_SNAPSHOT_KEY }, ...moved.map((i) => ({ type: 'del' as const, key: logKey(i) }))];
  await writeBatch(db, ops, true);
}

const indexOf = (key: Buffer): number => Number(key.readBigUInt64BE(1));

function decodeLegacyHardState(raw: Uint8Array): HardState {
  const r = new Reader(raw);
  const term = r.uint();
  const vote = r.optional((r) => r.string()) ?? null;
  return { term, vote, commit: r.uint() };
}

function decodeLegacyEntry(index: number, raw: Uint8Array): LogEntry {
  const r = new Reader(raw);
  const term = r.uint();
  const type = ENTRY_TYPES[r.u8()];
  if (!type) throw new RangeError(`store: legacy log entry ${index} has an unknown type`);
  return { index, term, type, data: r.bytes() };
}
