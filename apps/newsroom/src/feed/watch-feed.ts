// Learns article changes from a Watch on the articles prefix: one read of the
// newest articles (any-follower, staleness-bounded) gives the catch-up state
// and its revision R, then `client.watch` streams every change after R. The
// SDK's watch follows failovers itself (it resumes on another member from the
// revision after the last one delivered), so nothing is missed or repeated;
// when its history no longer reaches back that far (Compacted), the feed
// reads the state again and watches from there.
import { type BellwetherClient, Compacted } from '@bellwether/client';
import { type Article, ARTICLES_PREFIX, decodeArticle } from '../articles';
import { FRONT_PAGE_ARTICLES } from '../newsroom';
import { type ArticleEvent, type ArticleFeed, Listeners } from './feed';

export interface WatchFeedOptions {
  maxStalenessMs: number;
  /** Wait before starting again after a failure. */
  retryMs?: number;
  /** Told about a failed read or watch (the feed starts again after `retryMs`). */
  onError?: (err: unknown) => void;
}

export class WatchFeed implements ArticleFeed {
  readonly #listeners = new Listeners();
  /** The newest articles as far as the feed knows, oldest first: a new subscriber's catch-up. */
  #latest: Article[] = [];
  #run: AbortController | undefined;
  #closed = false;

  constructor(
    private readonly client: BellwetherClient,
    private readonly options: WatchFeedOptions,
  ) {}

  /** A new listener first hears the newest articles as the feed knows them, then every change. */
  subscribe(listener: (event: ArticleEvent) => void): () => void {
    const off = this.#listeners.add(listener);
    for (const article of this.#latest) listener({ type: 'put', article });
    if (!this.#run && !this.#closed) {
      const run = new AbortController();
      this.#run = run;
      void this.#follow(run.signal);
    }
    return () => {
      off();
      // Nobody listening: stop watching, and start afresh for the next reader.
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  close(): void {
    this.#closed = true;
    this.#stop();
    this.#listeners.clear();
  }

  #stop(): void {
    this.#run?.abort();
    this.#run = undefined;
    this.#latest = [];
  }

  async #follow(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const page = await this.client.range(
          { prefix: ARTICLES_PREFIX },
          { limit: FRONT_PAGE_ARTICLES, mode: 'any-follower', maxStalenessMs: this.options.maxStalenessMs, signal },
        );
        const articles = page.kvs.map(decodeArticle).reverse();
        if (signal.aborted) return;
        this.#latest = articles;
        // Listeners that subscribed before this read heard no catch-up (and after a Compacted restart, changes may have been missed).
        for (const article of articles) this.#listeners.emit({ type: 'put', article });
        for await (const ev of this.client.watch({ prefix: ARTICLES_PREFIX }, { startRevision: page.header.revision + 1, signal })) {
          const id = ev.kv.keyString.slice(ARTICLES_PREFIX.length);
          if (ev.type === 'delete') {
            this.#latest = this.#latest.filter((a) => a.id !== id);
            this.#listeners.emit({ type: 'delete', id });
          } else {
            const article = decodeArticle(ev.kv);
            this.#remember(article);
            this.#listeners.emit({ type: 'put', article });
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        if (!(err instanceof Compacted)) this.options.onError?.(err);
        await new Promise((r) => setTimeout(r, err instanceof Compacted ? 0 : (this.options.retryMs ?? 1000)));
      }
    }
  }

  /** Keeps the catch-up list to the newest N, oldest first (ids sort newest first). */
  #remember(article: Article): void {
    const others = this.#latest.filter((a) => a.id !== article.id);
    this.#latest = [...others, article].sort((x, y) => (x.id < y.id ? 1 : x.id > y.id ? -1 : 0)).slice(-FRONT_PAGE_ARTICLES);
  }
}
