import type { PeerCertificate } from 'node:tls';
import { AUTHORIZATION_METADATA } from '@bellwether/proto';
import { type AuthState, type KeyPermission, ROOT, type Store } from '@bellwether/store';
import { type Metadata, status } from '@grpc/grpc-js';
import { RpcError } from '../errors';
import { verifyToken } from './tokens';

/** What a call presents: its metadata and, over TLS, the client's certificate. */
export interface CallCredentials {
  metadata: Metadata;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
}

/** Who a call speaks for; `revision` (from a token) must still be the user's. */
export interface Principal {
  user: string;
  revision?: number;
}

export type Access = 'read' | 'write';

const unauthenticated = (message: string) => new RpcError(status.UNAUTHENTICATED, message);
const permissionDenied = (message: string) => new RpcError(status.PERMISSION_DENIED, message);

/** A key for a message: text when printable, else hex. */
function show(key: Buffer): string {
  return /^[\x20-\x7e]*$/.test(key.toString('latin1')) ? JSON.stringify(key.toString('latin1')) : `0x${key.toString('hex')}`;
}

function allows(p: KeyPermission, access: Access): boolean {
  return p.type === 'readwrite' || p.type === access;
}

/**
 * Decides, from the replicated auth state on this member, who a call speaks
 * for and whether its user may touch a key or range. While auth is disabled
 * everything is allowed.
 */
export class Authorizer {
  constructor(
    private readonly store: Store,
    private readonly opts: { clientCertAuth: boolean },
  ) {}

  private get state(): AuthState {
    return this.store.authState;
  }

  get enabled(): boolean {
    return this.state.enabled;
  }

  /**
   * The caller, from a bearer token or (with --client-cert-auth) its
   * certificate's CN; throws UNAUTHENTICATED. With `checkUser` false only the
   * token's signature and expiry are checked: the caller then calls
   * {@link recheck} once this member has caught up (a follower read).
   */
  identify(call: CallCredentials, checkUser = true): Principal {
    const state = this.state;
    const header = call.metadata.get(AUTHORIZATION_METADATA)[0];
    if (typeof header === 'string' && header !== '') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) throw unauthenticated('the authorization metadata must be "Bearer <token>"');
      const claims = verifyToken(state.tokenKey, m[1]!, Date.now());
      if (typeof claims === 'string') throw unauthenticated(claims);
      const principal = { user: claims.user, revision: claims.revision };
      if (checkUser) this.recheck(principal);
      return principal;
    }
    if (this.opts.clientCertAuth) {
      const cn = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
      if (typeof cn === 'string' && state.users.has(cn)) return { user: cn };
    }
    throw unauthenticated(
      `auth is enabled: send "authorization: Bearer <token>" metadata with a token from Auth.Authenticate${this.opts.clientCertAuth ? ', or a client certificate whose CN is a user' : ''}`,
    );
  }

  /** Throws UNAUTHENTICATED if the principal's user is gone or its password changed since its token was issued. */
  recheck(p: Principal): void {
    const user = this.state.users.get(p.user);
    if (!user || (p.revision !== undefined && user.revision !== p.revision)) {
      throw unauthenticated('the token\'s user was deleted or its password changed; authenticate again');
    }
  }

  private isRoot(user: string): boolean {
    return this.state.users.get(user)?.roles.includes(ROOT) ?? false;
  }

  requireRoot(p: Principal): void {
    if (!this.isRoot(p.user)) throw permissionDenied(`user "${p.user}" lacks the root role this call needs`);
  }

  /** The permitted [start, end) intervals for `access`, sorted by start; undefined = everything (root). */
  private intervals(user: string, access: Access): KeyPermission[] | undefined {
    const u = this.state.users.get(user);
    if (!u) return [];
    if (u.roles.includes(ROOT)) return undefined;
    const out: KeyPermission[] = [];
    for (const role of u.roles) for (const p of this.state.roles.get(role) ?? []) if (allows(p, access)) out.push(p);
    return out.sort((a, b) => Buffer.compare(a.start, b.start));
  }

  checkKey(p: Principal, key: Buffer, access: Access): void {
    const list = this.intervals(p.user, access);
    if (!list) return;
    if (list.some((i) => Buffer.compare(i.start, key) <= 0 && (i.end.length === 0 || Buffer.compare(key, i.end) < 0))) return;
    throw permissionDenied(`user "${p.user}" has no ${access.toUpperCase()} permission on key ${show(key)}`);
  }

  /** A range must be covered whole by the user's permissions; the refusal names the first key outside them. */
  checkRange(p: Principal, start: Buffer, end: Buffer | undefined, access: Access): void {
    const list = this.intervals(p.user, access);
    if (!list) return;
    let cursor = start;
    for (const i of list) {
      if (Buffer.compare(i.start, cursor) > 0) break;
      if (i.end.length === 0) return;
      if (Buffer.compare(i.end, cursor) > 0) cursor = i.end;
      if (end && Buffer.compare(cursor, end) >= 0) return;
    }
    const to = end ? show(end) : 'the end of the keyspace';
    throw permissionDenied(`user "${p.user}" has no ${access.toUpperCase()} permission on part of the range [${show(start)}, ${to}): keys from ${show(cursor)} on are outside its roles`);
  }
}
