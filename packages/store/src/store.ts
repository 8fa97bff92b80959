import { join } from 'node:path';
import { Level } from 'level';
import type { AuthState } from './auth-state';
import { type BatchOp, writeBatch } from './batch';
import { BLOB_MIN_BYTES, BlobLog } from './blob-log';
import type { StoreDatabase } from './database';
import { APPLIED_KEY, decodeApplied, decodeGeneration, GENERATION_KEY, metaKey } from './keys';
import type { RangeQuery } from './kv-reads';
import type { LeaseRecord } from './leases';
import type { KeyValueRecord, WriteResult } from './records';
import { GenerationSnapshots } from './snapshots';
import { valueAwareChecksum } from './value-checksums';
import { moveLegacyLog } from './wal/legacy-log';
import { MemoryWalFiles, NodeWalFiles, type WalFiles } from './wal/wal-files';
import { WalLog } from './wal/wal-log';
import { KvStateMachine } from './state-machine';
import type { ApplyOutcome, HardState, LogEntry, ReplicaStorage, SnapshotInstaller, SnapshotReader } from './storage-interfaces';

/**
 * LevelDB keeps this many files open (10 of them for its own), each table
 * file mapped into memory, and every page of a mapped table that was read
 * counts in the process's RSS until the table is closed. Values of 64 KiB or
 * more live in blob files, so tables hold small records only, and RSS from
 * them grows at most towards the tables read (up to ~2 MiB per open table,
 * clean file pages the kernel can take back), as etcd's does towards its
 * mapped bbolt file. A lower limit costs large databases of small values:
 * at 100, 1M keys of 256 bytes (~150 tables) wrote a third slower in a
 * cluster, each read reopening a table the cache had closed.
 * docs/large-values.md has the figures.
 */
export const DEFAULT_MAX_OPEN_FILES = 1000;

/** LevelDB accepts 74 to 50,000 open files (and clamps silently outside them). */
export const MAX_OPEN_FILES_RANGE = { min: 74, max: 50_000 } as const;

export interface StoreOpenOptions {
  revisionCacheKeys?: number;
  trackChanges?: boolean;
  walFiles?: WalFiles;
  /** LevelDB's open-file limit, which bounds the table files mapped into memory (default {@link DEFAULT_MAX_OPEN_FILES}). */
  maxOpenFiles?: number;
  /** Size at which LevelDB starts a new table file (LevelDB's default, 2 MiB, unless given). */
  maxTableBytes?: number;
  /** LevelDB's write buffer: writes are flushed to a table once it fills (32 MiB unless given). */
  memtableBytes?: number;
  /**
   * Where values of `blobMinBytes` or more are kept (blob-log.ts): the
   * directory's `blobs/` for a store on disk; for a database the caller made,
   * none unless given, and every value stays in it.
   */
  blobFiles?: WalFiles;
  /** Values this large or larger go to blob files ({@link BLOB_MIN_BYTES} unless given). */
  blobMinBytes?: number;
  /** A blob file takes appends until it holds this many bytes (16 MiB unless given). */
  blobFileBytes?: number;
  /** A log segment takes appends until it holds this many bytes (64 MiB unless given; the simulator makes them small so they roll and are compacted within a run). */
  walSegmentBytes?: number;
}

/**
 * The node's storage: the Raft log and hard state in a write-ahead log of
 * segment files (wal/wal-log.ts, in the directory's `wal/`), and one LevelDB
 * holding the key-value state machine (state-machine.ts), state snapshots
 * (snapshots.ts) and node metadata. `log`, `stateMachine` and
 * `snapshots` are the narrow seams a Raft driver takes (ReplicaStorage); the
 * methods here delegate to them for everything else that reads the store.
 */
export class Store implements ReplicaStorage {
  private constructor(
    private readonly db: StoreDatabase,
    readonly log: WalLog,
    readonly stateMachine: KvStateMachine,
    readonly snapshots: GenerationSnapshots,
  ) {}

  /**
   * Opens the store in directory `dir` (LevelDB's files, and the log's
   * segments under `wal/`), or on an abstract-level database the caller made
   * (with 'buffer' key and value encodings), with the log in `walFiles`
   * (in memory unless given); the store closes the database on
   * {@link Store.close}.
   */
  static async open(location: string | StoreDatabase, opts: StoreOpenOptions = {}): Promise<Store> {
    const db =
      typeof location === 'string'
        ? new Level<Buffer, Buffer>(location, {
            keyEncoding: 'buffer',
            valueEncoding: 'buffer',
            // A larger memtable means fewer level-0 files, so fewer write stalls
            // under a steady stream of log appends and applies.
            writeBufferSize: opts.memtableBytes ?? 32 * 1024 * 1024,
            maxOpenFiles: opts.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES,
            ...(opts.maxTableBytes ? { maxFileSize: opts.maxTableBytes } : {}),
          })
        : location;
    if (db.keyEncoding().commonName !== 'buffer' || db.valueEncoding().commonName !== 'buffer') {
      throw new TypeError('Store.open: the database must use buffer key and value encodings');
    }
    await db.open();
    const [applied, gen] = await db.getMany([APPLIED_KEY, GENERATION_KEY]);
    const blobFiles = opts.blobFiles ?? (typeof location === 'string' ? new NodeWalFiles(join(location, 'blobs')) : undefined);
    const blobMinBytes = blobFiles ? (opts.blobMinBytes ?? BLOB_MIN_BYTES) : Number.POSITIVE_INFINITY;
    const blobs = await BlobLog.open(blobFiles ?? new MemoryWalFiles(), db, decodeGeneration(gen), { minBytes: blobMinBytes, fileBytes: opts.blobFileBytes });
    const stateMachine = await KvStateMachine.open(db, decodeApplied(applied), decodeGeneration(gen), blobs, opts);
    const snapshots = new GenerationSnapshots(db, stateMachine);
    await snapshots.discardUnfinishedInstall();
    const walFiles = opts.walFiles ?? (typeof location === 'string' ? new NodeWalFiles(join(location, 'wal')) : new MemoryWalFiles());
    await moveLegacyLog(db, walFiles);
    const log = await WalLog.open(walFiles, (upTo) => stateMachine.coverUpTo(upTo), opts.walSegmentBytes, valueAwareChecksum(blobMinBytes));
    return new Store(db, log, stateMachine, snapshots);
  }

  async close(): Promise<void> {
    await this.log.close();
    await this.stateMachine.blobs.close();
    await this.db.close();
  }

  // ---- node metadata ----

  async getMeta(name: string): Promise<Buffer | undefined> {
    return this.db.get(metaKey(name));
  }

  /** Durable (fsynced) metadata writes, for identity and configuration. */
  async putMeta(entries: Record<string, Uint8Array>): Promise<void> {
    const ops: BatchOp[] = Object.entries(entries).map(([name, value]) => ({ type: 'put', key: metaKey(name), value: Buffer.from(value) }));
    await writeBatch(this.db, ops, true);
  }

  // ---- the Raft log and hard state (wal/wal-log.ts) ----

  get lastIndex(): number {
    return this.log.lastIndex;
  }

  loadHardState(): Promise<HardState | undefined> {
    return this.log.loadHardState();
  }

  /** The compaction point's meta, as last given to compactLog or resetLog. */
  loadSnapshotMeta(): Promise<Buffer | undefined> {
    return this.log.loadSnapshotMeta();
  }

  loadLog(): Promise<LogEntry[]> {
    return this.log.loadLog();
  }

  readLog(lo: number, hi: number): Promise<LogEntry[]> {
    return this.log.readLog(lo, hi);
  }

  persist(update: { hardState?: HardState; entries: LogEntry[] }, sync = true, inline = false): Promise<void> {
    return this.log.persist(update, sync, inline);
  }

  compactLog(upTo: number, snapshot: Uint8Array): Promise<void> {
    return this.log.compactLog(upTo, snapshot);
  }

  resetLog(snapshot: Uint8Array, snapshotIndex: number): Promise<void> {
    return this.log.resetLog(snapshot, snapshotIndex);
  }

  // ---- the key-value state machine (state-machine.ts) ----

  get appliedIndex(): number {
    return this.stateMachine.appliedIndex;
  }

  get durableAppliedIndex(): number {
    return this.stateMachine.durableAppliedIndex;
  }

  makeAppliedDurable(): Promise<number> {
    return this.stateMachine.makeAppliedDurable();
  }

  get authState(): AuthState {
    return this.stateMachine.authState;
  }

  apply(entries: LogEntry[], meta: Record<string, Uint8Array> = {}, sync = false, answer?: (results: Map<number, WriteResult>) => void): Promise<ApplyOutcome> {
    return this.stateMachine.apply(entries, meta, sync, answer);
  }

  read(key: Uint8Array): Promise<{ kv: KeyValueRecord | undefined; appliedIndex: number }> {
    return this.stateMachine.read(key);
  }

  get(key: Uint8Array): Promise<KeyValueRecord | undefined> {
    return this.stateMachine.get(key);
  }

  range(q: RangeQuery): Promise<{ kvs: KeyValueRecord[]; more: boolean; appliedIndex: number }> {
    return this.stateMachine.range(q);
  }

  leases(): Promise<LeaseRecord[]> {
    return this.stateMachine.leases();
  }

  leaseKeys(id: number): Promise<Buffer[]> {
    return this.stateMachine.leaseKeys(id);
  }

  sessionLastIndexes(): AsyncGenerator<{ clientId: string; lastIndex: number }> {
    return this.stateMachine.sessionLastIndexes();
  }

  // ---- state snapshots (snapshots.ts) ----

  snapshotReader(maxChunkBytes?: number): SnapshotReader {
    return this.snapshots.snapshotReader(maxChunkBytes);
  }

  beginSnapshotInstall(): Promise<SnapshotInstaller> {
    return this.snapshots.beginSnapshotInstall();
  }
}
