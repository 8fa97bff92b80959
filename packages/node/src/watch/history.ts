import { type KeyChange, releaseChanges } from '@bellwether/store';

/** One revision's changes, as the history keeps them. */
export interface HistoryRevision {
  revision: number;
  changes: KeyChange[];
  /** Estimated bytes of the changes (keys, values, previous values, overhead). */
  bytes: number;
  /** Bytes of every revision appended before this one, since the history began: lag in bytes is a subtraction. */
  bytesBefore: number;
}

export interface HistoryLimits {
  /** Keep the changes of at most this many of the latest revisions (log indexes). */
  maxRevisions: number;
  /** Keep at most this many bytes of changes. */
  maxBytes: number;
}

const CHANGE_OVERHEAD_BYTES = 96;

function changeBytes(c: KeyChange): number {
  // A deferred previous value counts whole: a watch may load it.
  const prevBytes = c.prevKv ? c.prevKv.key.length + (c.prevValue?.length ?? c.prevKv.value.length) : 0;
  return CHANGE_OVERHEAD_BYTES + c.kv.key.length + c.kv.value.length + prevBytes;
}

/**
 * The recent changes applied on this member, by revision, for watches: any
 * watch whose start is inside the window is served from it, whatever member
 * it created earlier watches on, because every member applies the same log.
 * Bounded by revisions and bytes; what falls out raises `compactRevision`.
 * It lives in memory: after a restart (or a snapshot install) it starts
 * empty at the member's applied index. A previous value left in its blob
 * file (KeyChange.prevValue) is read by the first watch that reports it,
 * and let go when its revision leaves the history.
 */
export class WatchHistory {
  #revisions: HistoryRevision[] = [];
  #head = 0;
  #bytes = 0;
  #totalBytes = 0;
  #compact: number;
  /** Changes applied up to here are in the history (or compacted). */
  #appliedTo: number;

  constructor(
    readonly limits: HistoryLimits,
    startIndex: number,
  ) {
    this.#compact = startIndex;
    this.#appliedTo = startIndex;
  }

  /** The highest revision no longer available: a watch must start after it. */
  get compactRevision(): number {
    return this.#compact;
  }

  /** Every change up to this revision is in the history (or compacted away). */
  get appliedTo(): number {
    return this.#appliedTo;
  }

  /** Bytes appended since the history began (a watcher's lag is this minus what it has sent). */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#revisions.length - this.#head;
  }

  /** Adds the changes of a batch applied up to `appliedIndex` (in revision order), then trims. */
  append(changes: KeyChange[], appliedIndex: number): void {
    let current: HistoryRevision | undefined;
    for (const c of changes) {
      if (current?.revision !== c.revision) {
        current = { revision: c.revision, changes: [], bytes: 0, bytesBefore: this.#totalBytes };
        this.#revisions.push(current);
      }
      const bytes = changeBytes(c);
      current.changes.push(c);
      current.bytes += bytes;
      this.#bytes += bytes;
      this.#totalBytes += bytes;
    }
    this.#appliedTo = Math.max(this.#appliedTo, appliedIndex);
    this.#trim();
  }

  /** The state was replaced (a snapshot): nothing before `appliedIndex` can be told any more. */
  reset(appliedIndex: number): void {
    for (let i = this.#head; i < this.#revisions.length; i++) releaseChanges(this.#revisions[i]!.changes);
    this.#revisions = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#compact = Math.max(this.#compact, appliedIndex);
    this.#appliedTo = Math.max(this.#appliedTo, appliedIndex);
  }

  /** The position of the first kept revision >= `revision` (binary search); `end()` when none. */
  seek(revision: number): number {
    let lo = this.#head;
    let hi = this.#revisions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#revisions[mid]!.revision < revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  at(position: number): HistoryRevision | undefined {
    return position >= this.#head ? this.#revisions[position] : undefined;
  }

  end(): number {
    return this.#revisions.length;
  }

  /** Bytes of the kept revisions from `revision` on. */
  bytesFrom(revision: number): number {
    const r = this.#revisions[this.seek(revision)];
    return r ? this.#totalBytes - r.bytesBefore : 0;
  }

  #trim(): void {
    const { maxRevisions, maxBytes } = this.limits;
    const oldestKept = this.#appliedTo - maxRevisions;
    this.#compact = Math.max(this.#compact, oldestKept);
    while (this.#head < this.#revisions.length) {
      const r = this.#revisions[this.#head]!;
      if (r.revision > oldestKept && this.#bytes <= maxBytes) break;
      this.#bytes -= r.bytes;
      this.#compact = Math.max(this.#compact, r.revision);
      // Trimmed revisions stay in the array until it is cut below (thousands of
      // them): their changes must go now, or with 1 MiB values the history
      // holds gigabytes its byte count no longer shows.
      releaseChanges(r.changes);
      r.changes = [];
      this.#head++;
    }
    // Positions from `seek` are valid only until the next append: callers seek by revision each time.
    if (this.#head > 4096 && this.#head * 2 > this.#revisions.length) {
      this.#revisions = this.#revisions.slice(this.#head);
      this.#head = 0;
    }
  }
}
