// Articles and comments as Bellwether keys. Article ids start with an
// inverted timestamp, so the key order of `newsroom/articles/` is newest first
// and the front page is one range read with a limit.
import { randomBytes } from 'node:crypto';
import type { KeyValue } from '@bellwether/client';

export const ARTICLES_PREFIX = 'newsroom/articles/';
export const COMMENTS_PREFIX = 'newsroom/comments/';

const MAX_TITLE_CHARS = 200;
const MAX_BODY_CHARS = 50_000;
const MAX_TAGS = 10;
const MAX_TAG_CHARS = 32;
const MAX_COMMENT_CHARS = 2_000;
const MAX_NAME_CHARS = 60;
/** Later than any Date.now() this app will see, so the inverted stamp stays positive. */
const TIME_CEILING_MS = 10 ** 13;

/** What an editor writes. */
export interface Draft {
  title: string;
  body: string;
  tags: string[];
}

/** An article as stored (JSON), plus the revision it was read at. */
export interface Article extends Draft {
  id: string;
  author: string;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
  /** The key's modRevision: the compare-and-swap guard of the next edit. */
  revision: number;
}

export interface Comment {
  name: string;
  text: string;
  at: string;
}

/** A form field that cannot be stored, with what to do about it. */
export class BadInput extends Error {}

/** A new article id: newer ids sort first; the random tail keeps same-millisecond ids apart. */
export function newArticleId(nowMs = Date.now()): string {
  return (TIME_CEILING_MS - nowMs).toString(36).padStart(9, '0') + randomBytes(3).toString('hex');
}

export function isArticleId(id: string): boolean {
  return /^[0-9a-z]{9}[0-9a-f]{6}$/.test(id);
}

export function articleKey(id: string): string {
  return ARTICLES_PREFIX + id;
}

export function commentsPrefix(articleId: string): string {
  return `${COMMENTS_PREFIX}${articleId}/`;
}

/** A comment key: oldest first within its article. */
export function commentKey(articleId: string, nowMs = Date.now()): string {
  return commentsPrefix(articleId) + nowMs.toString(36).padStart(9, '0') + randomBytes(3).toString('hex');
}

/** Validates and normalises an editor's form; tags are comma-separated, lower-cased, de-duplicated. */
export function parseDraft(form: Record<string, unknown>): Draft {
  const title = text(form['title']).trim();
  const body = text(form['body']).replace(/\r\n/g, '\n').trim();
  if (!title) throw new BadInput('the title is empty');
  if (title.length > MAX_TITLE_CHARS) throw new BadInput(`the title is longer than ${MAX_TITLE_CHARS} characters`);
  if (!body) throw new BadInput('the body is empty');
  if (body.length > MAX_BODY_CHARS) throw new BadInput(`the body is longer than ${MAX_BODY_CHARS} characters`);
  const tags = [
    ...new Set(
      text(form['tags'])
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
  if (tags.length > MAX_TAGS) throw new BadInput(`more than ${MAX_TAGS} tags`);
  for (const t of tags) {
    if (t.length > MAX_TAG_CHARS || !/^[\p{L}\p{N} _-]+$/u.test(t)) {
      throw new BadInput(`tag "${t}": use letters, digits, spaces, '-' or '_', at most ${MAX_TAG_CHARS} characters`);
    }
  }
  return { title, body, tags };
}

export function parseComment(form: Record<string, unknown>, nowMs = Date.now()): Comment {
  const name = text(form['name']).trim() || 'anonymous';
  const body = text(form['text']).trim();
  if (!body) throw new BadInput('the comment is empty');
  if (body.length > MAX_COMMENT_CHARS) throw new BadInput(`the comment is longer than ${MAX_COMMENT_CHARS} characters`);
  if (name.length > MAX_NAME_CHARS) throw new BadInput(`the name is longer than ${MAX_NAME_CHARS} characters`);
  return { name, text: body, at: new Date(nowMs).toISOString() };
}

export function parseEditorName(form: Record<string, unknown>): string {
  const name = text(form['name']).trim();
  if (!name) throw new BadInput('enter your name');
  if (name.length > MAX_NAME_CHARS) throw new BadInput(`the name is longer than ${MAX_NAME_CHARS} characters`);
  return name;
}

/** The stored JSON of an article (without id and revision, which the key and the store give). */
export function encodeArticle(a: Omit<Article, 'id' | 'revision'>): string {
  const { title, body, tags, author, createdAt, updatedAt, updatedBy } = a;
  return JSON.stringify({ title, body, tags, author, createdAt, updatedAt, updatedBy });
}

export function decodeArticle(kv: KeyValue): Article {
  const stored = JSON.parse(kv.valueString) as Omit<Article, 'id' | 'revision'>;
  return { ...stored, id: kv.keyString.slice(ARTICLES_PREFIX.length), revision: kv.modRevision };
}

export function decodeComment(kv: KeyValue): Comment {
  return JSON.parse(kv.valueString) as Comment;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
