import type { Rng } from '@bellwether/raft';
import type { WalFile, WalFiles } from '@bellwether/store';
import type { CrashKind, DiskTiming } from './disk';

interface SimFile {
  /** What this life of the file wrote, from its start. */
  chunks: Buffer[];
  size: number;
  /** Bytes up to here survive a power loss: a returned synced append covers everything before it. */
  durable: number;
  /** A reused file's bytes from its earlier life: past `size` they are still there (until close cuts them). */
  stale: Buffer;
}

function contentOf(f: SimFile): Buffer {
  const own = Buffer.concat(f.chunks);
  return f.stale.length > f.size ? Buffer.concat([own, f.stale.subarray(f.size)]) : own;
}

const missing = (name: string): Error => Object.assign(new Error(`ENOENT: no such file ${name} (simulated)`), { code: 'ENOENT' });

/**
 * The write-ahead log's directory on a member's simulated disk. An append
 * lands at once (readable) and is durable once its fsync, which takes
 * virtual time, returns. A process crash keeps every byte written before
 * the crash instant; a power loss keeps each file's durable bytes and, half
 * the time, a random number of the unsynced ones after them (a torn
 * record). Creating and removing files is durable at once (the log syncs the
 * directory on create; a removed segment that came back would be an old
 * one, which replay tolerates, but that is not modelled). A file removed
 * for reuse is handed out by a later create with its old bytes, which a
 * power loss leaves wherever the new ones did not reach.
 */
export class SimWalFiles {
  private files = new Map<string, SimFile>();
  /** Views and files opened before a crash belong to the dead process: what they write never happens. */
  private generation = 0;
  private crashed = false;
  /** Files removed for reuse, oldest first. */
  private spare: SimFile[] = [];

  constructor(
    private readonly timing: DiskTiming,
    private readonly keepForReuse = 0,
  ) {}

  /** The directory as one run of the member's process sees it. */
  view(): WalFiles {
    const generation = this.generation;
    const dead = (): boolean => this.crashed || generation !== this.generation;
    return {
      list: async () => [...this.files.keys()],
      read: async (name) => contentOf(this.file(name)),
      readAt: async (name, position, length) => Buffer.from(contentOf(this.file(name)).subarray(position, position + length)),
      create: async (name) => this.create(name, dead),
      truncate: async (name, size) => {
        if (!dead()) this.truncate(name, size);
      },
      remove: async (name, reuse = false) => {
        if (dead()) return;
        const file = this.files.get(name);
        this.files.delete(name);
        if (file && reuse && this.spare.length < this.keepForReuse) {
          const stale = contentOf(file);
          this.spare.push({ chunks: [], size: 0, durable: 0, stale });
        }
      },
    };
  }

  private create(name: string, dead: () => boolean): WalFile {
    if (this.files.has(name)) throw Object.assign(new Error(`EEXIST: ${name} (simulated)`), { code: 'EEXIST' });
    const file: SimFile = (!dead() && this.spare.shift()) || { chunks: [], size: 0, durable: 0, stale: Buffer.alloc(0) };
    if (!dead()) this.files.set(name, file);
    return {
      append: async (parts, sync) => {
        if (dead()) return;
        if (sync && this.timing.fullDisk()) throw Object.assign(new Error('ENOSPC: no space left on device (simulated)'), { code: 'ENOSPC' });
        for (const p of parts) {
          file.chunks.push(Buffer.from(p));
          file.size += p.length;
        }
        if (!sync) return;
        const upTo = file.size;
        await this.timing.sleep(this.timing.fsyncMs());
        if (!dead()) file.durable = Math.max(file.durable, upTo);
      },
      close: async () => {
        // The log cuts a reused file to what it wrote, synced.
        if (!dead()) file.stale = Buffer.alloc(0);
      },
    };
  }

  private truncate(name: string, size: number): void {
    const file = this.file(name);
    const kept = Buffer.from(contentOf(file).subarray(0, size));
    file.chunks = [kept];
    file.size = kept.length;
    file.durable = Math.min(file.durable, kept.length);
    file.stale = Buffer.alloc(0);
  }

  /** The crash instant: nothing written from now on by the dying process counts. */
  crash(): void {
    this.crashed = true;
  }

  /** The directory as the restarted machine finds it. */
  recover(kind: CrashKind, rng: Rng): void {
    if (kind === 'power') {
      for (const file of this.files.values()) {
        const unsynced = file.size - file.durable;
        const keep = file.durable + (unsynced > 0 && !rng.chance(0.5) ? rng.int(0, unsynced) : 0);
        const kept = Buffer.from(Buffer.concat(file.chunks).subarray(0, keep));
        file.chunks = [kept];
        file.size = kept.length;
      }
    }
    // A spare file is the dead process's; the restarted one does not know it (on disk it is deleted at start).
    this.spare = [];
    for (const file of this.files.values()) {
      // What was not overwritten is still the old bytes; the restarted process reads them as the file.
      if (file.stale.length > file.size) {
        file.chunks = [contentOf(file)];
        file.size = file.chunks[0]!.length;
      }
      file.stale = Buffer.alloc(0);
      file.durable = file.size;
    }
    this.generation++;
    this.crashed = false;
  }

  private file(name: string): SimFile {
    const file = this.files.get(name);
    if (!file) throw missing(name);
    return file;
  }
}
