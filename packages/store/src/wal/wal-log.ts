import { storeIoCounts } from '../batch-counts';
import type { HardState, LogEntry, LogStore } from '../storage-interfaces';
import { type EntryChecksum, entryRecord, hardStateRecord, parseRecord, parseSegment, type SnapshotMode, snapshotRecord, type WalRecord } from './wal-records';
import type { WalFile, WalFiles } from './wal-files';

/** A new segment is started once the current one holds this much. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

const SEGMENT_NAME = /^([0-9a-f]{16})\.wal$/;
const segmentName = (seq: number): string => `${seq.toString(16).padStart(16, '0')}.wal`;

interface Segment {
  seq: number;
  name: string;
  /** Highest entry index written into it: once compacted past, the segment holds nothing needed. */
  maxIndex: number;
  bytes: number;
}

/** Where an entry's record is, to read it back for a follower that is behind. */
interface Slot {
  term: number;
  seq: number;
  offset: number;
  bytes: number;
}

/**
 * The Raft log and hard state as an append-only write-ahead log of segment
 * files (in the spirit of etcd's WAL), beside the LevelDB that holds the
 * state. An entry is written once, as the bytes it arrived in, and dropped
 * by deleting whole segments once compacted past; LevelDB never sees it, so
 * its compactions no longer copy every value of the log level by level.
 *
 * Replay rules (open): an entry at index i replaces the log from i on (a
 * conflicting suffix is overwritten by appending); a `compact` record drops
 * entries up to its index; a `reset` record (a snapshot was installed)
 * drops them all. Every segment starts with the compaction point and the
 * hard state, so the oldest segments can be deleted without losing either.
 */
export class WalLog implements LogStore {
  /** The segment appends go to; `start` holds its opening records until the first append writes them. */
  private current: { segment: Segment; file: WalFile; start: Uint8Array[] } | undefined;
  private failed: Error | undefined;
  /** Appends (and the segment switches they make) one at a time. */
  private appending: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly files: WalFiles,
    private readonly segments: Segment[],
    private first: number,
    private slots: Slot[],
    private hardState: HardState | undefined,
    private snapshot: { index: number; meta: Buffer } | undefined,
    /** Makes the state covering entries up to `upTo` durable, or throws if it does not cover them. */
    private readonly coverUpTo: (upTo: number) => Promise<void>,
    private readonly segmentBytes: number,
    private readonly checksum: EntryChecksum | undefined,
  ) {}

  static async open(files: WalFiles, coverUpTo: (upTo: number) => Promise<void>, segmentBytes = DEFAULT_SEGMENT_BYTES, checksum?: EntryChecksum): Promise<WalLog> {
    const names = (await files.list()).filter((n) => SEGMENT_NAME.test(n)).sort();
    const replay = new Replay();
    const segments: Segment[] = [];
    for (const [i, name] of names.entries()) {
      const buf = await files.read(name);
      const { records, validBytes } = parseSegment(buf);
      if (validBytes < buf.length) {
        // Appends are durable one by one and a segment is only started after
        // the one before it is complete, so only the newest can end torn.
        if (i < names.length - 1) throw new Error(`wal: segment ${name} is damaged at byte ${validBytes} of ${buf.length}, and it is not the newest; the log cannot be trusted`);
        await files.truncate(name, validBytes);
      }
      if (records.length === 0 && i === names.length - 1) {
        await files.remove(name);
        continue;
      }
      const segment: Segment = { seq: Number.parseInt(SEGMENT_NAME.exec(name)![1]!, 16), name, maxIndex: 0, bytes: validBytes };
      for (const { record, offset, bytes } of records) {
        replay.apply(record, { term: 0, seq: segment.seq, offset, bytes });
        if (record.kind === 'entry') segment.maxIndex = Math.max(segment.maxIndex, record.entry.index);
      }
      segments.push(segment);
    }
    const { first, slots, hardState, snapshot } = replay.result();
    return new WalLog(files, segments, first, slots, hardState, snapshot, coverUpTo, segmentBytes, checksum);
  }

  get lastIndex(): number {
    return this.first - 1 + this.slots.length;
  }

  async loadHardState(): Promise<HardState | undefined> {
    return this.hardState;
  }

  /** The compaction point's meta, as last given to compactLog or resetLog. */
  async loadSnapshotMeta(): Promise<Buffer | undefined> {
    return this.snapshot?.meta;
  }

  loadLog(): Promise<LogEntry[]> {
    return this.readLog(this.first, this.lastIndex);
  }

  async readLog(lo: number, hi: number): Promise<LogEntry[]> {
    const from = Math.max(lo, this.first);
    const wanted = this.slots.slice(from - this.first, Math.min(hi, this.lastIndex) - this.first + 1);
    const entries: LogEntry[] = [];
    // Records written one after another in one segment are read in one go.
    for (let i = 0; i < wanted.length; ) {
      let j = i + 1;
      while (j < wanted.length && wanted[j]!.seq === wanted[i]!.seq && wanted[j]!.offset === wanted[j - 1]!.offset + wanted[j - 1]!.bytes) j++;
      const start = wanted[i]!;
      const end = wanted[j - 1]!;
      let buf: Buffer;
      try {
        buf = await this.files.readAt(segmentName(start.seq), start.offset, end.offset + end.bytes - start.offset);
      } catch (err) {
        // Compacted away meanwhile: the entries before it are what there is.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return entries;
        throw err;
      }
      for (let k = i; k < j; k++) {
        const slot = wanted[k]!;
        const record = parseRecord(buf.subarray(slot.offset - start.offset, slot.offset - start.offset + slot.bytes));
        const index = from + k;
        if (record?.kind !== 'entry' || record.entry.index !== index || record.entry.term !== slot.term) {
          throw new Error(`wal: the record of entry ${index} in ${segmentName(slot.seq)} at byte ${slot.offset} does not read back`);
        }
        entries.push(record.entry);
      }
      i = j;
    }
    return entries;
  }

  async persist(update: { hardState?: HardState; entries: LogEntry[] }, sync = true, inline = false): Promise<void> {
    const { hardState, entries } = update;
    if (!hardState && entries.length === 0) return;
    const firstNew = entries[0]?.index;
    // The hard state goes first: a torn append then leaves a term or vote
    // recorded without its entries (harmless), never entries of a term the
    // hard state does not know.
    const chunks: Uint8Array[] = hardState ? [hardStateRecord(hardState)] : [];
    const recordBytes: number[] = [];
    for (const e of entries) {
      const parts = entryRecord(e, this.checksum);
      let n = 0;
      for (const p of parts) {
        chunks.push(p);
        n += p.length;
      }
      recordBytes.push(n);
    }
    await this.append(chunks, { sync, inline }, (segment, offset) => {
      if (hardState) {
        this.hardState = hardState;
        offset += chunks[0]!.length;
      }
      if (firstNew === undefined) return;
      this.slots.length = firstNew - this.first;
      for (const [i, e] of entries.entries()) {
        this.slots.push({ term: e.term, seq: segment.seq, offset, bytes: recordBytes[i]! });
        offset += recordBytes[i]!;
      }
      segment.maxIndex = Math.max(segment.maxIndex, entries[entries.length - 1]!.index);
    }, () => {
      if (firstNew !== undefined && (firstNew < this.first || firstNew > this.lastIndex + 1)) {
        throw new RangeError(`wal: entries from ${firstNew} do not continue the log ${this.first}..${this.lastIndex}`);
      }
    });
  }

  async compactLog(upTo: number, snapshot: Uint8Array): Promise<void> {
    // Dropped entries can no longer be replayed: the state covering them must be on disk first.
    await this.coverUpTo(upTo);
    await this.recordSnapshot('compact', upTo, snapshot);
  }

  async resetLog(snapshot: Uint8Array, snapshotIndex: number): Promise<void> {
    await this.recordSnapshot('reset', snapshotIndex, snapshot);
  }

  async close(): Promise<void> {
    await this.appending.catch(() => undefined);
    await this.current?.file.close();
    this.current = undefined;
    await this.files.close?.();
  }

  private async recordSnapshot(mode: SnapshotMode, index: number, meta: Uint8Array): Promise<void> {
    if (isBehind(mode, index, this.snapshot)) return;
    const copy = Buffer.from(meta);
    const gone: Segment[] = [];
    await this.append([snapshotRecord(mode, index, copy)], { sync: true }, (holder) => {
      this.snapshot = { index, meta: copy };
      if (mode === 'reset' || index >= this.lastIndex) {
        this.slots = [];
      } else if (index >= this.first) {
        this.slots = this.slots.slice(index + 1 - this.first);
      }
      if (mode === 'reset' || index >= this.first) this.first = index + 1;
      // The oldest segments whose entries the record just written makes unneeded: all before
      // its own segment for a reset, those wholly at or below the index for a compaction.
      for (const segment of this.segments) {
        if (segment === holder || (mode === 'compact' && segment.maxIndex > index)) break;
        gone.push(segment);
      }
      this.segments.splice(0, gone.length);
    });
    for (const segment of gone) await this.files.remove(segment.name);
  }

  /**
   * Appends `chunks` to the current segment (starting a new one when it is
   * full) once `check` passes; `placed` learns where they went, once they
   * are on disk. After a failed append the log takes no more: what reached
   * the file is unknown, and the member stops on a storage failure anyway.
   */
  private append(chunks: Uint8Array[], how: { sync: boolean; inline?: boolean }, placed: (segment: Segment, offset: number) => void, check = (): void => undefined): Promise<void> {
    const run = this.appending.then(async () => {
      if (this.failed) throw new Error(`wal: an earlier append failed (${this.failed.message}); the log takes no more writes until the member restarts`);
      check();
      const current = await this.segmentWithRoom();
      const { segment, file } = current;
      const start = current.start;
      const startBytes = start.reduce((n, c) => n + c.length, 0);
      storeIoCounts.logAppends++;
      try {
        await file.append(start.length > 0 ? [...start, ...chunks] : chunks, how.sync, how.inline);
      } catch (err) {
        this.failed = err as Error;
        throw err;
      }
      current.start = [];
      segment.bytes += startBytes;
      const offset = segment.bytes;
      segment.bytes += chunks.reduce((n, c) => n + c.length, 0);
      placed(segment, offset);
    });
    this.appending = run.catch(() => undefined);
    return run;
  }

  private async segmentWithRoom(): Promise<{ segment: Segment; file: WalFile; start: Uint8Array[] }> {
    if (this.current && this.current.segment.bytes < this.segmentBytes) return this.current;
    await this.current?.file.close();
    const seq = (this.segments[this.segments.length - 1]?.seq ?? 0) + 1;
    const segment: Segment = { seq, name: segmentName(seq), maxIndex: 0, bytes: 0 };
    const file = await this.files.create(segment.name);
    // What lets this segment be read without the ones before it, written with its first append.
    const start: Uint8Array[] = [];
    if (this.snapshot) start.push(snapshotRecord('compact', this.snapshot.index, this.snapshot.meta));
    if (this.hardState) start.push(hardStateRecord(this.hardState));
    this.segments.push(segment);
    this.current = { segment, file, start };
    return this.current;
  }
}

/** The log as the records, read in order, leave it. */
class Replay {
  private first = 1;
  private last = 0;
  private readonly slots = new Map<number, Slot>();
  private hardState: HardState | undefined;
  private snapshot: { index: number; meta: Buffer } | undefined;

  apply(record: WalRecord, at: Slot): void {
    switch (record.kind) {
      case 'entry': {
        const { index, term } = record.entry;
        for (let i = index; i <= this.last; i++) this.slots.delete(i);
        this.slots.set(index, { ...at, term });
        this.last = index;
        break;
      }
      case 'hardState':
        this.hardState = record.hardState;
        break;
      case 'snapshot': {
        if (isBehind(record.mode, record.index, this.snapshot)) break;
        // A copy: the meta outlives the segment's buffer, which is let go after the replay.
        this.snapshot = { index: record.index, meta: Buffer.from(record.meta) };
        if (record.mode === 'reset') {
          this.slots.clear();
          this.first = record.index + 1;
          this.last = record.index;
          break;
        }
        for (const i of this.slots.keys()) if (i <= record.index) this.slots.delete(i);
        this.first = Math.max(this.first, record.index + 1);
        this.last = Math.max(this.last, record.index);
        break;
      }
    }
  }

  result(): { first: number; slots: Slot[]; hardState: HardState | undefined; snapshot: { index: number; meta: Buffer } | undefined } {
    const slots: Slot[] = [];
    for (let i = this.first; i <= this.last; i++) {
      const slot = this.slots.get(i);
      if (!slot) throw new Error(`wal: the log has no entry ${i} between ${this.first} and ${this.last}; the segments do not fit together`);
      slots.push(slot);
    }
    let hardState = this.hardState;
    // A torn append can leave its hard state without the entries it committed.
    if (hardState && hardState.commit > this.last) hardState = { ...hardState, commit: this.last };
    return { first: this.first, slots, hardState, snapshot: this.snapshot };
  }
}

/** A compaction point behind the snapshot recorded (one installed past it meanwhile): recording it would take the log's start back. */
function isBehind(mode: SnapshotMode, index: number, recorded: { index: number } | undefined): boolean {
  return mode === 'compact' && recorded !== undefined && index < recorded.index;
}
