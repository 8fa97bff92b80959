import type { ClusterHandlers, FollowerProgress, LeaderEvent, Role, StatusResponse } from '@bellwether/proto';
import { EventEmitter } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { toServiceError } from './errors';
import { memberHandlers, toWireMember } from './member-handlers';
import type { MemberChanges } from './member-changes';
import { MembersWatch } from './members-fingerprint';
import type { Replica, Role as RaftRole } from './replica';

export interface ClusterContext {
  clusterId: string;
  address: string;
  replica: Replica;
  memberChanges: MemberChanges;
}

const ROLES: Record<RaftRole, Role> = {
  follower: 'ROLE_FOLLOWER',
  candidate: 'ROLE_CANDIDATE',
  preCandidate: 'ROLE_PRE_CANDIDATE',
  leader: 'ROLE_LEADER',
};

function leaderEvent(ctx: ClusterContext, members: MembersWatch): LeaderEvent {
  const hint = ctx.replica.leaderHint();
  return {
    leaderId: hint?.id ?? '',
    leaderAddress: hint?.address ?? '',
    term: ctx.replica.currentTerm,
    memberId: ctx.replica.memberId,
    membersFingerprint: members.fingerprint,
  };
}

/** This member's view of itself and, on the leader, of its followers (Cluster.Status). */
export function memberStatus(ctx: ClusterContext, lastContactMs: (id: string) => number | undefined): StatusResponse {
    const { replica } = ctx;
    const st = replica.raftStatus();
    const hint = replica.leaderHint();
    const me = replica.memberList().find((m) => m.id === replica.memberId);
    const followers: FollowerProgress[] = [];
    if (replica.isLeader && st.progress) {
      const learners = new Set(st.config.learners);
      for (const [id, p] of Object.entries(st.progress)) {
        if (id === replica.memberId) continue;
        followers.push({
          memberId: id,
          matchIndex: p.match,
          lagEntries: Math.max(0, st.lastIndex - p.match),
          lastContactMs: lastContactMs(id) ?? 0,
          state: p.state,
          learner: learners.has(id),
        });
      }
    }
    const age = replica.leaderContactAgeMs();
    return {
      clusterId: ctx.clusterId,
      memberId: replica.memberId,
      role: me && !me.voter ? 'ROLE_LEARNER' : ROLES[replica.currentRole],
      term: replica.currentTerm,
      leaderId: hint?.id ?? '',
      leaderAddress: hint?.address ?? '',
      commitIndex: st.commit,
      appliedIndex: replica.appliedIndex,
      lastIndex: st.lastIndex,
      followers,
      leaderContactAgeMs: Number.isFinite(age) ? age : Date.now() - replica.startedAtMs,
      address: ctx.address,
    };
}

// TransferLeadership is served by transfer-service.ts.
export function clusterService(ctx: ClusterContext, lastContactMs: (id: string) => number | undefined): Pick<ClusterHandlers, 'Status' | 'Members' | 'WatchLeader'> {
  const members = new MembersWatch(ctx.replica);
  // WatchLeader streams follow leader changes through this one listener on
  // the replica: a fleet holds thousands of them, and a listener each would
  // trip Node's leak warning on the replica past ten.
  const leaderChanges = new EventEmitter().setMaxListeners(0);
  ctx.replica.on('leaderChange', () => leaderChanges.emit('change'));
  return {
    Status(_call, callback) {
      callback(null, memberStatus(ctx, lastContactMs));
    },

    Members(_call, callback) {
      const { replica } = ctx;
      callback(null, {
        clusterId: ctx.clusterId,
        members: replica.memberList().map((m) => toWireMember({ ...m, address: replica.clientAddress(m) })),
        leaderId: replica.leaderId ?? '',
        term: replica.currentTerm,
        appliedIndex: replica.membersIndex,
      });
    },

    ...memberHandlers(ctx.memberChanges, () => ctx.replica.memberList(), toServiceError),

    WatchLeader(call: ServerWritableStream<unknown, LeaderEvent>) {
      const send = () => {
        if (!call.cancelled) call.write(leaderEvent(ctx, members));
      };
      send();
      leaderChanges.on('change', send);
      members.on('change', send);
      const done = () => {
        leaderChanges.off('change', send);
        members.off('change', send);
      };
      call.on('cancelled', done);
      call.on('close', done);
      call.on('error', done);
    },
  };
}
