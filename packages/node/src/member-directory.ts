import { type ConfChange, decodeConfChange, type Entry } from '@bellwether/raft';
import { decodeIncarnations, recordIncarnations } from './incarnation';
import { changedRecords, decodeMembers, encodeMembers, type MemberInfo } from './membership';
import type { LeaderHint } from './replica-errors';

/**
 * The members as this replica knows them (id, address, voter, incarnation),
 * kept in step with the applied log: membership entries change it as they
 * are applied, an installed snapshot replaces it. `index` is the log index it
 * reflects; entries up to it are never applied to it again.
 */
export class MemberDirectory {
  private members: Map<string, MemberInfo>;
  private at: number;

  constructor(
    members: MemberInfo[],
    index: number,
    /** Where a member serves clients, when that is not its member (peer) address. */
    private readonly clientAddressOf: ((id: string) => string) | undefined,
    /** A member's record was made anew or dropped: what a process presented under that id no longer says which process it is. */
    private readonly onReset: (id: string) => void,
  ) {
    this.members = new Map(members.map((m) => [m.id, m]));
    this.at = index;
  }

  /** The log index the member list reflects. */
  get index(): number {
    return this.at;
  }

  list(): MemberInfo[] {
    return [...this.members.values()];
  }

  encoded(): Buffer {
    return encodeMembers(this.members.values());
  }

  /** Records where a member is reachable (e.g. this node's own port once bound). */
  setAddress(id: string, address: string): void {
    const m = this.members.get(id);
    if (m) this.members.set(id, { ...m, address });
  }

  /** The address clients reach a member at (its member address unless peers have a port of their own). */
  clientAddress(m: MemberInfo): string {
    return this.clientAddressOf?.(m.id) ?? m.address;
  }

  /** Where clients find leader `leaderId`, if it is a known member. */
  hint(leaderId: string | null): LeaderHint | undefined {
    if (!leaderId) return undefined;
    const m = this.members.get(leaderId);
    return m ? { id: m.id, address: this.clientAddress(m) } : undefined;
  }

  /**
   * Applies the membership entries among `entries` that the list does not
   * reflect yet (past both `appliedIndex` and its own index); true if any
   * changed it. A joiner's list is newer than the log it replays: going
   * through the old changes again would take it back to earlier memberships
   * (a member removed then, an incarnation replaced since) and make it refuse
   * the members of today, the leader among them.
   */
  applyEntries(entries: Entry[], appliedIndex: number): boolean {
    let changed = false;
    for (const e of entries) {
      if (e.type !== 'conf' || e.index <= appliedIndex || e.index <= this.at) continue;
      this.applyConfChange(decodeConfChange(e.data));
      changed = true;
    }
    this.at = Math.max(this.at, entries.at(-1)?.index ?? 0);
    return changed;
  }

  /** An installed snapshot's member list (as of `index`) replaces this one. */
  replace(encoded: Uint8Array, index: number): void {
    const before = this.members;
    this.members = new Map(decodeMembers(encoded).map((m) => [m.id, m]));
    this.at = index;
    for (const id of changedRecords(before, this.members)) this.onReset(id);
  }

  private applyConfChange(cc: ConfChange): void {
    if (cc.kind === 'memberMetadata') {
      recordIncarnations(this.members, decodeIncarnations(cc.context));
      return;
    }
    const address = cc.context ? Buffer.from(cc.context).toString('utf8') : this.members.get(cc.nodeId)?.address ?? '';
    switch (cc.kind) {
      case 'addVoter':
        this.members.set(cc.nodeId, { id: cc.nodeId, address, voter: true, incarnation: '' });
        break;
      case 'promoteLearner':
        this.members.set(cc.nodeId, { incarnation: '', ...this.members.get(cc.nodeId), id: cc.nodeId, address, voter: true });
        break;
      case 'addLearner':
        this.members.set(cc.nodeId, { id: cc.nodeId, address, voter: false, incarnation: '' });
        break;
      case 'removeNode':
        this.members.delete(cc.nodeId);
        break;
    }
    if (cc.kind !== 'promoteLearner') this.onReset(cc.nodeId);
  }
}
