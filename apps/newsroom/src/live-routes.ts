// GET /events: server-sent events for open front pages, one `article` event
// per published or edited article, fed by the app's ArticleFeed.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from './app';
import type { Article } from './articles';
import type { ArticleEvent } from './feed/feed';

/** A comment line now and then keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

export function liveRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/events', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-newsroom-app': ctx.name,
    });
    // Reconnect after 1 s if the stream breaks (e.g. this app process restarts).
    res.write('retry: 1000\n\n');
    const send = (e: ArticleEvent) => {
      const data = e.type === 'put' ? { type: 'put', ...summary(e.article) } : e;
      res.write(`event: article\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const off = ctx.feed.subscribe(send);
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    req.raw.on('close', () => {
      off();
      clearInterval(keepalive);
    });
  });
}

/** What a front page shows of an article (the body stays out of the stream). */
function summary(a: Article) {
  const { id, title, author, tags, updatedAt, revision } = a;
  return { id, title, author, tags, updatedAt, revision };
}
