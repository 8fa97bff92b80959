// Learns article changes by reading the newest articles every `intervalMs`
// (`any-follower`, staleness-bounded: one cheap follower read per app process,
// however many readers are connected) and comparing revisions. The fallback
// for a cluster without KV.Watch (`--live poll`); WatchFeed is the default.
import type { BellwetherClient } from '@bellwether/client';
import { type Article, ARTICLES_PREFIX, decodeArticle } from '../articles';
import { FRONT_PAGE_ARTICLES } from '../newsroom';
import { type ArticleEvent, type ArticleFeed, Listeners } from './feed';

export interface PollingFeedOptions {
  intervalMs: number;
  maxStalenessMs: number;
  /** Told about a failed poll (the next one is tried anyway). */
  onError?: (err: unknown) => void;
}

export class PollingFeed implements ArticleFeed {
  readonly #listeners = new Listeners();
  /** Article id -> newest revision seen, as of the last successful poll; undefined before the first. */
  #seen: Map<string, number> | undefined;
  /** The articles of the last successful poll, oldest first: a new subscriber's catch-up. */
  #latest: Article[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #polling = false;

  constructor(
    private readonly client: BellwetherClient,
    private readonly options: PollingFeedOptions,
  ) {}

  /**
   * A new listener first hears the articles of the last poll (their current
   * state as far as this feed knows; the page it serves may have been read
   * from a fresher or staler member, so the browser keeps the higher
   * revision), then every change.
   */
  subscribe(listener: (event: ArticleEvent) => void): () => void {
    const off = this.#listeners.add(listener);
    for (const article of this.#latest) listener({ type: 'put', article });
    this.#schedule();
    return off;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#listeners.clear();
  }

  #schedule(): void {
    if (this.#closed || this.#timer || this.#polling) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#poll();
    }, this.#seen ? this.options.intervalMs : 0);
  }

  async #poll(): Promise<void> {
    // Nobody listening: stop reading, and forget the baseline so a later
    // subscriber is not sent stale "changes".
    if (this.#listeners.size === 0) {
      this.#seen = undefined;
      return;
    }
    this.#polling = true;
    try {
      const page = await this.client.range(
        { prefix: ARTICLES_PREFIX },
        { limit: FRONT_PAGE_ARTICLES, mode: 'any-follower', maxStalenessMs: this.options.maxStalenessMs, deadlineMs: this.options.intervalMs * 5 },
      );
      const articles = page.kvs.map(decodeArticle);
      const previous = this.#seen ?? new Map<string, number>();
      this.#seen = new Map(articles.map((a) => [a.id, Math.max(a.revision, previous.get(a.id) ?? 0)]));
      this.#latest = [...articles].reverse();
      // The first poll reports every article: listeners that subscribed before it heard no catch-up.
      for (const e of changes(previous, articles)) this.#listeners.emit(e);
    } catch (err) {
      this.options.onError?.(err);
    } finally {
      this.#polling = false;
      this.#schedule();
    }
  }
}

/**
 * New or changed articles, oldest first. An article that only left the
 * window (older than the newest N) is not reported as deleted.
 */
function changes(previous: Map<string, number>, now: Article[]): ArticleEvent[] {
  const out: ArticleEvent[] = [];
  for (const a of [...now].reverse()) {
    const rev = previous.get(a.id);
    // A follower may serve an older state than the last poll saw: only newer revisions are news.
    if (rev === undefined || rev < a.revision) out.push({ type: 'put', article: a });
  }
  return out;
}
