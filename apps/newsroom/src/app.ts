// The newsroom web app: one fastify instance per process, sharing one SDK
// client; any number of processes can serve the same cluster side by side.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BellwetherClient, BellwetherError, OutcomeUnknown } from '@bellwether/client';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { BadInput } from './articles';
import { editorRoutes } from './editor-routes';
import type { ArticleFeed } from './feed/feed';
import { liveRoutes } from './live-routes';
import { readerRoutes } from './reader-routes';
import { SdkEventLog } from './sdk-events';
import { layout } from './views/layout';
import { messagePage } from './views/reader-pages';
import { editorOf } from './visitor';

export interface NewsroomOptions {
  client: BellwetherClient;
  feed: ArticleFeed;
  /** This process's name, shown in every page's footer and the `x-newsroom-app` header. */
  name: string;
  /** Signs the editor cookie; every process of one site needs the same secret. */
  secret: string;
  /** The staleness bound of any-follower reads. */
  maxStalenessMs: number;
  logger?: FastifyServerOptions['logger'];
}

/** What the route modules share. */
export interface AppContext extends NewsroomOptions {
  events: SdkEventLog;
}

const LIVE_JS = readFileSync(fileURLToPath(new URL('../public/live.js', import.meta.url)), 'utf8');

export async function buildApp(options: NewsroomOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 256 * 1024 });
  await app.register(cookie, { secret: options.secret });
  await app.register(formbody);
  const ctx: AppContext = { ...options, events: new SdkEventLog(options.client) };

  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-newsroom-app', options.name);
    reply.header('cache-control', 'no-store');
  });
  app.setErrorHandler(async (err, req, reply) => {
    const page = (status: number, heading: string, message: string) =>
      reply
        .status(status)
        .type('text/html')
        .send(layout({ app: options.name, editor: editorOf(req), reads: undefined }, heading, messagePage(heading, message)).text);
    if (err instanceof BadInput) return page(400, 'Not saved', `${err.message}.`);
    if (err instanceof OutcomeUnknown) {
      req.log.warn({ err }, 'write outcome unknown');
      return page(503, 'Maybe saved', 'The cluster did not confirm the write in time; it may or may not have been saved. Check before trying again.');
    }
    if (err instanceof BellwetherError) {
      req.log.warn({ err }, 'cluster call failed');
      return page(503, 'Try again', `The cluster could not serve this page (${err.codeName}). Try again in a moment.`);
    }
    // fastify's own refusals (a malformed or oversized body, an unknown content type) keep their 4xx status.
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return page(status, 'Bad request', (err as Error).message);
    req.log.error({ err }, 'request failed');
    return page(500, 'Error', 'Something went wrong on our side.');
  });

  app.get('/healthz', async () => 'ok');
  app.get('/static/live.js', async (_req, reply) => reply.type('text/javascript').send(LIVE_JS));
  readerRoutes(app, ctx);
  editorRoutes(app, ctx);
  liveRoutes(app, ctx);
  return app;
}
