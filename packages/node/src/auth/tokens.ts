import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring tokens any member verifies without a lookup elsewhere:
 * `bw1.<payload>.<HMAC-SHA256>` (base64url), keyed by the token key in the
 * replicated auth state. The payload names the user and the revision of its
 * password, so a token dies with its user or with a password change.
 */
export interface TokenClaims {
  user: string;
  /** The user's revision (creation or last password change) when the token was issued. */
  revision: number;
  expiresAtMs: number;
}

const PREFIX = 'bw1';

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(`${PREFIX}.${payload}`).digest();
}

export function signToken(key: Buffer, claims: TokenClaims): string {
  const payload = Buffer.from(JSON.stringify({ u: claims.user, r: claims.revision, e: claims.expiresAtMs })).toString('base64url');
  return `${PREFIX}.${payload}.${mac(key, payload).toString('base64url')}`;
}

/** The claims of a token signed with `key` and not expired at `nowMs`; otherwise why not (never the token itself). */
export function verifyToken(key: Buffer, token: string, nowMs: number): TokenClaims | string {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX || key.length === 0) return 'the token is malformed';
  const [, payload, signature] = parts as [string, string, string];
  const expected = mac(key, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the token is not signed by this cluster (or auth was re-enabled since)';
  let claims: { u?: unknown; r?: unknown; e?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return 'the token is malformed';
  }
  if (typeof claims.u !== 'string' || typeof claims.r !== 'number' || typeof claims.e !== 'number') return 'the token is malformed';
  if (claims.e <= nowMs) return 'the token has expired; authenticate again';
  return { user: claims.u, revision: claims.r, expiresAtMs: claims.e };
}
