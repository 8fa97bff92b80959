import { InvalidArgument } from './errors';
import type { ResponseHeader } from './results';

/** The prefix of every session token of this format. */
const TOKEN_PREFIX = 'bw1.';
/** Tokens are short; anything longer is not one of ours. */
const MAX_TOKEN_CHARS = 1024;

/**
 * What a session has seen: the highest log index it wrote or read, and the
 * cluster it saw it in. Read-your-writes reads send the index as `min_index`.
 * @internal
 */
export class SessionState {
  index = 0;
  clusterId: string | undefined;

  constructor(index = 0, clusterId?: string) {
    this.index = index;
    this.clusterId = clusterId;
  }

  observe(header: ResponseHeader): void {
    if (header.revision > this.index) this.index = header.revision;
    if (header.clusterId && this.clusterId === undefined) this.clusterId = header.clusterId;
  }

  /** Raises the index to at least `index` (never lowers it). */
  advance(index: number): void {
    if (index > this.index) this.index = index;
  }
}

/**
 * Encodes a session as an opaque, URL- and cookie-safe string:
 * `bw1.` + base64url of `{"c": clusterId, "i": index}`.
 * @internal
 */
export function encodeToken(state: SessionState, clusterId: string | undefined): string {
  const body = JSON.stringify({ c: state.clusterId ?? clusterId ?? '', i: state.index });
  return TOKEN_PREFIX + Buffer.from(body, 'utf8').toString('base64url');
}

/** @internal */
export function decodeToken(token: unknown): { index: number; clusterId: string | undefined } {
  if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX) || token.length > MAX_TOKEN_CHARS) {
    throw new InvalidArgument('token: not a Bellwether session token (expected the string session.token() returned)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
  } catch (cause) {
    throw new InvalidArgument('token: malformed Bellwether session token', { cause });
  }
  const body = parsed as { c?: unknown; i?: unknown } | null;
  if (
    typeof body !== 'object' ||
    body === null ||
    typeof body.c !== 'string' ||
    typeof body.i !== 'number' ||
    !Number.isSafeInteger(body.i) ||
    body.i < 0
  ) {
    throw new InvalidArgument('token: malformed Bellwether session token');
  }
  return { index: body.i, clusterId: body.c === '' ? undefined : body.c };
}
