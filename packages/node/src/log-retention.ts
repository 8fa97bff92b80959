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
}

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
