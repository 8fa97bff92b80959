import type { Rng } from '@bellwether/raft';
import type { WalFile, WalFiles } from '@bellwether/store';
import type { CrashKind, DiskTiming } from './disk';

interface SimFile {
  chunks: Buffer[];
  size: number;
  /** Bytes up to here survive a power loss: a returned synced append covers everything before it. */
  durable: number;
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
 * one, which replay tolerates, but that is not modelled).
 */
export class SimWalFiles {
  private files = new Map<string, SimFile>();
  /** Views and files opened before a crash belong to the dead process: what they write never happens. */
  private generation = 0;
  private crashed = false;

  constructor(private readonly timing: DiskTiming) {}

  /** The directory as one run of the member's process sees it. */
  view(): WalFiles {
    const generation = this.generation;
    const dead = (): boolean => this.crashed || generation !== this.generation;
    return {
      list: async () => [...this.files.keys()],
      read: async (name) => Buffer.concat(this.file(name).chunks),
      readAt: async (name, position, length) => Buffer.from(Buffer.concat(this.file(name).chunks).subarray(position, position + length)),
      create: async (name) => this.create(name, dead),
      truncate: async (name, size) => {
        if (!dead()) this.truncate(name, size);
      },
      remove: async (name) => {
        if (!dead()) this.files.delete(name);
      },
    };
  }

  private create(name: string, dead: () => boolean): WalFile {
    if (this.files.has(name)) throw Object.assign(new Error(`EEXIST: ${name} (simulated)`), { code: 'EEXIST' });
    const file: SimFile = { chunks: [], size: 0, durable: 0 };
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
      close: async () => undefined,
    };
  }

  private truncate(name: string, size: number): void {
    const file = this.file(name);
    const kept = Buffer.from(Buffer.concat(file.chunks).subarray(0, size));
    file.chunks = [kept];
    file.size = kept.length;
    file.durable = Math.min(file.durable, kept.length);
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
    for (const file of this.files.values()) file.durable = file.size;
    this.generation++;
    this.crashed = false;
  }

  private file(name: string): SimFile {
    const file = this.files.get(name);
    if (!file) throw missing(name);
    return file;
  }
}
