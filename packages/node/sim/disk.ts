import type { Rng } from '@bellwether/raft';
import type { StoreDatabase } from '@bellwether/store';
import { MemoryLevel } from 'memory-level';
import { SimWalFiles } from './wal-disk';

/** abstract-level's storage hooks, which every public write goes through (keys and values already encoded). */
interface RawWrites {
  _put(key: Buffer, value: Buffer, options: { sync?: boolean }): Promise<void>;
  _del(key: Buffer, options: { sync?: boolean }): Promise<void>;
  _batch(ops: Array<{ type: 'put' | 'del'; key: Buffer; value?: Buffer }>, options: { sync?: boolean }): Promise<void>;
  _clear(options: Record<string, unknown>): Promise<void>;
}

interface JournalOp {
  /** Position in the disk's write order. */
  seq: number;
  redo(db: RawWrites): Promise<void>;
}

export interface DiskTiming {
  /** Waits `ms` of virtual time. */
  sleep(ms: number): Promise<void>;
  /** How long one fsync takes. */
  fsyncMs(): number;
  /** Whether the next synced write fails (ENOSPC) without reaching the disk. */
  fullDisk(): boolean;
}

export type CrashKind = 'process' | 'power';

const newDb = (): MemoryLevel<Buffer, Buffer> => new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' });

/**
 * A member's disk: an in-memory LevelDB that knows which writes are durable.
 * A synced write lands at once (readable) but is durable only once its
 * fsync, which takes virtual time, returns; a flush (the store's
 * compactRange) makes everything durable.
 *
 * A crash happens at an instant: whatever the dying process writes after it
 * never happened. A process crash keeps every write before the instant (the
 * OS holds them); a power loss keeps the durable ones plus a random prefix
 * of the rest, as LevelDB's write-ahead log would.
 */
export class SimDisk {
  private current: MemoryLevel<Buffer, Buffer>;
  /** The durable image at the last flush: every key and value up to write `imageSeq`. */
  private image: Array<[Buffer, Buffer]> = [];
  private imageSeq = 0;
  /** Every write after the image, in order. */
  private journal: JournalOp[] = [];
  private nextSeq = 1;
  /** Writes up to this one are durable (a returned fsync covers every write before it). */
  private durableSeq = 0;
  /** Set at a crash: writes from this one on never happened. */
  private crashedAt: number | undefined;
  private crashKind: CrashKind = 'process';
  lostWrites = 0;
  /** The Raft log's segment files, on the same disk: they crash and recover with it. */
  readonly wal: SimWalFiles;
  /** The store's blob files (large values), likewise. */
  readonly blobs: SimWalFiles;

  constructor(private readonly timing: DiskTiming) {
    this.current = this.instrument(newDb());
    this.wal = new SimWalFiles(timing);
    this.blobs = new SimWalFiles(timing);
  }

  get db(): StoreDatabase {
    return this.current;
  }

  private instrument(db: MemoryLevel<Buffer, Buffer>): MemoryLevel<Buffer, Buffer> {
    const raw = db as unknown as RawWrites;
    const put = raw._put.bind(db);
    const del = raw._del.bind(db);
    const batch = raw._batch.bind(db);
    const clear = raw._clear.bind(db);
    raw._put = async (key, value, options) => {
      if (options.sync === true && this.timing.fullDisk()) throw Object.assign(new Error('ENOSPC: no space left on device (simulated)'), { code: 'ENOSPC' });
      await put(key, value, options);
      await this.record(options.sync === true, (d) => d._put(key, value, {}));
    };
    raw._del = async (key, options) => {
      await del(key, options);
      await this.record(options.sync === true, (d) => d._del(key, {}));
    };
    raw._batch = async (ops, options) => {
      if (options.sync === true && this.timing.fullDisk()) throw Object.assign(new Error('ENOSPC: no space left on device (simulated)'), { code: 'ENOSPC' });
      await batch(ops, options);
      await this.record(options.sync === true, (d) => d._batch(ops, {}));
    };
    raw._clear = async (options) => {
      await clear(options);
      await this.record(false, (d) => d._clear(options));
    };
    // What the store calls to push everything written so far to disk (classic-level's compactRange).
    (db as unknown as { compactRange(): Promise<void> }).compactRange = () => this.flush(db);
    return db;
  }

  private async record(sync: boolean, redo: JournalOp['redo']): Promise<void> {
    if (this.crashedAt !== undefined) return;
    const seq = this.nextSeq++;
    this.journal.push({ seq, redo });
    if (!sync) return;
    await this.timing.sleep(this.timing.fsyncMs());
    // One sequential log: a returned fsync makes every earlier write durable too.
    if (this.crashedAt === undefined) this.durableSeq = Math.max(this.durableSeq, seq);
  }

  private async flush(db: MemoryLevel<Buffer, Buffer>): Promise<void> {
    await this.timing.sleep(this.timing.fsyncMs());
    if (this.crashedAt !== undefined) return;
    // The iterator reads the state as of its creation: exactly the writes so far.
    const upTo = this.nextSeq - 1;
    const image: Array<[Buffer, Buffer]> = [];
    for await (const kv of db.iterator()) image.push(kv);
    if (this.crashedAt !== undefined) return;
    this.image = image;
    this.imageSeq = upTo;
    this.durableSeq = Math.max(this.durableSeq, upTo);
    this.journal = this.journal.filter((op) => op.seq > upTo);
  }

  /** The crash instant: nothing written from now on by the dying process counts. */
  crash(kind: CrashKind): void {
    if (this.crashedAt !== undefined) return;
    this.crashedAt = this.nextSeq;
    this.crashKind = kind;
    this.wal.crash();
    this.blobs.crash();
  }

  /**
   * Rebuilds the disk as the restarted machine finds it (call once the dead
   * process let go of the database); `rng` picks how much of the unsynced
   * tail reached the disk before a power loss.
   */
  async recover(rng: Rng): Promise<void> {
    const crashedAt = this.crashedAt ?? this.nextSeq;
    const ops = this.journal.filter((op) => op.seq < crashedAt);
    let keep = ops.length;
    if (this.crashKind === 'power') {
      const durable = ops.filter((op) => op.seq <= this.durableSeq).length;
      // Often nothing unsynced made it; sometimes part of it did.
      keep = rng.chance(0.5) ? durable : rng.int(durable, ops.length);
    }
    const db = newDb();
    await db.open();
    const raw = db as unknown as RawWrites;
    if (this.image.length > 0) await raw._batch(this.image.map(([key, value]) => ({ type: 'put' as const, key, value })), {});
    for (const op of ops.slice(0, keep)) await op.redo(raw);
    this.lostWrites += ops.length - keep;
    this.wal.recover(this.crashKind, rng);
    this.blobs.recover(this.crashKind, rng);
    const image: Array<[Buffer, Buffer]> = [];
    for await (const kv of db.iterator()) image.push(kv);
    await db.close();
    this.image = image;
    this.imageSeq = this.nextSeq - 1;
    this.durableSeq = this.imageSeq;
    this.journal = [];
    this.crashedAt = undefined;
    this.crashKind = 'process';
    this.current = this.instrument(db);
  }
}
