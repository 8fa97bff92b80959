import type { ClusterHandlers, Member } from '@bellwether/proto';
import type { ServiceError } from '@grpc/grpc-js';
import type { MemberChanges } from './member-changes';
import type { MemberInfo } from './membership';

/** A member as the Cluster API shows it. */
export function toWireMember(m: MemberInfo): Member {
  return { id: m.id, address: m.address, voter: m.voter, role: m.voter ? 'MEMBER_ROLE_VOTER' : 'MEMBER_ROLE_LEARNER', incarnation: m.incarnation ?? '' };
}

type MemberHandlers = Pick<ClusterHandlers, 'AddMember' | 'PromoteMember' | 'RemoveMember'>;

/** The Cluster API's membership RPCs: the edge of member-changes.ts (domain errors become statuses here). */
export function memberHandlers(changes: MemberChanges, members: () => MemberInfo[], toError: (err: unknown) => Partial<ServiceError>): MemberHandlers {
  const all = () => members().map(toWireMember);
  return {
    AddMember(call, callback) {
      const { id, peerAddress, learner } = call.request;
      // Unset means a learner: the safe default for a member that starts empty.
      changes.add(id, peerAddress, learner?.value ?? true).then(
        (m) => callback(null, { member: toWireMember(m), members: all() }),
        (err: unknown) => callback(toError(err)),
      );
    },
    PromoteMember(call, callback) {
      changes.promote(call.request.id).then(
        (m) => callback(null, { member: toWireMember(m), members: all() }),
        (err: unknown) => callback(toError(err)),
      );
    },
    RemoveMember(call, callback) {
      changes.remove(call.request.id).then(
        (list) => callback(null, { members: list.map(toWireMember) }),
        (err: unknown) => callback(toError(err)),
      );
    },
  };
}
