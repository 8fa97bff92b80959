// How much applied log a member keeps for followers that fall behind: a
// bound in entries and one in bytes, whichever keeps less. With 1 MiB values
// 20,000 entries would be 20 GiB of disk; with 100-byte values 256 MiB would
// be millions of entries. Compaction runs in steps (compactEvery*) so it is
// not paid on every apply.

export interface RetentionPolicy {
  logRetentionEntries: number;
  compactEveryEntries: number;
  /** Undefined: no byte bound. */
  logRetentionBytes?: number;
  compactEveryBytes?: number;
  /**
   * Applied log the leader keeps beyond the retention for a follower that is
   * catching up (being sent a snapshot, or replicating behind the retention);
   * undefined: none. Past it, that follower needs a snapshot again.
   */
  catchUpBytes?: number;
}

/**
 * Entries the leader keeps beyond the retention for a catching-up follower,
 * whatever their bytes: once applied, an entry whose data left memory costs
 * ~100 bytes of index and term, so this bounds that memory (~10 MB).
 */
export const CATCH_UP_MAX_ENTRIES = 100_000;

/** Whether enough has been applied past the retention to compact now. */
export function compactionDue(p: RetentionPolicy, appliedIndex: number, compactedTo: number, logBytes: number): boolean {
  if (appliedIndex - p.logRetentionEntries - compactedTo >= p.compactEveryEntries) return true;
  return p.logRetentionBytes !== undefined && logBytes >= p.logRetentionBytes + (p.compactEveryBytes ?? 0);
}

/** The index up to which the log may be compacted: the retention in entries or in bytes, whichever keeps less. */
export function compactionPoint(p: RetentionPolicy, appliedIndex: number, pointForBytes: (keepBytes: number) => number): number {
  const byEntries = appliedIndex - p.logRetentionEntries;
  if (p.logRetentionBytes === undefined) return byEntries;
  return Math.max(byEntries, pointForBytes(p.logRetentionBytes));
}

/**
 * The compaction point with a catching-up follower's needs: no further than
 * `neededFrom - 1` (the follower still needs entries from `neededFrom` on),
 * unless that keeps more than the catch-up bound beyond the retention.
 * Without this, a follower that installs a snapshot of a large state finds,
 * once it is installed, that the leader compacted the entries after it while
 * it was sent (256 MiB of retention is seconds of 1 MiB writes), and is sent
 * another snapshot, and another, without end.
 */
export function compactionPointWithCatchUp(
  p: RetentionPolicy,
  appliedIndex: number,
  pointForBytes: (keepBytes: number) => number,
  neededFrom: number | undefined,
): number {
  const point = compactionPoint(p, appliedIndex, pointForBytes);
  if (neededFrom === undefined || p.catchUpBytes === undefined || neededFrom - 1 >= point) return point;
  const floorByEntries = appliedIndex - p.logRetentionEntries - CATCH_UP_MAX_ENTRIES;
  const floorByBytes = p.logRetentionBytes === undefined ? floorByEntries : pointForBytes(p.logRetentionBytes + p.catchUpBytes);
  return Math.max(neededFrom - 1, floorByEntries, floorByBytes);
}
