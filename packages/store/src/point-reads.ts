import type { BlobLog } from './blob-log';
import type { StoreDatabase } from './database';
import { APPLIED_KEY, decodeApplied, decodeGeneration, GENERATION_KEY, userKey } from './keys';
import { decodeStoredKeyValue, type KeyValueRecord } from './records';

/** Most keys one coalesced LevelDB read asks for: a larger burst is split, so its parts run on several thread-pool threads at once. */
export const POINT_READS_PER_BATCH_MAX = 64;

interface PendingRead {
  key: Uint8Array;
  resolve(r: { kv: KeyValueRecord | undefined; appliedIndex: number }): void;
  reject(e: unknown): void;
}

/**
 * Point reads of user keys, coalesced: the reads asked for together (before
 * the next-tick queue runs) go to LevelDB as one getMany, with the applied
 * index and generation from the same implicit snapshot. Each LevelDB read is
 * a round trip through libuv's thread pool, and on a busy 2-core machine
 * each costs the main thread a wake-up and a context switch; a KV.Stream
 * message carries tens of gets, which so take a few round trips instead of
 * tens. Every read in a batch sees the same state, and the appliedIndex it
 * is told is that state's, as with a read of its own.
 */
export class PointReads {
  #pending: PendingRead[] = [];
  #scheduled = false;

  constructor(
    private readonly db: StoreDatabase,
    private readonly blobs: BlobLog,
  ) {}

  read(key: Uint8Array): Promise<{ kv: KeyValueRecord | undefined; appliedIndex: number }> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ key, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // nextTick: the reads that arrived together (the calls of one
        // KV.Stream message, or the microtasks now queued) share a read. Node
        // drains this queue after every HTTP/2 stream event, so unary calls
        // still read one by one; waiting for the check phase (setImmediate)
        // batched them, but made reads and replies go in lock-step with one
        // thread-pool thread and halved unary get throughput here.
        process.nextTick(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const all = this.#pending;
    this.#pending = [];
    for (let i = 0; i < all.length; i += POINT_READS_PER_BATCH_MAX) void this.#readBatch(all.slice(i, i + POINT_READS_PER_BATCH_MAX));
  }

  async #readBatch(batch: PendingRead[]): Promise<void> {
    // Both generations of each key: which one is current is known only from the same snapshot.
    const keys: Buffer[] = [APPLIED_KEY, GENERATION_KEY];
    for (const r of batch) keys.push(userKey(0, r.key), userKey(1, r.key));
    let values: (Buffer | undefined)[];
    const unpin = this.blobs.pin();
    try {
      values = await this.db.getMany(keys);
    } catch (e) {
      unpin();
      for (const r of batch) r.reject(e);
      return;
    }
    const appliedIndex = decodeApplied(values[0]);
    const gen = decodeGeneration(values[1]);
    const resolving: Promise<void>[] = [];
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const raw = values[2 + 2 * i + gen];
      try {
        if (!raw) {
          r.resolve({ kv: undefined, appliedIndex });
          continue;
        }
        const { kv, blob } = decodeStoredKeyValue(Buffer.from(r.key), raw);
        if (!blob) {
          r.resolve({ kv, appliedIndex });
          continue;
        }
        resolving.push(
          this.blobs.read(gen, blob).then(
            (value) => r.resolve({ kv: { ...kv, value }, appliedIndex }),
            (e) => r.reject(e),
          ),
        );
      } catch (e) {
        r.reject(e);
      }
    }
    if (resolving.length === 0) unpin();
    else void Promise.all(resolving).finally(unpin);
  }
}
