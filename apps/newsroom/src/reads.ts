// How one page reads. Anonymous readers read `any-follower` with a staleness
// bound (any member's copy, at once); a visitor who has written through this
// site (an editor, a commenter) carries an SDK session token in a cookie and
// reads `read-your-writes` through that session, so their own writes show
// even when this request lands on another app process and a follower serves it.
import { type BellwetherClient, InvalidArgument, type KeyValue, type RangeSelector, type ResponseHeader, type Session } from '@bellwether/client';

export type PageReadMode = 'any-follower' | 'read-your-writes';

/** What the page footer tells about the reads that built it. */
export interface ReadReport {
  mode: PageReadMode;
  /** The member that served the last read. */
  memberId: string;
  /** That member's applied index when it answered. */
  appliedIndex: number;
  /** The session's index (read-your-writes only): the lowest applied index a member needed. */
  sessionIndex: number | undefined;
}

export class PageReads {
  readonly mode: PageReadMode;
  #last: ResponseHeader | undefined;

  private constructor(
    private readonly client: BellwetherClient,
    readonly session: Session | undefined,
    private readonly maxStalenessMs: number,
  ) {
    this.mode = session ? 'read-your-writes' : 'any-follower';
  }

  /**
   * Reads for a request carrying `token` (the session cookie), or none. A
   * token that is malformed or from another cluster is ignored: the visitor
   * then reads like any reader.
   */
  static forRequest(client: BellwetherClient, token: string | undefined, maxStalenessMs: number): PageReads {
    return new PageReads(client, token ? resume(client, token) : undefined, maxStalenessMs);
  }

  /** Reads through `session` (read-your-writes): an editor's pages. */
  static forSession(client: BellwetherClient, session: Session, maxStalenessMs: number): PageReads {
    return new PageReads(client, session, maxStalenessMs);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = this.session ? await this.session.get(key, { mode: 'read-your-writes' }) : await this.client.get(key, this.#followerOptions());
    this.#last = res.header;
    return res.kv;
  }

  async range(selector: RangeSelector, limit: number): Promise<readonly KeyValue[]> {
    const page = this.session
      ? await this.session.range(selector, { limit, mode: 'read-your-writes' })
      : await this.client.range(selector, { limit, ...this.#followerOptions() });
    this.#last = page.header;
    return page.kvs;
  }

  report(): ReadReport | undefined {
    if (!this.#last) return undefined;
    return { mode: this.mode, memberId: this.#last.memberId, appliedIndex: this.#last.appliedIndex, sessionIndex: this.session?.index };
  }

  #followerOptions() {
    return { mode: 'any-follower' as const, maxStalenessMs: this.maxStalenessMs };
  }
}

/** The visitor's session, or a new one for a first write. */
export function writerSession(client: BellwetherClient, token: string | undefined): Session {
  return (token ? resume(client, token) : undefined) ?? client.session();
}

function resume(client: BellwetherClient, token: string): Session | undefined {
  try {
    return client.session({ token });
  } catch (err) {
    if (err instanceof InvalidArgument) return undefined;
    throw err;
  }
}
