import { crc32 } from 'node:zlib';
import { type BatchOp, writeBatch } from './batch';
import { Reader, Writer } from './codec';
import type { DeferredValue } from './changes';
import type { StoreDatabase } from './database';
import { blobFileKey, type Generation, generationRange, Prefix, userKey } from './keys';
import { type BlobPointer, decodeStoredKeyValue, encodeStoredKeyValue, isBlobRecord } from './records';
import type { WalFile, WalFiles } from './wal/wal-files';

/** Values of this many bytes or more live in blob files instead of LevelDB (see BlobLog). */
export const BLOB_MIN_BYTES = 64 * 1024;
/** A blob file takes appends until it holds this many bytes; the next append starts a new one. */
export const BLOB_FILE_BYTES = 16 * 1024 * 1024;
/**
 * A full file is collected once its live bytes fall to this share of its
 * bytes. Collecting at a quarter copies a third of a byte for each byte
 * freed (at half: one), for files ~55% live on average under random
 * overwrites instead of ~74% (measured with the bench's store-values:
 * 2.8 against 3.7-4.6 ms of CPU per 1 MiB put; 2.3 against 1.7 GiB on disk
 * for 1.3 GiB of values, where LevelDB alone took 2.0).
 */
const COLLECT_AT_LIVE_SHARE = 0.25;
/** A read older than this no longer holds back the deletion of files (a snapshot reader that was never read, say). */
const PIN_MAX_MS = 60 * 60 * 1000;
/** Key length, value length, CRC-32 of the value; each a little-endian u32. */
const FRAME_HEADER_BYTES = 12;

interface FileStats {
  /** Bytes appended (frames, headers included). */
  bytes: number;
  /** Bytes of the frames some stored record still points to. */
  live: number;
}

/** Frame of a value under `key`: what a blob file spends on it. */
export function frameBytes(keyBytes: number, valueBytes: number): number {
  return FRAME_HEADER_BYTES + keyBytes + valueBytes;
}

function fileName(gen: Generation, file: number): string {
  return `g${gen}-${String(file).padStart(10, '0')}.blob`;
}

function parseFileName(name: string): { gen: Generation; file: number } | undefined {
  const m = /^g([01])-(\d{10})\.blob$/.exec(name);
  return m ? { gen: Number(m[1]) as Generation, file: Number(m[2]) } : undefined;
}

/** No stored key is longer (the server's limit is far lower): a header that says more is torn. */
const FRAME_KEY_MAX_BYTES = 1024 * 1024;
/** Bytes read at each frame while walking a file: its header and, for keys up to this less the header, its key. */
const FRAME_PROBE_BYTES = 1024;

/**
 * The frames in the first `bytes` of file `name`, up to a torn one, read
 * header by header: values are skipped (most of a file being collected is
 * dead; the live values are read and checked one by one afterwards).
 */
async function readFrames(files: WalFiles, name: string, bytes: number): Promise<{ key: Buffer; offset: number; length: number; crc: number }[]> {
  const frames: { key: Buffer; offset: number; length: number; crc: number }[] = [];
  let pos = 0;
  while (pos < bytes) {
    const probe = await files.readAt(name, pos, FRAME_PROBE_BYTES);
    if (probe.length < FRAME_HEADER_BYTES) break;
    const keyBytes = probe.readUInt32LE(0);
    const length = probe.readUInt32LE(4);
    const crc = probe.readUInt32LE(8);
    // A torn header (the tail of a file a crash cut short) can claim any size.
    if (keyBytes > FRAME_KEY_MAX_BYTES) break;
    const key = FRAME_HEADER_BYTES + keyBytes <= probe.length ? Buffer.from(probe.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + keyBytes)) : await files.readAt(name, pos + FRAME_HEADER_BYTES, keyBytes);
    if (key.length < keyBytes) break;
    const offset = pos + FRAME_HEADER_BYTES + keyBytes;
    frames.push({ key, offset, length, crc });
    pos = offset + length;
  }
  return frames;
}

/** A value read from its blob file only when asked for (BlobLog.defer); its pin keeps the file until release. */
class DeferredBlob implements DeferredValue {
  #read: Promise<Buffer> | undefined;
  #loaded: Buffer | undefined;
  #unpin: (() => void) | undefined;

  constructor(
    readonly length: number,
    private readonly readValue: () => Promise<Buffer>,
    unpin: () => void,
  ) {
    this.#unpin = unpin;
  }

  get loaded(): Buffer | undefined {
    return this.#loaded;
  }

  load(): Promise<Buffer> {
    if (!this.#unpin) return Promise.reject(new Error('store: a released value cannot be read'));
    this.#read ??= this.readValue().then((value) => {
      if (this.#unpin) this.#loaded = value;
      return value;
    });
    return this.#read;
  }

  release(): void {
    this.#read = undefined;
    this.#loaded = undefined;
    this.#unpin?.();
    this.#unpin = undefined;
  }
}

/**
 * Appends to one generation's blob files, keeping each file's accounts: the
 * current state's (BlobLog) and a snapshot install's.
 */
export class BlobAppender {
  readonly stats = new Map<number, FileStats>();
  /** Files whose accounts changed since a batch last recorded them. */
  readonly dirty = new Set<number>();
  active: { file: number; handle: WalFile; bytes: number } | undefined;

  constructor(
    private readonly files: WalFiles,
    readonly gen: Generation,
    private readonly fileBytes: number,
    /** A file number no other file has (both generations share the numbers). */
    private readonly newFileNumber: () => number,
  ) {}

  /** Appends the values (each durable when this resolves) and returns where each went; `crc`, when known, spares computing it. */
  async append(values: readonly { key: Buffer; value: Buffer; crc?: number }[]): Promise<BlobPointer[]> {
    const pointers: BlobPointer[] = [];
    let chunks: Uint8Array[] = [];
    for (const { key, value, crc: known } of values) {
      if (this.active && this.active.bytes >= this.fileBytes) {
        await this.active.handle.append(chunks, true);
        chunks = [];
        await this.roll();
      }
      const active = this.active ?? (await this.startFile());
      const crc = known ?? crc32(value);
      const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      head.writeUInt32LE(key.length, 0);
      head.writeUInt32LE(value.length, 4);
      head.writeUInt32LE(crc, 8);
      chunks.push(head, key, value);
      pointers.push({ file: active.file, offset: active.bytes + FRAME_HEADER_BYTES + key.length, length: value.length, crc });
      const bytes = frameBytes(key.length, value.length);
      active.bytes += bytes;
      const stats = this.stats.get(active.file)!;
      stats.bytes += bytes;
      stats.live += bytes;
      this.dirty.add(active.file);
    }
    if (chunks.length > 0) await this.active!.handle.append(chunks, true);
    return pointers;
  }

  private async startFile(): Promise<{ file: number; handle: WalFile; bytes: number }> {
    const file = this.newFileNumber();
    const handle = await this.files.create(fileName(this.gen, file));
    this.stats.set(file, { bytes: 0, live: 0 });
    this.dirty.add(file);
    this.active = { file, handle, bytes: 0 };
    return this.active;
  }

  /** Ends appends to the current file; the next append starts a new one. */
  async roll(): Promise<void> {
    const done = this.active;
    if (!done) return;
    this.active = undefined;
    // Recorded again: no longer the file appends go to, it may now be empty.
    this.dirty.add(done.file);
    await done.handle.close();
  }

  /** The records of the accounts that changed since the last call (for a batch that points into the files). */
  takeAccountOps(): BatchOp[] {
    const ops: BatchOp[] = [];
    for (const file of this.dirty) {
      const stats = this.stats.get(file);
      if (stats) ops.push({ type: 'put', key: blobFileKey(this.gen, file), value: new Writer(24).uint(stats.bytes).uint(stats.live).finish() });
    }
    this.dirty.clear();
    return ops;
  }
}

/**
 * Large values, kept out of LevelDB in append-only blob files (a value log,
 * as in WiscKey, Badger or TiKV's Titan); the key's LevelDB record holds the
 * revisions and where the value is (records.ts). LevelDB rewrites every byte
 * it holds at each level it compacts it into: under 1 MiB puts that cost each
 * member ~3.6 ms of CPU per put. A value here is written once, and copied
 * again only when the file it is in is collected.
 *
 * Durability. Every append is O_DSYNC (wal-files.ts) and lands before the
 * LevelDB batch that points to it, so a record never points to bytes a crash
 * could take back. Each file's bytes and live bytes are LevelDB records
 * written in the same batches as the pointers, so they always agree with
 * the state. A batch in which a file's last live value goes is synced, and
 * the file deleted only after it: a crash cannot leave a pointer to a
 * deleted file. At open, files without a record are removed (a crash between
 * creating a file and the first batch naming it, or a retired generation's).
 *
 * Collection. A full file whose live bytes fall to a quarter of its bytes has its
 * live values appended anew and their records repointed (one synced batch),
 * then goes. Reads pin the files they may see: a file is deleted only after
 * every read that began before its last pointer went has finished.
 *
 * Only the apply path (one batch at a time) appends, releases and collects;
 * a snapshot install appends to the spare generation's files through an
 * appender of its own (appenderFor), whose accounts go in its batches.
 */
export class BlobLog {
  /** The current generation's files. */
  #w: BlobAppender;
  /** Files whose live bytes did not add up (in collection's check, or a release): kept for good, never collected or deleted. */
  readonly #kept = new Set<number>();
  #nextFile: number;
  #epoch = 0;
  #pinSeq = 0;
  readonly #pins = new Map<number, { epoch: number; at: number }>();
  #doomed: { name: string; epoch: number }[] = [];
  #sweeping: Promise<void> = Promise.resolve();

  private constructor(
    private readonly files: WalFiles,
    private readonly db: StoreDatabase,
    gen: Generation,
    /** Values this large or larger go to blob files; Infinity keeps them all in LevelDB. */
    readonly minBytes: number,
    /** A file takes appends until it holds this many bytes. */
    readonly fileBytes: number,
    nextFile: number,
  ) {
    this.#nextFile = nextFile;
    this.#w = this.appenderFor(gen);
  }

  /** Appends to generation `gen`'s files (the current one's, or those a snapshot install fills). */
  appenderFor(gen: Generation): BlobAppender {
    return new BlobAppender(this.files, gen, this.fileBytes, () => this.#nextFile++);
  }

  static async open(files: WalFiles, db: StoreDatabase, gen: Generation, opts: { minBytes: number; fileBytes?: number }): Promise<BlobLog> {
    const names = await files.list();
    let last = 0;
    for (const name of names) last = Math.max(last, parseFileName(name)?.file ?? 0);
    const log = new BlobLog(files, db, gen, opts.minBytes, opts.fileBytes ?? BLOB_FILE_BYTES, last + 1);
    await log.#loadStats();
    for (const name of names) {
      const parsed = parseFileName(name);
      if (parsed && (parsed.gen !== gen || !log.#w.stats.has(parsed.file))) await files.remove(name);
    }
    return log;
  }

  async #loadStats(): Promise<void> {
    this.#w.stats.clear();
    for await (const [key, value] of this.db.iterator(generationRange(Prefix.blobFile, this.#w.gen))) {
      const r = new Reader(value);
      this.#w.stats.set(key.readUInt32BE(2), { bytes: r.uint(), live: r.uint() });
    }
  }

  /** Bytes in blob files and live bytes among them, of the current generation. */
  get usage(): { files: number; bytes: number; live: number } {
    let bytes = 0;
    let live = 0;
    for (const s of this.#w.stats.values()) {
      bytes += s.bytes;
      live += s.live;
    }
    return { files: this.#w.stats.size, bytes, live };
  }

  /** No blob file in the current generation: no record points to one. */
  get empty(): boolean {
    return this.#w.stats.size === 0;
  }

  /** Whether `value` goes to a blob file. */
  holds(value: Uint8Array): boolean {
    return value.length >= this.minBytes;
  }

  /**
   * Holds back the deletion of files until the returned release is called:
   * taken before a read of records that may point into blob files.
   */
  pin(): () => void {
    const id = ++this.#pinSeq;
    this.#pins.set(id, { epoch: this.#epoch, at: Date.now() });
    return () => {
      if (this.#pins.delete(id)) this.#sweep();
    };
  }

  /**
   * The value `p` points to in the current generation, left unread until
   * asked for: its file stays (pinned) until the value is released.
   */
  defer(p: BlobPointer): DeferredValue {
    // The generation is taken now: by the time of the load a snapshot install may have made another current.
    const gen = this.#w.gen;
    return new DeferredBlob(p.length, () => this.read(gen, p), this.pin());
  }

  /** The value `p` points to, in generation `gen`'s files; checked against its CRC. */
  async read(gen: Generation, p: BlobPointer): Promise<Buffer> {
    const name = fileName(gen, p.file);
    const buf = await this.files.readAt(name, p.offset, p.length);
    if (buf.length !== p.length || crc32(buf) !== p.crc) {
      throw Object.assign(new Error(`store: blob file ${name} is damaged at offset ${p.offset} (${p.length} bytes)`), { code: 'EBLOBDAMAGED' });
    }
    return buf;
  }

  /** Appends the values to the current generation's files (each durable when this resolves) and returns where each went. */
  append(values: readonly { key: Buffer; value: Buffer; crc?: number }[]): Promise<BlobPointer[]> {
    return this.#w.append(values);
  }

  /** A stored record no longer points to `p` (of a value under a key of `keyBytes`). */
  release(p: BlobPointer, keyBytes: number): void {
    const stats = this.#w.stats.get(p.file);
    if (!stats) return;
    const bytes = frameBytes(keyBytes, p.length);
    // Accounts that do not add up are a fault: keep the file for good rather than risk deleting a live value.
    if (stats.live < bytes) this.#kept.add(p.file);
    stats.live = Math.max(0, stats.live - bytes);
    this.#w.dirty.add(p.file);
  }

  /**
   * Adds the changed files' records to a batch's `ops`, and returns the
   * files left without a live value: the batch must be synced, and then
   * {@link BlobLog.retire} deletes them.
   */
  stage(ops: BatchOp[]): string[] {
    const w = this.#w;
    const dead: string[] = [];
    for (const file of w.dirty) {
      const stats = w.stats.get(file);
      if (stats?.live !== 0 || file === w.active?.file || this.#kept.has(file)) continue;
      ops.push({ type: 'del', key: blobFileKey(w.gen, file) });
      w.stats.delete(file);
      w.dirty.delete(file);
      dead.push(fileName(w.gen, file));
    }
    for (const op of w.takeAccountOps()) ops.push(op);
    return dead;
  }

  /** Deletes files once no read that began before now can still reach them. */
  retire(names: readonly string[]): void {
    if (names.length === 0) return;
    this.#epoch++;
    for (const name of names) this.#doomed.push({ name, epoch: this.#epoch });
    this.#sweep();
  }

  #sweep(): void {
    const now = Date.now();
    let oldest = Number.POSITIVE_INFINITY;
    for (const [id, pin] of this.#pins) {
      if (now - pin.at > PIN_MAX_MS) this.#pins.delete(id);
      else oldest = Math.min(oldest, pin.epoch);
    }
    const due = this.#doomed.filter((d) => d.epoch <= oldest);
    if (due.length === 0) return;
    this.#doomed = this.#doomed.filter((d) => d.epoch > oldest);
    this.#sweeping = this.#sweeping.then(async () => {
      for (const d of due) await this.files.remove(d.name).catch(() => undefined);
    });
  }

  /** The file most worth collecting now, if any is. */
  collectable(): number | undefined {
    let best: number | undefined;
    let bestShare = COLLECT_AT_LIVE_SHARE;
    for (const [file, stats] of this.#w.stats) {
      if (file === this.#w.active?.file || this.#kept.has(file) || stats.bytes === 0) continue;
      const share = stats.live / stats.bytes;
      if (share <= bestShare) {
        best = file;
        bestShare = share;
      }
    }
    return best;
  }

  /**
   * Collects `file`: appends its live values anew, repoints their records
   * (one synced batch) and retires it. Returns the keys moved (latin1) and
   * where their values are now, for the caller's caches.
   */
  async collect(file: number): Promise<Map<string, BlobPointer>> {
    const moved = new Map<string, BlobPointer>();
    const stats = this.#w.stats.get(file);
    if (!stats) return moved;
    const gen = this.#w.gen;
    const name = fileName(gen, file);
    const frames = await readFrames(this.files, name, stats.bytes);
    const raws = frames.length > 0 ? await this.db.getMany(frames.map((f) => userKey(gen, f.key))) : [];
    const live: { frame: (typeof frames)[number]; raw: Buffer; value: Buffer }[] = [];
    let liveBytes = 0;
    let damaged = false;
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      const raw = raws[i];
      if (!raw || !isBlobRecord(raw)) continue;
      const { blob } = decodeStoredKeyValue(frame.key, raw);
      if (blob?.file !== file || blob.offset !== frame.offset) continue;
      const value = await this.files.readAt(name, frame.offset, frame.length);
      if (value.length !== frame.length || crc32(value) !== frame.crc || frame.crc !== blob.crc) damaged = true;
      live.push({ frame, raw, value });
      liveBytes += frameBytes(frame.key.length, frame.length);
    }
    // Every live byte must be found, whole, before the file may go; if not, keep it.
    if (damaged || liveBytes !== stats.live) {
      this.#kept.add(file);
      return moved;
    }
    const pointers = await this.append(live.map(({ frame, value }) => ({ key: frame.key, value, crc: frame.crc })));
    const ops: BatchOp[] = [];
    live.forEach(({ frame, raw }, i) => {
      const { kv } = decodeStoredKeyValue(frame.key, raw);
      ops.push({ type: 'put', key: userKey(gen, frame.key), value: encodeStoredKeyValue(kv, pointers[i]) });
      moved.set(frame.key.toString('latin1'), pointers[i]!);
    });
    stats.live = 0;
    this.#w.dirty.add(file);
    const dead = this.stage(ops);
    await writeBatch(this.db, ops, true);
    this.retire(dead);
    return moved;
  }

  /** The state is generation `gen`'s from now on (a snapshot install swapped it in, with the files it wrote). */
  async adopt(gen: Generation): Promise<void> {
    await this.#w.roll();
    this.#w = this.appenderFor(gen);
    this.#kept.clear();
    await this.#loadStats();
  }

  /** Deletes generation `gen`'s files (its records are being cleared; never the current generation's). */
  async dropGeneration(gen: Generation): Promise<void> {
    if (gen === this.#w.gen) throw new Error(`store: cannot drop the blob files of the current generation ${gen}`);
    const names = (await this.files.list()).filter((name) => parseFileName(name)?.gen === gen);
    this.retire(names);
  }

  async close(): Promise<void> {
    await this.#w.roll();
    await this.#sweeping;
    await this.files.close?.();
  }
}
