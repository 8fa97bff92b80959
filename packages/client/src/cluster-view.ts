// The client's view of the cluster (client.cluster()): a snapshot of what the
// tracker knows, in the public shape.
import type { ClusterView, MemberView } from './results';
import type { MemberState } from './member-state';
import type { ClusterTracker } from './tracker';

/** What `tracker` knows now: the leader and every member of this cluster, sorted by id. */
export function clusterView(tracker: ClusterTracker): ClusterView {
  const leader = tracker.leader;
  const leaderMember = tracker.leaderMember();
  const members: MemberView[] = tracker
    .members()
    .filter((m) => !m.foreign)
    .map((m) => memberView(m, leader?.id, tracker.connectionOf(m)))
    .sort((a, b) => (a.id ?? a.address).localeCompare(b.id ?? b.address));
  return {
    clusterId: tracker.clusterId,
    term: tracker.term,
    leader: leader
      ? { id: leader.id, address: leader.address ?? tracker.addressOf(leader.id), term: leader.term, reachable: leaderMember !== undefined }
      : undefined,
    members,
  };
}

function memberView(m: MemberState, leaderId: string | undefined, link: { connected: boolean; streams: number }): MemberView {
  return {
    id: m.id,
    address: m.address,
    voter: m.voter,
    state: m.health,
    isLeader: m.id !== undefined && m.id === leaderId,
    lastContactAt: m.lastContactAt,
    appliedIndex: m.appliedIndex,
    term: m.term,
    rttMs: m.rttMs === undefined ? undefined : Math.round(m.rttMs * 100) / 100,
    outstanding: m.outstanding,
    leaderContactAgeMs: m.leaderContactAgeMs,
    lastError: m.lastError,
    ...link,
  };
}
