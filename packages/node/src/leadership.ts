// Leadership transfer (Raft dissertation §3.10) as the node drives it: pick
// the voter to hand over to, ask the core to transfer, and wait until that
// voter leads. The core abandons a transfer that has not finished within an
// election timeout (the target may be catching up), so it is asked again
// until the caller's bound.
import type { Replica } from './replica';

/** Why a transfer was refused before it started; the service maps each kind to a gRPC status. */
export class TransferRefused extends Error {
  override name = 'TransferRefused';
  constructor(
    readonly kind: 'not-leader' | 'unknown-member' | 'learner' | 'no-candidate',
    message: string,
  ) {
    super(message);
  }
}

/** The transfer did not finish within its bound (or another member won the election instead). */
export class TransferFailed extends Error {
  override name = 'TransferFailed';
}

export interface TransferResult {
  leaderId: string;
  term: number;
}

export interface TransferOptions {
  /** Give up after this many ms. */
  timeoutMs: number;
  /** Milliseconds since a message from a member last arrived (undefined: never). */
  lastContactMs?: (id: string) => number | undefined;
  /** A member heard from longer ago than this is not picked as the target of an untargeted transfer. */
  recentContactMs?: number;
}

/** How often a transfer the core abandoned is asked for again. */
const RETRY_EVERY_MS = 25;

/**
 * The voter (other than this leader) with the highest match index, among
 * those heard from recently; ties go to the one heard from last. Undefined
 * when this member is not the leader or no other voter is reachable.
 */
export function mostCaughtUpVoter(replica: Replica, opts: Pick<TransferOptions, 'lastContactMs' | 'recentContactMs'> = {}): string | undefined {
  const st = replica.raftStatus();
  if (st.role !== 'leader' || !st.progress) return undefined;
  const recent = opts.recentContactMs ?? Number.POSITIVE_INFINITY;
  let best: { id: string; match: number; ageMs: number } | undefined;
  for (const id of st.config.voters) {
    const p = st.progress[id];
    if (id === st.id || !p || p.isLearner) continue;
    const ageMs = opts.lastContactMs?.(id) ?? (p.recentActive ? 0 : Number.POSITIVE_INFINITY);
    if (!p.recentActive && !(ageMs <= recent)) continue;
    if (!best || p.match > best.match || (p.match === best.match && ageMs < best.ageMs)) best = { id, match: p.match, ageMs };
  }
  return best?.id;
}

/** Checks a transfer request; returns the target to hand over to (this member itself when it already is the target). */
export function transferTarget(replica: Replica, targetId: string, opts: Pick<TransferOptions, 'lastContactMs' | 'recentContactMs'> = {}): string {
  if (!replica.isLeader) throw new TransferRefused('not-leader', `member ${replica.memberId} is not the leader; send TransferLeadership to the leader`);
  if (targetId) {
    const member = replica.memberList().find((m) => m.id === targetId);
    if (!member) {
      const ids = replica.memberList().map((m) => m.id).join(', ');
      throw new TransferRefused('unknown-member', `target_id "${targetId}" is not a member (members: ${ids})`);
    }
    if (!member.voter) throw new TransferRefused('learner', `target_id "${targetId}" is a learner; promote it before handing leadership to it`);
    return targetId;
  }
  const best = mostCaughtUpVoter(replica, opts);
  if (!best) throw new TransferRefused('no-candidate', `member ${replica.memberId} has no other voter it heard from recently to hand leadership to`);
  return best;
}

/**
 * Hands leadership to `targetId` (already checked by {@link transferTarget})
 * and resolves once this member sees it lead. Rejects with TransferFailed
 * after `timeoutMs`, or when another member wins the election instead.
 * Writes arriving meanwhile are held by the replica and then sent on to the
 * new leader (see Replica.transferLeadership).
 */
export function transferLeadership(replica: Replica, targetId: string, opts: TransferOptions): Promise<TransferResult> {
  const startTerm = replica.currentTerm;
  if (targetId === replica.memberId && replica.isLeader) return Promise.resolve({ leaderId: targetId, term: startTerm });
  return new Promise((resolve, reject) => {
    let retry: NodeJS.Timeout | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: Error | undefined) => {
      clearInterval(retry);
      clearTimeout(timer);
      replica.off('leaderChange', onChange);
      if (err) reject(err);
      else resolve({ leaderId: targetId, term: replica.currentTerm });
    };
    const onChange = ({ leaderId, term }: { leaderId: string | null; term: number }) => {
      if (leaderId === targetId) finish(undefined);
      else if (leaderId !== null && leaderId !== replica.memberId && term > startTerm) {
        finish(new TransferFailed(`leadership moved to ${leaderId} (term ${term}) instead of ${targetId}`));
      }
    };
    replica.on('leaderChange', onChange);
    timer = setTimeout(() => {
      const where = replica.isLeader ? `member ${replica.memberId} still leads` : `the leader is now ${replica.leaderId ?? 'unknown'}`;
      finish(new TransferFailed(`${targetId} did not take over leadership within ${opts.timeoutMs} ms (it may be behind or unreachable); ${where}`));
    }, opts.timeoutMs);
    replica.transferLeadership(targetId);
    retry = setInterval(() => {
      if (replica.isLeader && replica.raftStatus().leadTransferee === null) replica.transferLeadership(targetId);
    }, RETRY_EVERY_MS);
  });
}
