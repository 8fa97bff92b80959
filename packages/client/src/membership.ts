import type { CallOptions } from './client';
import { InvalidArgument } from './errors';

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
