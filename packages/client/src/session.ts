// Sessions: a read-your-writes scope (Session, whose key-value methods are
// the client's, kv.ts), what it has seen (SessionState), and its export as a
// token another process can resume.
import { InvalidArgument } from './errors';
import { CONSTRUCT, KeyValueCalls } from './kv';
import type { Operations } from './operations';
import { checkRevision } from './options';
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
function encodeToken(state: SessionState, clusterId: string | undefined): string {
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

/**
 * A read-your-writes scope: reads made through a session see at least every
 * write made, and every state read, through the same session (it tracks the
 * highest log index it has written or read). Export it with
 * {@link Session.token} and resume it with `client.session({ token })` in
 * another process - a web app keeps the token in a cookie so that the next
 * request, served by another process, still reads its own writes.
 *
 * Create one with {@link BellwetherClient.session}; sessions are cheap (a
 * number), so make one per user request or conversation. The session's
 * methods are the client's, with the same options.
 *
 * @example
 * ```ts
 * const session = client.session();
 * await session.put('cart/42', 'apples');
 * res.cookie('bw', session.token());
 * // ... the next request, maybe in another process:
 * const again = client.session({ token: req.cookies.bw });
 * (await again.get('cart/42')).valueString; // 'apples', even from a follower
 * ```
 */
export class Session extends KeyValueCalls {
  readonly #state: SessionState;
  readonly #ops: Operations;

  /** Not for applications: use {@link BellwetherClient.session}. */
  constructor(state: SessionState, ops: Operations, token: typeof CONSTRUCT) {
    if (token !== CONSTRUCT) throw new TypeError('use client.session() to create a Session');
    super(ops, state);
    this.#state = state;
    this.#ops = ops;
  }

  /** The highest log index this session has written or read (0 when none). */
  get index(): number {
    return this.#state.index;
  }

  /**
   * Exports the session as an opaque, URL- and cookie-safe string (under
   * 100 characters). Resume it with `client.session({ token })`.
   */
  token(): string {
    return encodeToken(this.#state, this.#ops.clusterId());
  }

  /**
   * Raises this session's index to cover another session's token (or a raw
   * log index), so its reads also see what the other one wrote or read.
   * @throws {@link InvalidArgument} for a malformed token or index.
   */
  include(other: string | number): void {
    if (typeof other === 'number') this.#state.advance(checkRevision(other, 'index'));
    else this.#state.advance(decodeToken(other).index);
  }
}
