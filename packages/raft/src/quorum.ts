import type { NodeId } from './types.js';

/**
 * Majority arithmetic over a voter set. Kept separate so the only place that
 * decides "is this a quorum" is small enough to check by eye.
 */

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The largest index that a majority of `voters` has matched: sort the match
 * indexes descending and take the (majority-1)th. Voters without a match count as 0.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[majority(voters.length) - 1]!;
}

export type VoteResult = 'won' | 'lost' | 'pending';

/** Tallies granted (true) / rejected (false) votes; votes from non-voters are ignored. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const v of voters) {
    const vote = votes.get(v);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const need = majority(voters.length);
  if (granted >= need) return 'won';
  if (voters.length - rejected < need) return 'lost';
  return 'pending';
}

/** True when the ids in `acks` include a majority of `voters`. */
export function hasQuorum(voters: readonly NodeId[], acks: (id: NodeId) => boolean): boolean {
  let n = 0;
  for (const v of voters) if (acks(v)) n++;
  return voters.length > 0 && n >= majority(voters.length);
}
