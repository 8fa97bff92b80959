// Readers' pages: read any-follower with a staleness bound, unless the
// visitor has a session (then read-your-writes through it).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from './app';
import { BadInput, isArticleId, parseComment } from './articles';
import { addComment, articlesTagged, commentsOn, findArticle, latestArticles } from './newsroom';
import type { PageReads } from './reads';
import type { Html } from './views/html';
import { layout } from './views/layout';
import { articlePage, frontPage, messagePage } from './views/reader-pages';
import { editorOf, keepSession, pageReads, sessionForWrite } from './visitor';

export function readerRoutes(app: FastifyInstance, ctx: AppContext): void {
  const render = (req: FastifyRequest, reply: FastifyReply, reads: PageReads, title: string, body: Html, script?: string) => {
    keepSession(reply, reads.session);
    return reply.type('text/html').send(layout({ app: ctx.name, editor: editorOf(req), reads: reads.report() }, title, body, script).text);
  };

  app.get('/', async (req, reply) => {
    const reads = pageReads(ctx.client, req, ctx.maxStalenessMs);
    const articles = await latestArticles(reads);
    return render(req, reply, reads, 'Front page', frontPage(articles, 'Latest', true), '/static/live.js');
  });

  app.get<{ Params: { tag: string } }>('/tags/:tag', async (req, reply) => {
    const reads = pageReads(ctx.client, req, ctx.maxStalenessMs);
    const tag = req.params.tag.toLowerCase();
    const articles = await articlesTagged(reads, tag);
    return render(req, reply, reads, `Tagged ${tag}`, frontPage(articles, `Tagged “${tag}”`, true, tag), '/static/live.js');
  });

  app.get<{ Params: { id: string } }>('/articles/:id', async (req, reply) => {
    const reads = pageReads(ctx.client, req, ctx.maxStalenessMs);
    const article = isArticleId(req.params.id) ? await findArticle(reads, req.params.id) : undefined;
    if (!article) return notFound(req, reply, reads);
    const comments = await commentsOn(reads, article.id);
    return render(req, reply, reads, article.title, articlePage(article, comments));
  });

  app.post<{ Params: { id: string }; Body: Record<string, unknown> }>('/articles/:id/comments', async (req, reply) => {
    const reads = pageReads(ctx.client, req, ctx.maxStalenessMs);
    const article = isArticleId(req.params.id) ? await findArticle(reads, req.params.id) : undefined;
    if (!article) return notFound(req, reply, reads);
    let comment: ReturnType<typeof parseComment>;
    try {
      comment = parseComment(req.body ?? {});
    } catch (err) {
      if (!(err instanceof BadInput)) throw err;
      reply.status(400);
      return render(req, reply, reads, article.title, articlePage(article, await commentsOn(reads, article.id), `Not posted: ${err.message}.`));
    }
    // The commenter's session: their next page reads read-your-writes and shows the comment.
    const session = sessionForWrite(ctx.client, req);
    await addComment(session, article.id, comment);
    keepSession(reply, session);
    return reply.redirect(`/articles/${article.id}#comments`, 303);
  });

  const notFound = (req: FastifyRequest, reply: FastifyReply, reads: PageReads) => {
    reply.status(404);
    return render(req, reply, reads, 'Not found', messagePage('Not found', 'No such article (yet?).'));
  };
}
