// Who a request comes from, as told by its cookies: the signed editor name
// and the SDK session token (set by the visitor's first write).
import type { BellwetherClient, Session } from '@bellwether/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PageReads, writerSession } from './reads';

export const SESSION_COOKIE = 'bw_session';
export const EDITOR_COOKIE = 'editor';
const COOKIE = { path: '/', httpOnly: true, sameSite: 'lax' } as const;

export function editorOf(req: FastifyRequest): string | undefined {
  const raw = req.cookies[EDITOR_COOKIE];
  if (!raw) return undefined;
  const un = req.unsignCookie(raw);
  return un.valid && un.value ? un.value : undefined;
}

export function signIn(reply: FastifyReply, name: string): void {
  reply.setCookie(EDITOR_COOKIE, name, { ...COOKIE, signed: true });
}

export function signOut(reply: FastifyReply): void {
  reply.clearCookie(EDITOR_COOKIE, COOKIE);
}

/** The page's reads: through the visitor's session if they have one, else any-follower. */
export function pageReads(client: BellwetherClient, req: FastifyRequest, maxStalenessMs: number): PageReads {
  return PageReads.forRequest(client, req.cookies[SESSION_COOKIE], maxStalenessMs);
}

/** The session a write goes through: the visitor's, or a new one. */
export function sessionForWrite(client: BellwetherClient, req: FastifyRequest): Session {
  return writerSession(client, req.cookies[SESSION_COOKIE]);
}

/** Stores the session's token, which now covers what it wrote or read, for the next request on any process. */
export function keepSession(reply: FastifyReply, session: Session | undefined): void {
  if (session) reply.setCookie(SESSION_COOKIE, session.token(), COOKIE);
}
