// The live front page's source of news: one interface, so the server-sent
// events route does not care how changes are learned.
import type { Article } from '../articles';

/** An article was published or edited (`article`), or removed (`id` only). */
export type ArticleEvent = { type: 'put'; article: Article } | { type: 'delete'; id: string };

export interface ArticleFeed {
  /** Calls `listener` with every change from now on; returns the unsubscribe function. */
  subscribe(listener: (event: ArticleEvent) => void): () => void;
  /** Stops learning changes; listeners hear nothing more. */
  close(): void;
}

/** Fan-out to listeners, shared by feed implementations. */
export class Listeners {
  readonly #set = new Set<(event: ArticleEvent) => void>();

  get size(): number {
    return this.#set.size;
  }

  add(listener: (event: ArticleEvent) => void): () => void {
    this.#set.add(listener);
    return () => this.#set.delete(listener);
  }

  emit(event: ArticleEvent): void {
    for (const l of [...this.#set]) l(event);
  }

  clear(): void {
    this.#set.clear();
  }
}
