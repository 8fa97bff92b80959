// A short fingerprint of the member list (ids, addresses, voter flags), and
// an event when it changes. WatchLeader sends it with every event and sends
// an event when it changes, so SDK clients re-read Cluster.Members only when
// there is something new instead of polling it.
import { EventEmitter } from 'node:events';
import type { MemberInfo } from './membership';

/** FNV-1a over the sorted member entries, as 8 hex digits. */
export function membersFingerprint(members: readonly MemberInfo[]): string {
  const text = members
    .map((m) => `${m.id}@${m.address}${m.voter ? '' : '~learner'}`)
    .sort()
    .join(',');
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** What the fingerprint is computed from: the replica's member list and its apply notices. */
export interface MemberSource {
  memberList(): MemberInfo[];
  on(event: 'applied', listener: () => void): unknown;
  off(event: 'applied', listener: () => void): unknown;
}

/**
 * Follows the member list; emits `change` when its fingerprint changes. A
 * membership change takes effect when its entry is applied, so the list is
 * looked at after each applied batch (a few microseconds for a small cluster).
 */
export class MembersWatch extends EventEmitter {
  #value: string;
  readonly #source: MemberSource;
  readonly #onApplied = () => {
    const next = membersFingerprint(this.#source.memberList());
    if (next === this.#value) return;
    this.#value = next;
    this.emit('change', next);
  };

  constructor(source: MemberSource) {
    super();
    // One listener per WatchLeader stream: thousands are expected.
    this.setMaxListeners(0);
    this.#source = source;
    this.#value = membersFingerprint(source.memberList());
    source.on('applied', this.#onApplied);
  }

  get fingerprint(): string {
    return this.#value;
  }

  close(): void {
    this.#source.off('applied', this.#onApplied);
    this.removeAllListeners();
  }
}
