// The app's HTTP behaviour without a browser (fastify inject) against a real
// one-member cluster: sign-in, refusals of bad input, cookies that cannot be
// forged or break a page, and escaping of what editors type.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type BellwetherClient, connect } from '@bellwether/client';
import { TestCluster } from '@bellwether/integration/cluster';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../src/app';
import { PollingFeed } from '../src/feed/polling-feed';

let cluster: TestCluster;
let client: BellwetherClient;
let app: FastifyInstance;
let feed: PollingFeed;

before(async () => {
  cluster = await TestCluster.start({ size: 1 });
  await cluster.waitForLeader(60_000);
  client = await connect({ endpoints: cluster.nodes.map((n) => n.address) });
  feed = new PollingFeed(client, { intervalMs: 200, maxStalenessMs: 5000 });
  app = await buildApp({ client, feed, name: 'app-t', secret: 'test-secret', maxStalenessMs: 5000 });
});

after(async () => {
  feed?.close();
  await app?.close();
  await client?.close();
  await cluster?.stop();
});

/** Cookies the app set, as a Cookie header. */
function cookiesOf(res: LightMyRequestResponse, prior = ''): string {
  const jar = new Map(prior.split('; ').filter(Boolean).map((c) => c.split(/=(.*)/s).slice(0, 2) as [string, string]));
  for (const c of res.cookies as { name: string; value: string }[]) jar.set(c.name, c.value);
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

const form = (fields: Record<string, string>, cookie?: string) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
  payload: new URLSearchParams(fields).toString(),
});

async function signedIn(name: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/login', ...form({ name }) });
  assert.equal(res.statusCode, 303);
  return cookiesOf(res);
}

test('editor pages need a signed-in editor; a forged editor cookie is not one', async () => {
  for (const cookie of [undefined, 'editor=Mallory', 'editor=Mallory.forgedsignature']) {
    const res = await app.inject({ method: 'GET', url: '/editor', headers: cookie ? { cookie } : {} });
    assert.equal(res.statusCode, 303, String(cookie));
    assert.equal(res.headers.location, '/login');
  }
  const post = await app.inject({ method: 'POST', url: '/editor/articles', ...form({ title: 't', body: 'b' }) });
  assert.equal(post.statusCode, 303);
  assert.equal(post.headers.location, '/login');
});

test('a publish with bad input is refused with what was wrong, the form kept, nothing stored', async () => {
  const cookie = await signedIn('Ed');
  const res = await app.inject({ method: 'POST', url: '/editor/articles', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'title=&body=kept%20text' });
  assert.equal(res.statusCode, 400);
  assert.match(res.body, /the title is empty/);
  assert.match(res.body, /kept text/);
  assert.equal((await client.range({ prefix: 'newsroom/articles/' }, { mode: 'linearizable' })).kvs.length, 0);
  const big = await app.inject({ method: 'POST', url: '/editor/articles', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `title=t&body=${'x'.repeat(300_000)}` });
  assert.equal(big.statusCode, 413);
  const bad = await app.inject({ method: 'POST', url: '/editor/articles/xyz', ...form({ title: 't', body: 'b', revision: '1' }, cookie) });
  assert.equal(bad.statusCode, 404);
});

test('what an editor types is shown as text, never as markup; a broken session cookie reads like a reader', async () => {
  let cookie = await signedIn('<b>Ed</b>');
  const res = await app.inject({ method: 'POST', url: '/editor/articles', ...form({ title: '<script>alert(1)</script>', body: 'x & y', tags: 'a' }, cookie) });
  assert.equal(res.statusCode, 303);
  cookie = cookiesOf(res, cookie);
  const page = await app.inject({ method: 'GET', url: String(res.headers.location), headers: { cookie } });
  assert.equal(page.statusCode, 200);
  assert.doesNotMatch(page.body, /<script>alert/);
  assert.match(page.body, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
  assert.match(page.body, /data-mode="read-your-writes"/);
  const reader = await app.inject({ method: 'GET', url: String(res.headers.location), headers: { cookie: 'bw_session=not-a-token' } });
  assert.equal(reader.statusCode, 200);
  assert.match(reader.body, /data-mode="any-follower"/);
});

test('an edit without the revision it was loaded at is refused', async () => {
  const cookie = await signedIn('Ed');
  const res = await app.inject({ method: 'POST', url: '/editor/articles', ...form({ title: 'r', body: 'b' }, cookie) });
  const id = String(res.headers.location).split('/').pop();
  // With the session cookie the publish set (as a browser would send it): the old one may read a follower that has not applied the article yet.
  const edit = await app.inject({ method: 'POST', url: `/editor/articles/${id}`, ...form({ title: 'r2', body: 'b' }, cookiesOf(res, cookie)) });
  assert.equal(edit.statusCode, 400);
  assert.match(edit.body, /lacks the revision/);
});

test('the conflict page shows both versions and "keep mine" saves over the current revision only', async () => {
  const alice = await signedIn('Alice');
  const bob = await signedIn('Bob');
  const res = await app.inject({ method: 'POST', url: '/editor/articles', ...form({ title: 'c', body: 'v1' }, alice) });
  const id = String(res.headers.location).split('/').pop() as string;
  const base = (await client.get(`newsroom/articles/${id}`, { mode: 'linearizable' })).kv?.modRevision ?? 0;
  const saved = await app.inject({ method: 'POST', url: `/editor/articles/${id}`, ...form({ title: 'c', body: 'alice v2', revision: String(base) }, alice) });
  assert.equal(saved.statusCode, 303);
  const conflict = await app.inject({ method: 'POST', url: `/editor/articles/${id}`, ...form({ title: 'c', body: 'bob v2', revision: String(base) }, bob) });
  assert.equal(conflict.statusCode, 200);
  const current = Number(conflict.headers['x-newsroom-conflict']);
  assert.ok(current > base);
  assert.match(conflict.body, /id="mine">[\s\S]*bob v2/);
  assert.match(conflict.body, /id="theirs">[\s\S]*alice v2/);
  assert.match(conflict.body, new RegExp(`name="revision" value="${current}"`));
  const keepMine = await app.inject({ method: 'POST', url: `/editor/articles/${id}`, ...form({ title: 'c', body: 'bob v2', revision: String(current) }, bob) });
  assert.equal(keepMine.statusCode, 303);
  const stored = JSON.parse((await client.get(`newsroom/articles/${id}`, { mode: 'linearizable' })).kv?.valueString ?? '{}');
  assert.equal(stored.body, 'bob v2');
  assert.equal(stored.updatedBy, 'Bob');
});
