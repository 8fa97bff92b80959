import { applyConfChange, cloneConfig, decodeConfChange } from './confchange.js';
import { assert, UsageError } from './errors.js';
import type { ClusterConfig, Entry, SnapshotMeta } from './types.js';

/** Approximate wire size of an entry, used for message and in-flight byte limits. */
export function entrySizeBytes(e: Entry): number {
  return (e.evictedBytes ?? e.data.byteLength) + 24;
}

const NO_DATA = new Uint8Array(0);

interface ConfPoint {
  index: number;
  config: ClusterConfig;
}

/**
 * The in-memory Raft log from the last compaction point on.
 *
 *   snapshot.index | firstIndex ... stable ... | unstableFrom ... lastIndex
 *
 * Entries at and after `unstableFrom` have not been handed to the caller for
 * persisting yet. The configuration in effect at every index is derivable: the
 * snapshot's config, then one {@link ConfPoint} per conf entry in the log.
 */
export class RaftLog {
  /** The compaction point: entries <= snapshot.index are gone from memory. */
  snapshot: SnapshotMeta;
  private entries: Entry[];
  committed: number;
  /** Highest index the caller has applied (confirmed by advance()). */
  applied: number;
  /** Highest index handed out in a Ready's committedEntries. */
  applying: number;
  /** First index not yet handed out for persistence. */
  unstableFrom: number;
  /** A snapshot received from the leader, to be handed out (and installed) in the next Ready. */
  pendingSnapshot: SnapshotMeta | undefined;
  private confPoints: ConfPoint[] = [];
  /** Entries at and below this index (and above the compaction point) hold no data in memory. */
  private evictedTo: number;
  /** Bytes of entry data held in memory. */
  private dataBytes = 0;
  /** entrySizeBytes of every entry in the log, evicted or not. */
  private sizeBytes = 0;

  constructor(snapshot: SnapshotMeta, entries: Entry[], committed: number, applied: number) {
    this.snapshot = { index: snapshot.index, term: snapshot.term, config: cloneConfig(snapshot.config) };
    this.entries = [];
    this.evictedTo = snapshot.index;
    this.committed = snapshot.index;
    this.applied = snapshot.index;
    this.applying = snapshot.index;
    this.unstableFrom = snapshot.index + 1;
    for (const e of entries) {
      assert(e.index === this.lastIndex() + 1, `log: entries must be contiguous after ${snapshot.index}`);
      assert(e.term >= this.lastTerm(), 'log: entry terms must not decrease');
      this.pushEntry(e);
    }
    this.unstableFrom = this.lastIndex() + 1;
    assert(committed <= this.lastIndex(), `log: commit ${committed} beyond last index ${this.lastIndex()}`);
    this.committed = Math.max(committed, snapshot.index);
    assert(applied <= this.committed, 'log: applied beyond commit');
    this.applied = Math.max(applied, snapshot.index);
    this.applying = this.applied;
  }

  firstIndex(): number {
    return this.snapshot.index + 1;
  }

  lastIndex(): number {
    return this.snapshot.index + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.length === 0 ? this.snapshot.term : this.entries[this.entries.length - 1]!.term;
  }

  /** The term at `index`, or undefined if compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshot.index) return this.snapshot.term;
    if (index < this.snapshot.index || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshot.index - 1]!.term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapshot.index || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshot.index - 1];
  }

  /**
   * Entries in [lo, hi] (inclusive), at most `maxBytes` in total but always at
   * least one. Undefined if `lo` is compacted.
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    if (lo <= this.snapshot.index) return undefined;
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= Math.min(hi, this.lastIndex()); i++) {
      const e = this.entries[i - this.snapshot.index - 1]!;
      bytes += entrySizeBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** §5.4.1: a candidate's log is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Fast backtracking: the largest index <= `index` whose term is <= `term`.
   * Entries after it cannot match an entry of term `term` at `index`. Returns
   * the compaction point when terms below it are unknown.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  /**
   * The follower side of AppendEntries (§5.3). Returns the index of the last
   * new entry, or undefined if the log does not contain (prevIndex, prevTerm).
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    // Skip the prefix we already have; truncate only on a real conflict, so a
    // stale or duplicated message never cuts entries we acknowledged.
    let k = 0;
    while (k < entries.length) {
      const e = entries[k]!;
      if (e.index <= this.snapshot.index) {
        k++;
        continue;
      }
      if (!this.matchTerm(e.index, e.term)) break;
      k++;
    }
    if (k < entries.length) {
      const first = entries[k]!;
      assert(first.index > this.committed, `log: conflict at ${first.index} at or below commit ${this.committed}`);
      this.append(entries.slice(k));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** Appends, overwriting any suffix from entries[0].index on. Never cuts committed entries. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const from = entries[0]!.index;
    assert(from > this.committed, `log: append at ${from} would overwrite committed ${this.committed}`);
    assert(from > this.snapshot.index && from <= this.lastIndex() + 1, `log: append at ${from} leaves a gap`);
    if (from <= this.lastIndex()) this.truncateFrom(from);
    for (const e of entries) {
      assert(e.term >= this.lastTerm(), 'log: entry terms must not decrease');
      this.pushEntry(e);
    }
    this.unstableFrom = Math.min(this.unstableFrom, from);
  }

  private truncateFrom(index: number): void {
    for (let i = index; i <= this.lastIndex(); i++) this.forget(this.entries[i - this.snapshot.index - 1]!);
    this.entries.length = index - this.snapshot.index - 1;
    while (this.confPoints.length > 0 && this.confPoints[this.confPoints.length - 1]!.index >= index) this.confPoints.pop();
  }

  private pushEntry(e: Entry): void {
    assert(e.index === this.lastIndex() + 1, 'log: non-contiguous entry');
    this.entries.push(e);
    this.dataBytes += e.data.byteLength;
    this.sizeBytes += entrySizeBytes(e);
    if (e.type === 'conf') {
      this.confPoints.push({ index: e.index, config: applyConfChange(this.config(), decodeConfChange(e.data)) });
    }
  }

  /** The configuration in effect: the latest conf entry in the log, else the snapshot's. */
  config(): ClusterConfig {
    const last = this.confPoints[this.confPoints.length - 1];
    return last ? last.config : this.snapshot.config;
  }

  /** Index of the latest conf entry in the log (0 if none since the compaction point). */
  lastConfIndex(): number {
    return this.confPoints[this.confPoints.length - 1]?.index ?? 0;
  }

  /** The configuration in effect at `index` (index >= compaction point). */
  configAt(index: number): ClusterConfig {
    assert(index >= this.snapshot.index, 'log: configAt below compaction point');
    let c = this.snapshot.config;
    for (const p of this.confPoints) {
      if (p.index > index) break;
      c = p.config;
    }
    return c;
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `log: commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Entries in the unstable tail, to be persisted. */
  unstableEntries(): Entry[] {
    if (this.unstableFrom > this.lastIndex()) return [];
    return this.entries.slice(this.unstableFrom - this.snapshot.index - 1);
  }

  /**
   * Entries handed out up to (index, term) are now durable. If the log has
   * since been rewritten at that index the call is a no-op for it (the newer
   * entries are still unstable); equal (index, term) means an equal prefix.
   */
  stableTo(index: number, term: number): void {
    if (this.matchTerm(index, term) && index >= this.unstableFrom) this.unstableFrom = index + 1;
  }

  /** Committed entries not yet handed out, in order. */
  nextCommittedEntries(maxBytes: number): Entry[] {
    const lo = Math.max(this.applying, this.pendingSnapshot?.index ?? 0) + 1;
    if (lo > this.committed) return [];
    return this.slice(lo, this.committed, maxBytes) ?? [];
  }

  hasNextCommittedEntries(): boolean {
    return Math.max(this.applying, this.pendingSnapshot?.index ?? 0) < this.committed;
  }

  private forget(e: Entry): void {
    this.dataBytes -= e.data.byteLength;
    this.sizeBytes -= entrySizeBytes(e);
  }

  /** Bytes of entry data the log holds in memory. */
  memoryBytes(): number {
    return this.dataBytes;
  }

  /** Size of every entry after the compaction point (evicted ones included): what storage holds. */
  logBytes(): number {
    return this.sizeBytes;
  }

  /**
   * The highest index that may be compacted so that the applied entries kept
   * hold at most `keepBytes` (compaction point if nothing need go).
   */
  compactionPointForBytes(keepBytes: number): number {
    let bytes = 0;
    for (let i = this.applied; i > this.snapshot.index; i--) {
      bytes += entrySizeBytes(this.entries[i - this.snapshot.index - 1]!);
      if (bytes > keepBytes) return i;
    }
    return this.snapshot.index;
  }

  /**
   * Drops the data (not the index, term and type) of the oldest entries until
   * at most `maxBytes` of data stay in memory. Only entries that are both
   * durable (handed out for persisting and confirmed) and applied go: the
   * caller has them in its storage and never needs them for apply again.
   * Conf entries stay whole (they are small, and configuration is derived
   * from them). What is sent later is read back by the caller (evictedBytes).
   */
  evict(maxBytes: number): void {
    const limit = Math.min(this.applied, this.unstableFrom - 1);
    while (this.dataBytes > maxBytes && this.evictedTo < limit) {
      const pos = this.evictedTo - this.snapshot.index;
      const e = this.entries[pos]!;
      this.evictedTo++;
      if (e.type === 'conf' || e.evictedBytes !== undefined) continue;
      // A new object: the old one may still be referenced by a message in flight.
      this.entries[pos] = { index: e.index, term: e.term, type: e.type, data: NO_DATA, evictedBytes: e.data.byteLength };
      this.dataBytes -= e.data.byteLength;
    }
  }

  /** Replaces the whole log with a snapshot received from the leader (§7). */
  restore(meta: SnapshotMeta): void {
    this.snapshot = { index: meta.index, term: meta.term, config: cloneConfig(meta.config) };
    this.entries = [];
    this.evictedTo = meta.index;
    this.dataBytes = 0;
    this.sizeBytes = 0;
    this.confPoints = [];
    this.committed = meta.index;
    this.unstableFrom = meta.index + 1;
    this.pendingSnapshot = this.snapshot;
    // Committed entries below the snapshot are covered by installing it.
    this.applying = Math.max(this.applying, meta.index);
  }

  /** Drops entries <= index; the new compaction point's meta is returned. */
  compact(index: number): SnapshotMeta {
    if (index <= this.snapshot.index) return this.snapshot;
    if (index > this.applied) throw new UsageError(`compact(${index}) beyond applied index ${this.applied}`);
    assert(index < this.unstableFrom, 'log: compacting unstable entries');
    const term = this.term(index)!;
    const config = cloneConfig(this.configAt(index));
    for (let i = this.snapshot.index + 1; i <= index; i++) this.forget(this.entries[i - this.snapshot.index - 1]!);
    this.entries = this.entries.slice(index - this.snapshot.index);
    this.evictedTo = Math.max(this.evictedTo, index);
    this.confPoints = this.confPoints.filter((p) => p.index > index);
    this.snapshot = { index, term, config };
    return this.snapshot;
  }
}
