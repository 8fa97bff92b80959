import { Reader, Writer } from '@bellwether/store';

/** A member as the node knows it: how to reach it and whether it votes. */
export interface MemberInfo {
  id: string;
  address: string;
  voter: boolean;
  /** The incarnation (data dir) of this member the cluster knows; '' until recorded (see incarnation.ts). */
  incarnation?: string;
}

export function encodeMembers(members: Iterable<MemberInfo>): Buffer {
  const list = [...members];
  const w = new Writer();
  w.uint(list.length);
  for (const m of list) w.string(m.id).string(m.address).bool(m.voter);
  // Incarnations follow the list, so a reader that predates them still decodes it.
  for (const m of list) w.string(m.incarnation ?? '');
  return w.finish();
}

export function decodeMembers(data: Uint8Array): MemberInfo[] {
  const r = new Reader(data);
  const n = r.uint();
  const out: MemberInfo[] = [];
  for (let i = 0; i < n; i++) out.push({ id: r.string(), address: r.string(), voter: r.bool(), incarnation: '' });
  if (!r.done) for (const m of out) m.incarnation = r.string();
  return out;
}

/**
 * Metadata key: the log index the stored member list already reflects when
 * that is beyond the applied index (a joiner's list, taken from a running
 * member). Conf entries up to it are history the list has seen.
 */
export const MEMBERS_INDEX_KEY = 'members-index';

export function encodeIndex(index: number): Buffer {
  return Buffer.from(String(index));
}

export function decodeIndex(data: Uint8Array | undefined): number {
  const n = data ? Number(Buffer.from(data).toString('utf8')) : 0;
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** Ids whose record `after` does not carry over from `before`: added, removed, or with another incarnation. */
export function changedRecords(before: ReadonlyMap<string, MemberInfo>, after: ReadonlyMap<string, MemberInfo>): string[] {
  const ids = new Set([...before.keys(), ...after.keys()]);
  return [...ids].filter((id) => {
    const a = before.get(id);
    const b = after.get(id);
    return !a || !b || (a.incarnation ?? '') !== (b.incarnation ?? '');
  });
}

/** A Raft snapshot meta as stored in the node's metadata (the compaction point). */
export interface StoredSnapshotMeta {
  index: number;
  term: number;
  config: { voters: string[]; learners: string[] };
}

export function encodeSnapshotMeta(s: StoredSnapshotMeta): Buffer {
  const w = new Writer();
  w.uint(s.index).uint(s.term).uint(s.config.voters.length);
  for (const v of s.config.voters) w.string(v);
  w.uint(s.config.learners.length);
  for (const l of s.config.learners) w.string(l);
  return w.finish();
}

export function decodeSnapshotMeta(data: Uint8Array): StoredSnapshotMeta {
  const r = new Reader(data);
  const index = r.uint();
  const term = r.uint();
  const voters = Array.from({ length: r.uint() }, () => r.string());
  const learners = Array.from({ length: r.uint() }, () => r.string());
  return { index, term, config: { voters, learners } };
}
