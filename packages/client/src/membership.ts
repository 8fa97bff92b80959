import type { Member__Output } from '@bellwether/proto';
import type { CallOptions } from './options';
import { AlreadyExists, type BellwetherError, FailedPrecondition, InvalidArgument, NotFound } from './errors';

/** Options of {@link BellwetherClient.addMember}. */
export interface AddMemberOptions extends CallOptions {
  /**
   * Add the member as a learner (default `true`): it receives the log without
   * counting for commits, so a new, empty member never slows writes or risks
   * the quorum while it catches up. Promote it afterwards.
   */
  learner?: boolean;
}

/** A member id as the server accepts it; checked here so a typo fails fast. */
export function checkMemberId(id: unknown): string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(id)) {
    throw new InvalidArgument(`id: ${JSON.stringify(id)} is not a valid member id (letters, digits, _.-; at most 63)`);
  }
  return id;
}

/** A membership change as sent: the method and its request. */
export type ChangeRequest =
  | { method: 'AddMember'; request: { id: string; peerAddress: string; learner: { value: boolean } } }
  | { method: 'PromoteMember'; request: { id: string } }
  | { method: 'RemoveMember'; request: { id: string } };

/**
 * A refusal that a retried change got after an earlier attempt may have
 * taken effect is that attempt's own doing when the members now are what the
 * change asked for: a RemoveMember retried after the member left (NOT_FOUND),
 * an AddMember whose member is there at its address (ALREADY_EXISTS), a
 * PromoteMember whose member is a voter ("already a voter"). Then the change's
 * answer, built from `members`; otherwise undefined (the refusal stands).
 */
export function settledChange(change: ChangeRequest, refusal: BellwetherError, members: Member__Output[]): { member?: Member__Output; members: Member__Output[] } | undefined {
  const member = members.find((m) => m.id === change.request.id);
  switch (change.method) {
    case 'RemoveMember':
      return refusal instanceof NotFound && !member ? { members } : undefined;
    case 'AddMember':
      return refusal instanceof AlreadyExists && member && member.address === change.request.peerAddress && (member.voter || change.request.learner.value)
        ? { member, members }
        : undefined;
    case 'PromoteMember':
      return refusal instanceof FailedPrecondition && member?.voter ? { member, members } : undefined;
  }
}
