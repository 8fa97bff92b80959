import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { Message } from '@bellwether/raft';
import type { Store } from '@bellwether/store';
import type { Logger } from 'pino';
import type { MemberInfo } from './membership';

/**
 * Incarnations: Raft's safety assumes a voter never forgets its log or its
 * vote. A member whose disk was wiped, restored from an old copy or copied to
 * a second process does forget, while keeping its id. So every data dir gets
 * a random incarnation id when it is created, the cluster records each
 * member's incarnation in its replicated membership (a `memberMetadata` conf
 * entry, proposed by the leader the first time it hears from a member), and a
 * peer presenting another incarnation than the recorded one is refused: none
 * of its messages reach Raft, so it never counts as a vote or an ack. The
 * cure is to replace it (RemoveMember, AddMember, start it empty with
 * --initial-cluster-state existing): see docs/operations.md.
 *
 * The incarnation belongs to the directory, not to its contents: the id is
 * stored with the directory's inode, and a directory found at another inode
 * (copied, or restored from a backup) gets a new incarnation.
 */

const INCARNATION_KEY = 'incarnation';
const DIR_IDENTITY_KEY = 'incarnation-dir';
export const INCARNATION_METADATA = 'bellwether-incarnation';
/** The incarnation the caller has recorded for the member it calls, so a wiped callee learns it is refused. */
export const EXPECTED_INCARNATION_METADATA = 'bellwether-expected-incarnation';

function newIncarnation(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The directory's inode: a copy (or a restore) is a new directory with
 * another one, while a restart, a reboot or a remount keeps it. The device
 * number is left out: it may change between boots.
 */
async function dirIdentity(dataDir: string): Promise<string> {
  const st = await stat(dataDir, { bigint: true });
  return `ino:${st.ino}`;
}

/** This data dir's incarnation, made on first use (or when the directory is a copy). */
export async function loadIncarnation(store: Store, dataDir: string, log: Logger): Promise<string> {
  const stored = (await store.getMeta(INCARNATION_KEY))?.toString('utf8');
  const identity = await dirIdentity(dataDir);
  const storedIdentity = (await store.getMeta(DIR_IDENTITY_KEY))?.toString('utf8');
  if (stored && storedIdentity === identity) return stored;
  const incarnation = newIncarnation();
  if (stored) {
    log.warn(
      { dataDir, previous: stored, incarnation },
      `data dir ${dataDir} is not the directory incarnation ${stored} was made in (copied, moved or restored from a backup): ` +
        `it starts as the new incarnation ${incarnation}, which the cluster refuses until this member is replaced (docs/operations.md, "Replace a failed member")`,
    );
  }
  await store.putMeta({ [INCARNATION_KEY]: Buffer.from(incarnation), [DIR_IDENTITY_KEY]: Buffer.from(identity) });
  return incarnation;
}

/**
 * How a peer's messages are treated:
 * - `count`: delivered to Raft (the recorded incarnation, or none recorded yet
 *   anywhere: a new cluster trusts each member's first incarnation);
 * - `listen`: a voter with no recorded incarnation while others have one
 *   (a late first start, or the window before its record commits): its
 *   requests are delivered but its votes and acks are not, until the leader
 *   has recorded it with the other voters' acks;
 * - `refuse`: another incarnation than the recorded one, or not a member.
 */
export type Admission = { kind: 'count' } | { kind: 'listen' } | { kind: 'refuse'; reason: string };

/** Decides how `self` treats messages from `peerId` presenting `presented`. */
export function admitPeer(members: readonly MemberInfo[], self: string, peerId: string, presented: string): Admission {
  const m = members.find((x) => x.id === peerId);
  if (!m) return { kind: 'refuse', reason: `member ${self}: "${peerId}" is not a member` };
  const recorded = m.incarnation ?? '';
  if (recorded && recorded !== presented) return { kind: 'refuse', reason: mismatchMessage(self, m, presented) };
  if (!recorded && m.voter && members.some((x) => x.incarnation)) return { kind: 'listen' };
  return { kind: 'count' };
}

/** The refusal both sides log: what is wrong and the exact fix. */
export function mismatchMessage(self: string, m: MemberInfo, presented: string): string {
  return (
    `member ${self} refuses ${m.id}: the cluster knows ${m.id} as incarnation ${m.incarnation}, but it presents ` +
    `${presented ? `incarnation ${presented}` : 'no incarnation'}: its data dir is not the one the cluster knows ` +
    `(wiped, replaced, copied or restored), so it may have forgotten acknowledged writes or votes and takes no part in elections or commits. ` +
    `Fix: replace it. On the leader: Cluster.RemoveMember(id: "${m.id}"), then Cluster.AddMember(id: "${m.id}", peer_address: "${m.address}"); ` +
    `then start ${m.id} with an empty --data-dir and --initial-cluster-state existing; once caught up, Cluster.PromoteMember(id: "${m.id}") ` +
    '(docs/operations.md, "Replace a failed member")'
  );
}

/** What a refused process itself logs (and answers) when a peer expects another incarnation of it. */
export function expectedMismatchMessage(self: MemberInfo, own: string, peer: string, expected: string): string {
  return mismatchMessage(peer, { ...self, incarnation: expected }, own).replace(`member ${peer} refuses ${self.id}:`, `member ${self.id} (this process) is refused by ${peer}:`);
}

/** A peer expects this process to be `expected`: if it is not, why this process takes no part (logged here, answered to the peer). */
export function checkExpectedIncarnation(members: readonly MemberInfo[], self: string, own: string, peer: string, expected: string): string | undefined {
  if (!expected || expected === own) return undefined;
  const me = members.find((m) => m.id === self) ?? { id: self, address: '', voter: true };
  return expectedMismatchMessage(me, own, peer, expected);
}

/** Responses a candidate or leader counts (votes, acks): never taken from a `listen` peer. */
const COUNTED: ReadonlySet<Message['type']> = new Set(['preVoteResp', 'voteResp', 'appendResp', 'heartbeatResp']);

export function isCounted(msg: Message): boolean {
  return COUNTED.has(msg.type);
}

/** The context of a `memberMetadata` conf entry: incarnations to record, by member id. */
export function encodeIncarnations(incarnations: Record<string, string>): Uint8Array {
  return Buffer.from(JSON.stringify({ incarnations }));
}

export function decodeIncarnations(context: Uint8Array | undefined): Record<string, string> {
  if (!context) return {};
  try {
    const parsed = JSON.parse(Buffer.from(context).toString('utf8')) as { incarnations?: unknown };
    const out: Record<string, string> = {};
    if (parsed.incarnations && typeof parsed.incarnations === 'object') {
      for (const [id, inc] of Object.entries(parsed.incarnations)) if (typeof inc === 'string') out[id] = inc;
    }
    return out;
  } catch {
    return {};
  }
}

/** Applies a record to the membership: only an unrecorded member gets one (replacing goes through remove + add). */
export function recordIncarnations(members: Map<string, MemberInfo>, incarnations: Record<string, string>): void {
  for (const [id, incarnation] of Object.entries(incarnations)) {
    const m = members.get(id);
    if (m && !m.incarnation && incarnation) members.set(id, { ...m, incarnation });
  }
}
