import { type BatchOp, writeBatch } from './batch';
import { Reader, Writer } from './codec';
import type { StoreDatabase } from './database';
import { ENTRY_HEADER_ROOM, recordInPlace } from './entry-room';
import { HARD_STATE_KEY, logKey, metaKey } from './keys';
import type { HardState, LogEntry, LogStore } from './storage-interfaces';

const ENTRY_TYPES = ['normal', 'noop', 'conf'] as const;
const SNAPSHOT_META_KEY = metaKey('snapshot');
const LOG_RANGE = { gte: logKey(0), lte: logKey(Number.MAX_SAFE_INTEGER) };

/**
 * The Raft log and hard state in LevelDB: one record per entry under
 * 'l' + u64be(index), the hard state under 'h', the compaction point under
 * meta 'snapshot'. Appends are fsynced (when Raft asks) and are the durable
 * record the state machine is replayed from.
 */
export class RaftLog implements LogStore {
  private constructor(
    private readonly db: StoreDatabase,
    private firstLogIndex: number,
    private lastLogIndex: number,
    /** Makes the state covering entries up to `upTo` durable, or throws if it does not cover them (see compactLog). */
    private readonly coverUpTo: (upTo: number) => Promise<void>,
  ) {}

  /** Reads the bounds of the stored log. */
  static async open(db: StoreDatabase, coverUpTo: (upTo: number) => Promise<void>): Promise<RaftLog> {
    let last = 0;
    let first = 0;
    for await (const key of db.keys({ ...LOG_RANGE, reverse: true, limit: 1 })) last = indexOf(key);
    for await (const key of db.keys({ ...LOG_RANGE, limit: 1 })) first = indexOf(key);
    return new RaftLog(db, first, last, coverUpTo);
  }

  get lastIndex(): number {
    return this.lastLogIndex;
  }

  async loadHardState(): Promise<HardState | undefined> {
    const raw = await this.db.get(HARD_STATE_KEY);
    if (!raw) return undefined;
    const r = new Reader(raw);
    const term = r.uint();
    const vote = r.optional((r) => r.string()) ?? null;
    return { term, vote, commit: r.uint() };
  }

  async loadLog(): Promise<LogEntry[]> {
    return this.read(LOG_RANGE);
  }

  async readLog(lo: number, hi: number): Promise<LogEntry[]> {
    return this.read({ gte: logKey(lo), lte: logKey(hi) });
  }

  private async read(range: { gte: Buffer; lte: Buffer }): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for await (const [key, value] of this.db.iterator(range)) entries.push(decodeEntry(indexOf(key), value));
    return entries;
  }

  async persist(update: { hardState?: HardState; entries: LogEntry[] }, sync = true): Promise<void> {
    const ops: BatchOp[] = [];
    if (update.hardState) ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(update.hardState) });
    const { entries } = update;
    let newLast = this.lastLogIndex;
    if (entries.length > 0) {
      for (const e of entries) ops.push({ type: 'put', key: logKey(e.index), value: encodeEntry(e) });
      newLast = entries[entries.length - 1]!.index;
      // A shorter replacement of a conflicting suffix leaves stale entries past
      // its end; they must go, or a restart would read them back as the log.
      for (let i = newLast + 1; i <= this.lastLogIndex; i++) ops.push({ type: 'del', key: logKey(i) });
    }
    if (ops.length === 0) return;
    await writeBatch(this.db, ops, sync);
    this.lastLogIndex = newLast;
  }

  async compactLog(upTo: number, snapshot: Uint8Array): Promise<void> {
    // Dropped entries can no longer be replayed: the state covering them must be on disk first.
    await this.coverUpTo(upTo);
    const ops: BatchOp[] = [{ type: 'put', key: SNAPSHOT_META_KEY, value: Buffer.from(snapshot) }];
    const from = Math.max(this.firstLogIndex, 1);
    for (let i = from; i <= Math.min(upTo, this.lastLogIndex); i++) ops.push({ type: 'del', key: logKey(i) });
    await writeBatch(this.db, ops, true);
    this.firstLogIndex = Math.max(this.firstLogIndex, upTo + 1);
  }

  /** Removes the whole stored log and records the snapshot meta, in one synced batch. */
  async resetLog(snapshot: Uint8Array, snapshotIndex: number): Promise<void> {
    const ops: BatchOp[] = [{ type: 'put', key: SNAPSHOT_META_KEY, value: Buffer.from(snapshot) }];
    for (let i = Math.max(this.firstLogIndex, 1); i <= this.lastLogIndex; i++) ops.push({ type: 'del', key: logKey(i) });
    await writeBatch(this.db, ops, true);
    this.firstLogIndex = snapshotIndex + 1;
    this.lastLogIndex = snapshotIndex;
  }
}

const indexOf = (key: Buffer): number => Number(key.readBigUInt64BE(1));

function encodeHardState(h: HardState): Buffer {
  return new Writer(24)
    .uint(h.term)
    .optional(h.vote, (w, v) => w.string(v))
    .uint(h.commit)
    .finish();
}

/** The stored record of an entry: its header, then its data, written in place when the data has room in front (entry-room.ts). */
export function encodeEntry(e: LogEntry): Buffer {
  const header = new Writer(ENTRY_HEADER_ROOM).uint(e.term).u8(ENTRY_TYPES.indexOf(e.type)).uint(e.data.length).finish();
  return recordInPlace(header, e.data) ?? Buffer.concat([header, e.data], header.length + e.data.length);
}

function decodeEntry(index: number, raw: Uint8Array): LogEntry {
  const r = new Reader(raw);
  const term = r.uint();
  const type = ENTRY_TYPES[r.u8()];
  if (!type) throw new RangeError(`store: log entry ${index} has an unknown type`);
  return { index, term, type, data: r.bytes() };
}
