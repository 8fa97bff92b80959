import { constants, writevSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** One segment open for appending. */
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
  /** A new, empty file, whose existence is durable once this resolves. */
  create(name: string): Promise<WalFile>;
  /** Cuts a file to `size` bytes (a torn tail found at open). */
  truncate(name: string, size: number): Promise<void>;
  remove(name: string): Promise<void>;
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
  /**
   * Files open for reading, most recently used last. Opening and closing a
   * file for each read costs two thread-pool round trips, more than reading
   * a 1 MiB value itself (~0.35 against ~0.3 ms of CPU here).
   */
  private readonly readers = new Map<string, Promise<FileHandle>>();

  constructor(readonly dir: string) {}

  private ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true }).then(() => undefined);
    return this.ready;
  }

  async list(): Promise<string[]> {
    await this.ensureDir();
    return readdir(this.dir);
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
    const fh = await open(join(this.dir, name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND | constants.O_DSYNC);
    await syncDir(this.dir);
    return new DsyncFile(fh);
  }

  truncate(name: string, size: number): Promise<void> {
    return truncate(join(this.dir, name), size);
  }

  async remove(name: string): Promise<void> {
    this.forget(name);
    await unlink(join(this.dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

/** Files kept open for reading (blob files and log segments read back). */
const READERS_KEPT = 32;

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

  constructor(private readonly fh: FileHandle) {}

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
      while (pending.length > 0) pending = unwritten(pending, writevSync(this.fh.fd, pending as Uint8Array[]));
      const now = performance.now();
      if (now - started > INLINE_SLOW_MS) this.inlineBackoffUntil = now + INLINE_BACKOFF_MS;
      return;
    }
    // writev may write less than asked (a full disk, a signal); the rest follows.
    while (pending.length > 0) pending = unwritten(pending, (await this.fh.writev(pending as Uint8Array[])).bytesWritten);
  }

  private mayWriteInline(chunks: readonly Uint8Array[]): boolean {
    if (performance.now() < this.inlineBackoffUntil) return false;
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    return bytes <= INLINE_MAX_BYTES;
  }

  close(): Promise<void> {
    return this.fh.close();
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

/** Segments in memory, always durable: for stores on an in-memory database (tests, tools). */
export class MemoryWalFiles implements WalFiles {
  private readonly files = new Map<string, Buffer[]>();

  async list(): Promise<string[]> {
    return [...this.files.keys()];
  }

  async read(name: string): Promise<Buffer> {
    return Buffer.concat(this.chunks(name));
  }

  async readAt(name: string, position: number, length: number): Promise<Buffer> {
    const all = Buffer.concat(this.chunks(name));
    return Buffer.from(all.subarray(position, position + length));
  }

  async create(name: string): Promise<WalFile> {
    if (this.files.has(name)) throw Object.assign(new Error(`wal: ${name} exists`), { code: 'EEXIST' });
    const chunks: Buffer[] = [];
    this.files.set(name, chunks);
    return {
      append: async (parts) => {
        // Copied: the caller may reuse its buffers once the append resolves, as a file would allow.
        for (const p of parts) chunks.push(Buffer.from(p));
      },
      close: async () => undefined,
    };
  }

  async truncate(name: string, size: number): Promise<void> {
    const chunks = this.chunks(name);
    const kept = Buffer.from(Buffer.concat(chunks).subarray(0, size));
    chunks.splice(0, chunks.length, kept);
  }

  async remove(name: string): Promise<void> {
    this.files.delete(name);
  }

  private chunks(name: string): Buffer[] {
    const chunks = this.files.get(name);
    if (!chunks) throw Object.assign(new Error(`wal: no file ${name}`), { code: 'ENOENT' });
    return chunks;
  }
}
