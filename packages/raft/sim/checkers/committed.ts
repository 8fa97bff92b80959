import { type ClusterConfig, type ConfChange, type Entry, applyConfChange, decodeConfChange, majority } from '../../src/index.js';
import { Violation, fingerprint } from './violation.js';

export interface CommittedRecord {
  term: number;
  fp: string;
  /**
   * An upper bound on the term in which the entry was committed: the smallest
   * current term of a node seen holding it as committed. (An entry of term 3
   * may be committed only in term 11, as a prefix of that leader's entries.)
   */
  commitTerm: number;
}

export interface DiskView {
  snapshotIndex: number;
  /** Term of the persisted entry at `index`, undefined if absent or compacted. */
  termAt(index: number): number | undefined;
}

/**
 * The registry of committed entries, and two properties about it:
 *
 * - State Machine Safety (§5.4.3): no two nodes commit or apply different
 *   entries at one index.
 * - No committed entry is lost: the highest committed entry stays on the disks
 *   of a majority of the voters of the configuration in effect at that index
 *   (crashes lose only unpersisted data, so this must hold across restarts).
 */
export class CommittedChecker {
  private readonly records: Array<CommittedRecord | undefined> = [];
  maxCommitted = 0;
  /** Committed conf changes, ascending by index (the bootstrap config is entries 1..k). */
  private readonly confs: Array<{ index: number; cc: ConfChange }> = [];

  record(index: number): CommittedRecord | undefined {
    return this.records[index];
  }

  /** A node considers `e` committed (or applies it). */
  onCommitted(node: string, e: Entry, what: 'committed' | 'applied', observerTerm: number): void {
    const fp = fingerprint(e);
    const known = this.records[e.index];
    if (known === undefined) {
      this.records[e.index] = { term: e.term, fp, commitTerm: observerTerm };
      if (e.index > this.maxCommitted) this.maxCommitted = e.index;
      if (e.type === 'conf') {
        this.confs.push({ index: e.index, cc: decodeConfChange(e.data) });
        this.confs.sort((a, b) => a.index - b.index);
      }
      return;
    }
    if (known.term !== e.term || known.fp !== fp)
      throw new Violation(
        'state-machine-safety',
        `${node} ${what} (index ${e.index}, term ${e.term}, ${fp}) but (term ${known.term}, ${known.fp}) was committed there`,
      );
    if (observerTerm < known.commitTerm) known.commitTerm = observerTerm;
  }

  /** A snapshot at (index, term) was installed: its last entry must be the committed one. */
  onSnapshotInstalled(node: string, index: number, term: number): void {
    const known = this.records[index];
    if (known !== undefined && known.term !== term)
      throw new Violation('state-machine-safety', `${node} installed a snapshot at (${index}, term ${term}) but term ${known.term} was committed there`);
  }

  /** The committed configuration in effect at `index`. */
  configAt(index: number): ClusterConfig {
    let c: ClusterConfig = { voters: [], learners: [] };
    for (const p of this.confs) {
      if (p.index > index) break;
      c = applyConfChange(c, p.cc);
    }
    return c;
  }

  /** Is `node` removed by a committed conf entry (and not re-added)? */
  isRemoved(node: string): boolean {
    let removed = false;
    for (const p of this.confs) if (p.cc.nodeId === node) removed = p.cc.kind === 'removeNode';
    return removed;
  }

  /** Checks that the highest committed entry is durable on a majority of its configuration's voters. */
  checkRetained(disks: ReadonlyMap<string, DiskView>): void {
    const m = this.maxCommitted;
    if (m === 0) return;
    const rec = this.records[m]!;
    const voters = this.configAt(m).voters;
    if (voters.length === 0) return;
    let have = 0;
    for (const v of voters) {
      const d = disks.get(v);
      if (d === undefined) continue;
      if (d.snapshotIndex >= m || d.termAt(m) === rec.term) have++;
    }
    // A single-server change takes effect on append, so M may have been committed
    // under the next configuration (one voter more or less, never two: a second
    // change needs the first committed, and commits are prefixes). Either way it
    // sits on at least ceil(n/2) voters of the configuration at M — enough for
    // every majority of both configurations to contain a holder.
    if (have < Math.ceil(voters.length / 2) || (voters.length % 2 === 1 && have < majority(voters.length)))
      throw new Violation(
        'committed-entry-lost',
        `committed index ${m} (term ${rec.term}) is durable on only ${have} of voters [${voters.join(',')}]`,
      );
  }
}
