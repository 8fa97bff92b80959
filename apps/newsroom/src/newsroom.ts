// The site's reads and writes, in terms of the SDK: every page read goes
// through PageReads (mode chosen per visitor), every write through the
// visitor's session, and an edit is a compare-and-swap on the revision the
// editor started from.
import type { Session } from '@bellwether/client';
import {
  ARTICLES_PREFIX,
  type Article,
  articleKey,
  type Comment,
  commentKey,
  commentsPrefix,
  type Draft,
  decodeArticle,
  decodeComment,
  encodeArticle,
  newArticleId,
} from './articles';
import type { PageReads } from './reads';

/** Articles on the front page. */
export const FRONT_PAGE_ARTICLES = 50;
/** A tag page looks through this many of the newest articles. */
export const TAG_PAGE_SCAN = 1000;
const COMMENTS_PER_PAGE = 500;

export async function latestArticles(reads: PageReads, limit = FRONT_PAGE_ARTICLES): Promise<Article[]> {
  return (await reads.range({ prefix: ARTICLES_PREFIX }, limit)).map(decodeArticle);
}

export async function articlesTagged(reads: PageReads, tag: string): Promise<Article[]> {
  return (await latestArticles(reads, TAG_PAGE_SCAN)).filter((a) => a.tags.includes(tag));
}

export async function findArticle(reads: PageReads, id: string): Promise<Article | undefined> {
  const kv = await reads.get(articleKey(id));
  return kv ? decodeArticle(kv) : undefined;
}

export async function commentsOn(reads: PageReads, id: string): Promise<Comment[]> {
  return (await reads.range({ prefix: commentsPrefix(id) }, COMMENTS_PER_PAGE)).map(decodeComment);
}

/** Publishes a new article (create-only: compare-and-swap against "no key"). */
export async function publish(session: Session, author: string, draft: Draft, nowMs = Date.now()): Promise<Article> {
  for (;;) {
    const id = newArticleId(nowMs);
    const at = new Date(nowMs).toISOString();
    const stored = { ...draft, author, createdAt: at, updatedAt: at, updatedBy: author };
    const res = await session.compareAndSwap(articleKey(id), 0, encodeArticle(stored));
    // A taken id (same millisecond, same random tail) is all but impossible; pick another.
    if (res.succeeded) return { ...stored, id, revision: res.revision };
  }
}

export type EditOutcome = { saved: true; article: Article } | { saved: false; current: Article | undefined };

/**
 * Saves an edit only if the article is still at `baseRevision`, the revision
 * the editor loaded. Otherwise nothing is written and the article as it is now
 * comes back, for the conflict page.
 */
export async function edit(session: Session, base: Article, baseRevision: number, draft: Draft, editor: string, nowMs = Date.now()): Promise<EditOutcome> {
  const stored = { ...draft, author: base.author, createdAt: base.createdAt, updatedAt: new Date(nowMs).toISOString(), updatedBy: editor };
  const res = await session.compareAndSwap(articleKey(base.id), baseRevision, encodeArticle(stored));
  if (res.succeeded) return { saved: true, article: { ...stored, id: base.id, revision: res.revision } };
  return { saved: false, current: res.current ? decodeArticle(res.current) : undefined };
}

export async function addComment(session: Session, articleId: string, comment: Comment): Promise<void> {
  await session.put(commentKey(articleId), JSON.stringify(comment));
}
