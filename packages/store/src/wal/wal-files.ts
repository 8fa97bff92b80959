import { constants, writevSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * One segment open for appending. A file handed out again (see
 * WalFiles.remove) is written from its start and keeps its earlier bytes
 * past what was written until it is closed, which cuts them off.
 */
export interface WalFile {
  /**
   * Appends `chunks` in order, as one write. With `sync` they are on disk
   * when this resolves; an implementation may make every append durable.
   * `inline`: the caller waits on nothing else meanwhile, so a small append
   * may block the calling thread for its short write instead of taking a
   * thread-pool round trip.
   */
  append(chunks: readonly Uint8Array[], sync: boolean, inline?: boolean): Promise<void>;
  close(): Promise<void>;
}

/**
 * The directory the log's segments live in: the few file operations the log
 * needs, so the node simulator can stand in a disk that loses unsynced bytes.
 */
export interface WalFiles {
  /** Names of the segment files, in any order. */
  list(): Promise<string[]>;
  read(name: string): Promise<Buffer>;
  /** `length` bytes at `position`; fewer at the end of the file. */
  readAt(name: string, position: number, length: number): Promise<Buffer>;
  /**
   * A file to append to from its start, whose existence under `name` is
   * durable once this resolves: a new, empty one or, when one was kept, a
   * file removed with `reuse`, whose old bytes remain past what is written
   * until the file is closed (a crash can leave them).
   */
  create(name: string): Promise<WalFile>;
  /** Cuts a file to `size` bytes (a torn tail found at open). */
  truncate(name: string, size: number): Promise<void>;
  /**
   * Deletes a file. With `reuse` the directory may keep it (a few at most)
   * for a later create: overwriting pages the kernel already holds costs
   * less CPU than filling new ones, and the caller can tell its own records
   * from the old bytes after them.
   */
  remove(name: string, reuse?: boolean): Promise<void>;
  /** Lets go of whatever the directory holds open for reading. */
  close?(): Promise<void>;
}

/**
 * Segments as files in a directory. Each segment is opened with O_DSYNC, so
 * one write is one durable append: a thread-pool round trip per Ready, as
 * LevelDB's synced batch was, without the copy into a memtable and the later
 * compactions of entries that are deleted anyway.
 */
export class NodeWalFiles implements WalFiles {
  private ready: Promise<void> | undefined;
  /** Files removed with `reuse`, kept for the next creates. */
  private readonly spare: string[] = [];
  /**
   * Files open for reading, most recently used last. Opening and closing a
   * file for each read costs two thread-pool round trips, more than reading
   * a 1 MiB value itself (~0.35 against ~0.3 ms of CPU here).
   */
  private readonly readers = new Map<string, Promise<FileHandle>>();

  /** `keepForReuse`: how many removed files may be kept for reuse (0: every removal deletes). */
  constructor(
    readonly dir: string,
    private readonly keepForReuse = 0,
  ) {}

  private ensureDir(): Promise<void> {
    this.ready ??= this.prepare();
    return this.ready;
  }

  /** Creates the directory; spare files a previous run kept are kept again, or deleted past the limit. */
  private async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith(SPARE_SUFFIX)) continue;
      if (this.spare.length < this.keepForReuse) this.spare.push(name);
      else await unlink(join(this.dir, name));
    }
  }

  async list(): Promise<string[]> {
    await this.ensureDir();
    return (await readdir(this.dir)).filter((n) => !n.endsWith(SPARE_SUFFIX));
  }

  read(name: string): Promise<Buffer> {
    return readFile(join(this.dir, name));
  }

  async readAt(name: string, position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let bytesRead: number;
    try {
      ({ bytesRead } = await (await this.reader(name)).read(buf, 0, length, position));
    } catch (err) {
      // Closed by an eviction between being handed out and read from: once more, on a handle of its own.
      if ((err as NodeJS.ErrnoException).code !== 'EBADF') throw err;
      this.forget(name);
      ({ bytesRead } = await (await this.reader(name)).read(buf, 0, length, position));
    }
    return buf.subarray(0, bytesRead);
  }

  private reader(name: string): Promise<FileHandle> {
    let fh = this.readers.get(name);
    if (fh) {
      this.readers.delete(name);
      this.readers.set(name, fh);
      return fh;
    }
    fh = open(join(this.dir, name), 'r');
    this.readers.set(name, fh);
    // A file that cannot be opened is not remembered.
    fh.catch(() => {
      if (this.readers.get(name) === fh) this.readers.delete(name);
    });
    if (this.readers.size > READERS_KEPT) this.forget(this.readers.keys().next().value as string);
    return fh;
  }

  async close(): Promise<void> {
    const open = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(open.map((fh) => fh.then((h) => h.close()).catch(() => undefined)));
  }

  /** Closes a kept reader; reads under way on it finish first (FileHandle.close waits for them). */
  private forget(name: string): void {
    const fh = this.readers.get(name);
    if (!fh) return;
    this.readers.delete(name);
    fh.then(
      (h) => h.close(),
      () => undefined,
    ).catch(() => undefined);
  }

  async create(name: string): Promise<WalFile> {
    await this.ensureDir();
    const path = join(this.dir, name);
    const spare = this.spare.shift();
    if (spare) await rename(join(this.dir, spare), path);
    const fh = await open(path, constants.O_WRONLY | (spare ? 0 : constants.O_CREAT | constants.O_EXCL) | constants.O_DSYNC);
    await syncDir(this.dir);
    return new DsyncFile(fh, spare !== undefined);
  }

  truncate(name: string, size: number): Promise<void> {
    return truncate(join(this.dir, name), size);
  }

  async remove(name: string, reuse = false): Promise<void> {
    this.forget(name);
    await this.ensureDir();
    if (reuse && this.spare.length < this.keepForReuse) {
      const spare = `${name}${SPARE_SUFFIX}`;
      await rename(join(this.dir, name), join(this.dir, spare));
      this.spare.push(spare);
      return;
    }
    await unlink(join(this.dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

/** Files kept open for reading (blob files and log segments read back). */
const READERS_KEPT = 32;
/** A file kept for reuse is renamed to its old name with this ending (no reader of the directory lists it). */
const SPARE_SUFFIX = '.spare';

/** A directory's fsync makes the files created in it survive a power loss. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Appends up to this size may be written on the calling thread. */
const INLINE_MAX_BYTES = 64 * 1024;
/**
 * An inline append slower than this (a busy or slow disk) sends appends
 * to the thread pool for INLINE_BACKOFF_MS: a blocked event loop answers no
 * heartbeat and serves no read.
 */
const INLINE_SLOW_MS = 20;
const INLINE_BACKOFF_MS = 1000;

class DsyncFile implements WalFile {
  /** Until when appends go to the thread pool (monotonic ms), after a slow inline one. */
  private inlineBackoffUntil = 0;
  /** Where the next append goes: files are written at a position (a reused one holds old bytes past it). */
  private position = 0;

  /** `reused`: the file held bytes before, which close() cuts off past what was written. */
  constructor(
    private readonly fh: FileHandle,
    private readonly reused: boolean,
  ) {}

  /**
   * A small durable append written on the calling thread takes one O_DSYNC
   * write (~0.1 ms alone on this SSD, ~0.2 ms with three members writing);
   * through the thread pool it also takes two thread hand-offs, ~0.1-0.2 ms
   * more on a busy 2-core machine, on the path of a follower's
   * acknowledgement.
   */
  async append(chunks: readonly Uint8Array[], _sync: boolean, inline = false): Promise<void> {
    let pending = chunks.filter((c) => c.length > 0);
    if (inline && this.mayWriteInline(pending)) {
      const started = performance.now();
      while (pending.length > 0) pending = this.advance(pending, writevSync(this.fh.fd, pending as Uint8Array[], this.position));
      const now = performance.now();
      if (now - started > INLINE_SLOW_MS) this.inlineBackoffUntil = now + INLINE_BACKOFF_MS;
      return;
    }
    // writev may write less than asked (a full disk, a signal); the rest follows.
    while (pending.length > 0) pending = this.advance(pending, (await this.fh.writev(pending as Uint8Array[], this.position)).bytesWritten);
  }

  private advance(chunks: Uint8Array[], bytesWritten: number): Uint8Array[] {
    const rest = unwritten(chunks, bytesWritten);
    this.position += bytesWritten;
    return rest;
  }

  private mayWriteInline(chunks: readonly Uint8Array[]): boolean {
    if (performance.now() < this.inlineBackoffUntil) return false;
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    return bytes <= INLINE_MAX_BYTES;
  }

  /** A reused file is cut to what this run wrote, durably: only the newest file of a log can then hold old bytes after its records. */
  async close(): Promise<void> {
    try {
      if (this.reused) {
        await this.fh.truncate(this.position);
        await this.fh.sync();
      }
    } finally {
      await this.fh.close();
    }
  }
}

/** What is left of `chunks` after a write took `bytesWritten` bytes of them. */
function unwritten(chunks: Uint8Array[], bytesWritten: number): Uint8Array[] {
  if (bytesWritten === 0) throw Object.assign(new Error('wal: the disk took no bytes of an append'), { code: 'EIO' });
  const rest: Uint8Array[] = [];
  for (const c of chunks) {
    if (bytesWritten >= c.length) {
      bytesWritten -= c.length;
      continue;
    }
    rest.push(bytesWritten > 0 ? c.subarray(bytesWritten) : c);
    bytesWritten = 0;
  }
  return rest;
}

/** A file in memory: what this life wrote, then, past it, what an earlier life left (a reused file). */
interface MemoryFile {
  chunks: Buffer[];
  written: number;
  stale: Buffer;
}

function contentOf(f: MemoryFile): Buffer {
  const own = Buffer.concat(f.chunks);
  return f.stale.length > f.written ? Buffer.concat([own, f.stale.subarray(f.written)]) : own;
}

/**
 * Segments in memory, always durable: for stores on an in-memory database
 * (tests, tools). Reuse behaves as on disk: a reused file keeps its old
 * bytes past what is written until it is closed.
 */
export class MemoryWalFiles implements WalFiles {
  private readonly files = new Map<string, MemoryFile>();
  private readonly spare: MemoryFile[] = [];

  constructor(private readonly keepForReuse = 0) {}

  async list(): Promise<string[]> {
    return [...this.files.keys()];
  }

  async read(name: string): Promise<Buffer> {
    return contentOf(this.file(name));
  }

  async readAt(name: string, position: number, length: number): Promise<Buffer> {
    return Buffer.from(contentOf(this.file(name)).subarray(position, position + length));
  }

  async create(name: string): Promise<WalFile> {
    if (this.files.has(name)) throw Object.assign(new Error(`wal: ${name} exists`), { code: 'EEXIST' });
    const file = this.spare.shift() ?? { chunks: [], written: 0, stale: Buffer.alloc(0) };
    this.files.set(name, file);
    return {
      append: async (parts) => {
        // Copied: the caller may reuse its buffers once the append resolves, as a file would allow.
        for (const p of parts) {
          file.chunks.push(Buffer.from(p));
          file.written += p.length;
        }
      },
      close: async () => {
        file.stale = Buffer.alloc(0);
      },
    };
  }

  async truncate(name: string, size: number): Promise<void> {
    const file = this.file(name);
    const kept = Buffer.from(contentOf(file).subarray(0, size));
    Object.assign(file, { chunks: [kept], written: kept.length, stale: Buffer.alloc(0) });
  }

  async remove(name: string, reuse = false): Promise<void> {
    const file = this.files.get(name);
    this.files.delete(name);
    if (file && reuse && this.spare.length < this.keepForReuse) this.spare.push({ chunks: [], written: 0, stale: contentOf(file) });
  }

  private file(name: string): MemoryFile {
    const file = this.files.get(name);
    if (!file) throw Object.assign(new Error(`wal: no file ${name}`), { code: 'ENOENT' });
    return file;
  }
}
