// Editors' pages: every read goes through the editor's SDK session
// (read-your-writes), every write is a compare-and-swap through it, and the
// session's token goes back in a cookie after each request.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from './app';
import { BadInput, type Draft, isArticleId, parseDraft, parseEditorName } from './articles';
import { edit, findArticle, latestArticles, publish } from './newsroom';
import { PageReads } from './reads';
import type { Html } from './views/html';
import { articleForm, conflictPage, deskPage, loginPage } from './views/editor-pages';
import { layout } from './views/layout';
import { messagePage } from './views/reader-pages';
import { editorOf, keepSession, sessionForWrite, signIn, signOut } from './visitor';

type FormRequest = FastifyRequest<{ Params: { id: string }; Body: Record<string, unknown> }>;

export function editorRoutes(app: FastifyInstance, ctx: AppContext): void {
  const page = (reply: FastifyReply, editor: string | undefined, reads: PageReads | undefined, title: string, body: Html) => {
    keepSession(reply, reads?.session);
    return reply.type('text/html').send(layout({ app: ctx.name, editor, reads: reads?.report() }, title, body).text);
  };
  /** The signed-in editor and reads through their session; undefined after redirecting to the sign-in form. */
  const desk = (req: FastifyRequest, reply: FastifyReply) => {
    const editor = editorOf(req);
    if (!editor) {
      void reply.redirect('/login', 303);
      return undefined;
    }
    const session = sessionForWrite(ctx.client, req);
    return { editor, session, reads: PageReads.forSession(ctx.client, session, ctx.maxStalenessMs) };
  };
  /** Runs a write and logs how long it took and what the SDK saw meanwhile (a failover shows up here). */
  const timed = async <T>(reply: FastifyReply, req: FastifyRequest, what: string, write: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await write();
    const ms = Date.now() - started;
    reply.header('server-timing', `bw-write;dur=${ms};desc="${what}"`);
    req.log.info({ write: what, ms, sdkEvents: ctx.events.since(started) }, `${what} took ${ms} ms`);
    return result;
  };

  app.get('/login', async (req, reply) => page(reply, editorOf(req), undefined, 'Sign in', loginPage()));

  app.post<{ Body: Record<string, unknown> }>('/login', async (req, reply) => {
    try {
      signIn(reply, parseEditorName(req.body ?? {}));
    } catch (err) {
      if (!(err instanceof BadInput)) throw err;
      reply.status(400);
      return page(reply, undefined, undefined, 'Sign in', loginPage(`${err.message}.`));
    }
    return reply.redirect('/editor', 303);
  });

  app.post('/logout', async (_req, reply) => {
    signOut(reply);
    return reply.redirect('/', 303);
  });

  app.get('/editor', async (req, reply) => {
    const d = desk(req, reply);
    if (!d) return reply;
    return page(reply, d.editor, d.reads, 'My desk', deskPage(d.editor, await latestArticles(d.reads)));
  });

  app.get('/editor/new', async (req, reply) => {
    const d = desk(req, reply);
    if (!d) return reply;
    return page(reply, d.editor, undefined, 'New article', articleForm({ title: '', body: '', tags: [] }));
  });

  app.post('/editor/articles', async (req: FormRequest, reply) => {
    const d = desk(req, reply);
    if (!d) return reply;
    const draft = draftOr400(req, reply, (error, draft) => page(reply, d.editor, undefined, 'New article', articleForm(draft, undefined, error)));
    if (!draft.ok) return draft.sent;
    const article = await timed(reply, req, 'publish', () => publish(d.session, d.editor, draft.value));
    keepSession(reply, d.session);
    return reply.redirect(`/articles/${article.id}`, 303);
  });

  app.get('/editor/articles/:id/edit', async (req: FormRequest, reply) => {
    const d = desk(req, reply);
    if (!d) return reply;
    const article = isArticleId(req.params.id) ? await findArticle(d.reads, req.params.id) : undefined;
    if (!article) return page(reply.status(404), d.editor, d.reads, 'Not found', messagePage('Not found', 'No such article.'));
    return page(reply, d.editor, d.reads, `Edit ${article.title}`, articleForm(article, article));
  });

  app.post('/editor/articles/:id', async (req: FormRequest, reply) => {
    const d = desk(req, reply);
    if (!d) return reply;
    const base = isArticleId(req.params.id) ? await findArticle(d.reads, req.params.id) : undefined;
    if (!base) return page(reply.status(404), d.editor, d.reads, 'Not found', messagePage('Not found', 'No such article.'));
    const revision = Number(req.body?.['revision']);
    if (!Number.isSafeInteger(revision) || revision < 1) throw new BadInput('the form lacks the revision it was loaded at; open the article again');
    const target = { id: base.id, revision };
    const draft = draftOr400(req, reply, (error, draft) => page(reply, d.editor, d.reads, 'Edit article', articleForm(draft, target, error)));
    if (!draft.ok) return draft.sent;
    const outcome = await timed(reply, req, 'edit', () => edit(d.session, base, revision, draft.value, d.editor));
    // A conflict is an expected outcome the editor resolves on the page (as the
    // SDK returns a failed comparison as a result, not an error), so it is a
    // 200 page, not a 409 the browser would log as a failed load.
    if (!outcome.saved) return page(reply.header('x-newsroom-conflict', String(outcome.current?.revision ?? 0)), d.editor, d.reads, 'Edit conflict', conflictPage(draft.value, outcome.current, base.id));
    keepSession(reply, d.session);
    return reply.redirect(`/articles/${base.id}`, 303);
  });
}

/** The form's draft, or a 400 page re-showing the form with what was wrong. */
function draftOr400(
  req: FormRequest,
  reply: FastifyReply,
  reshow: (error: string, draft: Draft) => FastifyReply,
): { ok: true; value: Draft } | { ok: false; sent: FastifyReply } {
  try {
    return { ok: true, value: parseDraft(req.body ?? {}) };
  } catch (err) {
    if (!(err instanceof BadInput)) throw err;
    const body = req.body ?? {};
    const typed = { title: String(body['title'] ?? ''), body: String(body['body'] ?? ''), tags: String(body['tags'] ?? '').split(',').map((t) => t.trim()) };
    reply.status(400);
    return { ok: false, sent: reshow(`${err.message}.`, typed) };
  }
}
