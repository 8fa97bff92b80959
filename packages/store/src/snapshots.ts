import { type BatchOp, flushToDisk, writeBatch } from './batch';
import { Reader, Writer } from './codec';
import type { StoreDatabase } from './database';
import { APPLIED_KEY, encodeApplied, GENERATION_KEY, type Generation, generationRange, metaKey, otherGeneration, Prefix, STATE_KEY_HEADER_BYTES, STATE_PREFIXES } from './keys';
import type { BlobAppender } from './blob-log';
import { decodeStoredKeyValue, encodeStoredKeyValue, isBlobRecord, type KeyValueRecord } from './records';
import type { KvStateMachine } from './state-machine';
import type { SnapshotInstaller, SnapshotReader, SnapshotStore } from './storage-interfaces';

/**
 * State snapshots over the two state generations. A reader streams the
 * current generation (pinned by LevelDB iterators); an install fills the
 * spare generation while the current one keeps serving, then one synced meta
 * write (generation + applied index) swaps them, so a crash at any step
 * leaves one whole state. The retired generation is cleared afterwards, and
 * on open whatever an unfinished install left in the spare one.
 */
export class GenerationSnapshots implements SnapshotStore {
  /** The install that owns the spare generation, if any (one at a time). */
  private install: InstallOwner | undefined;

  constructor(
    private readonly db: StoreDatabase,
    /** Owns the current generation and applied index; told when a swap changes them. */
    private readonly fsm: KvStateMachine,
  ) {}

  /** Deletes every state record of generation `gen`, and its blob files. */
  async clearGeneration(gen: Generation): Promise<void> {
    for (const prefix of [...STATE_PREFIXES, Prefix.blobFile]) await this.db.clear(generationRange(prefix, gen));
    await this.fsm.blobs.dropGeneration(gen);
  }

  /** After a swap: the generation that was current until then is no longer read by anything. */
  async retireGeneration(old: Generation): Promise<void> {
    await this.clearGeneration(old);
  }

  /** At open: whatever sits in the spare generation is an install that never finished. */
  discardUnfinishedInstall(): Promise<void> {
    return this.clearGeneration(otherGeneration(this.fsm.generation));
  }

  snapshotReader(maxChunkBytes = 1024 * 1024): SnapshotReader {
    const appliedIndex = this.fsm.appliedIndex;
    const gen = this.fsm.generation;
    const blobs = this.fsm.blobs;
    // The blob files the records point to stay until the stream is done.
    const unpin = blobs.pin();
    // LevelDB iterators read from an implicit snapshot taken at creation.
    const sources = STATE_PREFIXES.map((kind) => ({ kind, it: this.db.iterator(generationRange(kind, gen)) }));
    return {
      appliedIndex,
      async *chunks() {
        try {
          let w = new Writer(64 * 1024);
          let bytes = 0;
          for (const { kind, it } of sources) {
            for await (const [key, stored] of it) {
              // Values from blob files travel inline: the receiver keeps its own blob files.
              let value = stored;
              if (kind === Prefix.user && isBlobRecord(stored)) {
                const { kv, blob } = decodeStoredKeyValue(key.subarray(STATE_KEY_HEADER_BYTES), stored);
                value = encodeStoredKeyValue({ ...kv, value: await blobs.read(gen, blob!) });
              }
              // At most the encoded size: the kind, two length prefixes, the key without its header, the value.
              const size = 1 + 2 * 10 + key.length - STATE_KEY_HEADER_BYTES + value.length;
              if (bytes > 0 && bytes + size > maxChunkBytes) {
                yield w.finish();
                w = new Writer(64 * 1024);
                bytes = 0;
              }
              w.u8(kind).bytes(key.subarray(STATE_KEY_HEADER_BYTES)).bytes(value);
              bytes += size;
            }
          }
          if (bytes > 0) yield w.finish();
        } finally {
          await Promise.all(sources.map((s) => s.it.close()));
          unpin();
        }
      },
    };
  }

  /**
   * Starts installing a leader's state snapshot into the unused generation;
   * the current state keeps serving until `finish` swaps them atomically.
   * There is one spare generation, so one install at a time: a new one
   * supersedes any install under way (waiting for its current step), and a
   * superseded, finished or aborted installer never touches the store again
   * (its writes and finish fail; its abort does nothing).
   */
  async beginSnapshotInstall(): Promise<SnapshotInstaller> {
    const previous = this.install;
    const me: InstallOwner = { superseded: false, busy: Promise.resolve() };
    this.install = me;
    if (previous) {
      previous.superseded = true;
      await previous.busy;
      // Its files go with the spare generation's records, cleared below.
      await previous.blobs?.roll();
    }
    // Each step runs after the one before it, and only while this install still owns the spare generation.
    const step = <T>(what: string, fn: (target: Generation) => Promise<T>): Promise<T> => {
      const run = me.busy.then(() => {
        if (me.superseded || this.install !== me) throw new Error(`store: snapshot install ${what}: superseded or aborted`);
        return fn(otherGeneration(this.fsm.generation));
      });
      me.busy = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    };
    const release = () => {
      if (this.install === me) this.install = undefined;
    };
    await step('start', (target) => this.clearGeneration(target));
    return {
      write: (chunk: Uint8Array) =>
        step('write', async (target) => {
          const ops = decodeChunk(chunk, target);
          me.blobs ??= this.fsm.blobs.appenderFor(target);
          await moveLargeValues(ops, me.blobs, (value) => this.fsm.blobs.holds(value));
          await writeBatch(this.db, ops, false);
        }),
      // Released only at the end of the step: an install begun meanwhile waits for it.
      finish: (appliedIndex: number, meta: Record<string, Uint8Array>) => step('finish', async (target) => {
        await me.blobs?.roll();
        // State ahead of the snapshot must not be rolled back.
        if (appliedIndex <= this.fsm.appliedIndex) {
          await this.clearGeneration(target);
          release();
          return false;
        }
        // The chunks went in without fsync: flush them to disk before the swap makes them the state.
        await flushToDisk(this.db);
        const ops: BatchOp[] = [
          { type: 'put', key: GENERATION_KEY, value: Buffer.from([target]) },
          { type: 'put', key: APPLIED_KEY, value: encodeApplied(appliedIndex) },
          ...(me.blobs?.takeAccountOps() ?? []),
        ];
        for (const [name, value] of Object.entries(meta)) ops.push({ type: 'put', key: metaKey(name), value: Buffer.from(value) });
        await writeBatch(this.db, ops, true);
        const old = this.fsm.generation;
        await this.fsm.adoptGeneration(target, appliedIndex);
        await this.retireGeneration(old);
        release();
        return true;
      }),
      abort: async () => {
        if (this.install !== me) return; // finished, or superseded: the spare generation is not ours to clear
        await step('abort', async (target) => {
          await me.blobs?.roll();
          await this.clearGeneration(target);
          release();
        }).catch(() => undefined);
      },
    };
  }
}

/** A snapshot install that owns the spare generation, and its blob appends. */
interface InstallOwner {
  superseded: boolean;
  busy: Promise<void>;
  blobs?: BlobAppender;
}

/**
 * Appends the large values of a chunk's user records to the install's blob
 * files (durably, before the batch) and points the records there, adding
 * the files' accounts to the batch: the installed state keeps its values
 * as one written by applies would.
 */
async function moveLargeValues(ops: BatchOp[], blobs: BlobAppender, holds: (value: Buffer) => boolean): Promise<void> {
  const large: { op: BatchOp & { type: 'put' }; kv: KeyValueRecord }[] = [];
  for (const op of ops) {
    if (op.type !== 'put' || op.key[0] !== Prefix.user) continue;
    // A reader sends values inline; a pointer would name another member's files.
    if (isBlobRecord(op.value)) throw new RangeError('store: a snapshot chunk carries a blob pointer instead of a value');
    const { kv } = decodeStoredKeyValue(op.key.subarray(STATE_KEY_HEADER_BYTES), op.value);
    if (holds(kv.value)) large.push({ op, kv });
  }
  if (large.length === 0) return;
  const pointers = await blobs.append(large.map(({ kv }) => ({ key: kv.key, value: kv.value })));
  large.forEach(({ op, kv }, i) => {
    op.value = encodeStoredKeyValue(kv, pointers[i]);
  });
  for (const op of blobs.takeAccountOps()) ops.push(op);
}

/** One snapshot chunk as puts into generation `target`. */
function decodeChunk(chunk: Uint8Array, target: Generation): BatchOp[] {
  const r = new Reader(chunk);
  const ops: BatchOp[] = [];
  while (!r.done) {
    const kind = r.u8();
    const key = r.bytes();
    const value = Buffer.from(r.bytes());
    if (!(STATE_PREFIXES as readonly number[]).includes(kind)) throw new RangeError(`store: unknown snapshot record kind ${kind}`);
    ops.push({ type: 'put', key: Buffer.concat([Buffer.from([kind, target]), key]), value });
  }
  return ops;
}
