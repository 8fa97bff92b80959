// Sessions expire by time without the replicas' clocks deciding it: the
// leader, which alone judges how long a session has been idle, proposes a
// `session-expire` command naming each session with the last index it
// believed the session was written at; every replica applies it alike and
// forgets a session only if it was not written since (same last index).
import type { Reader, Writer } from './codec';
import type { SessionRecord } from './records';

export interface SessionExpireCommand {
  op: 'session-expire';
  sessions: { clientId: string; lastIndex: number }[];
}

/** Most sessions one expiry command names (its entry stays small). */
export const SESSION_EXPIRE_BATCH = 1000;

export function writeSessionExpire(w: Writer, c: SessionExpireCommand): void {
  w.uint(c.sessions.length);
  for (const s of c.sessions) w.string(s.clientId).uint(s.lastIndex);
}

export function readSessionExpire(r: Reader): SessionExpireCommand {
  const n = r.uint();
  if (n > SESSION_EXPIRE_BATCH) throw new RangeError(`store: a session expiry names ${n} sessions, over ${SESSION_EXPIRE_BATCH}`);
  const sessions: SessionExpireCommand['sessions'] = [];
  for (let i = 0; i < n; i++) sessions.push({ clientId: r.string(), lastIndex: r.uint() });
  return { op: 'session-expire', sessions };
}

/**
 * Applies an expiry to the sessions of the batch being applied: each named
 * session still at the named last index is reset to empty and marked
 * expired (deleted when the batch is written, unless a later entry of the
 * batch writes it again). Returns how many were expired.
 */
export function expireSessions(c: SessionExpireCommand, sessions: Map<string, SessionRecord>, dirty: Set<string>, expired: Set<string>): number {
  let n = 0;
  for (const { clientId, lastIndex } of c.sessions) {
    const session = sessions.get(clientId);
    if (!session || session.lastIndex === 0 || session.lastIndex !== lastIndex) continue;
    sessions.set(clientId, { lastIndex: 0, floor: 0, results: [] });
    dirty.delete(clientId);
    expired.add(clientId);
    n++;
  }
  return n;
}
