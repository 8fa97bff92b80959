// The newsroom in a real headless Chromium (Debian's chromium, driven by
// playwright-core) against a real 3-member cluster and two app processes
// behind the round-robin proxy: an editor publishes while the leader is
// killed with SIGKILL in the middle of the request, reads their article on the
// other app process, a reader's open front page shows it without a reload,
// and two editors editing the same revision get a conflict page.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { NodeProcess } from '@bellwether/integration/cluster';
import { launchChromium } from '@bellwether/integration/browser';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { NewsroomStack } from '../src/stack';

const SCREENSHOTS = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));
/** The machine may be busy: every wait is for a condition, with room to spare. */
const WAIT_MS = 60_000;

let stack: NewsroomStack;
let browser: Browser;
/** Set by the test right before the publish; the proxy fires it once the POST reached an app process. */
let killLeaderMidRequest: (() => void) | undefined;
const consoleErrors: string[] = [];

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  stack = await NewsroomStack.start({
    onForward: (req) => {
      if (req.method === 'POST' && req.url === '/editor/articles' && killLeaderMidRequest) {
        killLeaderMidRequest();
        killLeaderMidRequest = undefined;
      }
    },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function newPage(label: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${label}: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`${label}: uncaught ${err.message}`));
  return { context, page };
}

async function signIn(page: Page, name: string): Promise<void> {
  await page.goto(`${stack.url}/login`);
  await page.fill('input[name=name]', name);
  await Promise.all([page.waitForURL(`${stack.url}/editor`), page.click('button:has-text("Sign in")')]);
  assert.match(await page.textContent('header .who') ?? '', new RegExp(`editor ${name}`));
}

const servedBy = (page: Page) => page.getAttribute('#served-by', 'data-app');

test('publish across a leader kill, read it on the other process, live front page, edit conflict', { timeout: 10 * 60_000 }, async () => {
  const reader = await newPage('reader');
  await reader.page.goto(stack.url);
  await reader.page.waitForSelector('#articles[data-live="open"]', { state: 'attached' });
  // Survives only if the page is never reloaded.
  await reader.page.evaluate('window.notReloaded = true');
  assert.equal(await reader.page.getAttribute('#served-by', 'data-mode'), 'any-follower');

  const alice = await newPage('alice');
  await signIn(alice.page, 'Alice');
  await alice.page.click('#new-article');
  const title = `Leader down, news up ${Date.now()}`;
  await alice.page.fill('input[name=title]', title);
  await alice.page.fill('textarea[name=body]', 'The leader was killed while this article was being published.\n\nIt was published anyway.');
  await alice.page.fill('input[name=tags]', 'cluster, failover');

  const leader = await stack.cluster.waitForLeader(WAIT_MS);
  let killedAt = 0;
  let killedPid: number | undefined;
  let killed: NodeProcess | undefined;
  killLeaderMidRequest = () => {
    killed = leader;
    killedPid = leader.pid;
    killedAt = Date.now();
    leader.signal('SIGKILL');
  };
  let publishPosts = 0;
  alice.page.on('request', (r) => {
    if (r.method() === 'POST' && r.url() === `${stack.url}/editor/articles`) publishPosts++;
  });
  const clickedAt = Date.now();
  const [postResponse] = await Promise.all([
    alice.page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${stack.url}/editor/articles`, { timeout: WAIT_MS }),
    alice.page.waitForURL(/\/articles\/[0-9a-z]{15}$/, { timeout: WAIT_MS }),
    alice.page.click('#save'),
  ]);
  const shownAt = Date.now();
  assert.ok(killed, 'the leader was killed while the publish request was at an app process');
  assert.equal(killed?.running, false);
  assert.equal(postResponse.status(), 303, 'the publish succeeded (redirect to the article)');
  const postApp = await postResponse.headerValue('x-newsroom-app');
  const serverTiming = (await postResponse.headerValue('server-timing')) ?? '';
  const writeMs = Number(/dur=(\d+)/.exec(serverTiming)?.[1]);

  // The editor's next page: the other app process, reading read-your-writes through the session cookie.
  assert.equal(await alice.page.textContent('#article h2'), title);
  assert.equal(await alice.page.getAttribute('#served-by', 'data-mode'), 'read-your-writes');
  const nextApp = await servedBy(alice.page);
  assert.notEqual(nextApp, postApp, `the article page came from the other app process (publish: ${postApp}, page: ${nextApp})`);
  await alice.page.screenshot({ path: `${SCREENSHOTS}1-editor-article-after-leader-kill.png`, fullPage: true });
  const articleUrl = alice.page.url();
  const articleId = articleUrl.slice(articleUrl.lastIndexOf('/') + 1);

  // The reader's open front page, without a reload.
  await reader.page.waitForSelector(`#articles li[data-id="${articleId}"] a.title:has-text("${title}")`, { timeout: WAIT_MS });
  const readerSawAt = Date.now();
  assert.equal(await reader.page.evaluate('window.notReloaded'), true, 'the front page was not reloaded');
  await reader.page.screenshot({ path: `${SCREENSHOTS}2-reader-front-page-live.png`, fullPage: true });

  const newLeader = await stack.cluster.waitForLeader(WAIT_MS);
  assert.notEqual(newLeader.id, leader.id);
  const sdkEvents = publishLog(postApp);
  console.log(
    [
      `leader ${leader.id} (pid ${killedPid}) killed with SIGKILL ${killedAt - clickedAt} ms after the click, while the POST was at ${postApp}; new leader ${newLeader.id}`,
      `publish: ${shownAt - clickedAt} ms from click to the article page in the browser; the write itself (compare-and-swap) took ${writeMs} ms in ${postApp}`,
      `browser POSTs of the publish form: ${publishPosts} (the browser and the app sent it once; the SDK handled the failover inside that one call)`,
      `SDK events in ${postApp} during the write: ${sdkEvents.length ? sdkEvents.join('; ') : '(none)'}`,
      `article page served by ${nextApp} (read-your-writes); the reader's open front page showed it ${readerSawAt - shownAt} ms after the editor's page`,
    ].join('\n'),
  );
  assert.equal(publishPosts, 1);
  for (const app of stack.apps) assert.match(app.log(), /live feed: a Watch on the articles prefix/, `${app.id} fed its front pages from a Watch`);

  // A reader comments and sees the comment at once (their session cookie), on whichever process.
  await reader.page.click(`#articles li[data-id="${articleId}"] a.title`);
  await reader.page.fill('input[name=name]', 'Rita');
  await reader.page.fill('textarea[name=text]', 'Glad it made it.');
  await Promise.all([reader.page.waitForURL(/#comments$/), reader.page.click('button:has-text("Comment")')]);
  assert.match((await reader.page.textContent('#comments')) ?? '', /Glad it made it\./);

  // Two editors open the same revision; the second save gets the conflict page.
  const bob = await newPage('bob');
  await signIn(bob.page, 'Bob');
  await alice.page.goto(`${stack.url}/editor/articles/${articleId}/edit`);
  await bob.page.goto(`${stack.url}/editor/articles/${articleId}/edit`);
  assert.equal(await alice.page.inputValue('input[name=revision]'), await bob.page.inputValue('input[name=revision]'));
  const front = await newPage('front');
  await front.page.goto(stack.url);
  await front.page.waitForSelector('#articles[data-live="open"]', { state: 'attached' });
  await alice.page.fill('input[name=title]', `${title} (updated)`);
  await Promise.all([alice.page.waitForURL(articleUrl), alice.page.click('#save')]);
  assert.equal(await alice.page.textContent('#article h2'), `${title} (updated)`);
  await bob.page.fill('textarea[name=body]', "Bob's rewrite of the body.");
  const [bobSave] = await Promise.all([bob.page.waitForResponse((r) => r.request().method() === 'POST'), bob.page.click('#save')]);
  assert.equal(bobSave.status(), 200);
  assert.ok(await bobSave.headerValue('x-newsroom-conflict'), 'the save was refused as a conflict');
  await bob.page.waitForSelector('#conflict');
  assert.match((await bob.page.textContent('#mine')) ?? '', /Bob's rewrite of the body\./);
  assert.match((await bob.page.textContent('#theirs')) ?? '', /\(updated\)/);
  assert.match((await bob.page.textContent('main')) ?? '', /Alice saved this article/);
  await bob.page.screenshot({ path: `${SCREENSHOTS}3-edit-conflict.png`, fullPage: true });
  // The edit reaches open front pages too.
  await front.page.waitForSelector(`#articles li[data-id="${articleId}"] a.title:has-text("(updated)")`, { timeout: WAIT_MS });
  await front.page.screenshot({ path: `${SCREENSHOTS}4-front-page-after-edit.png`, fullPage: true });

  assert.deepEqual(consoleErrors, [], 'no browser console errors');
});

/** What the publishing app process logged about the SDK's view during the write. */
function publishLog(appName: string | null): string[] {
  const app = stack.apps.find((a) => a.id === appName);
  assert.ok(app, `app ${appName}`);
  const line = app
    .log()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l) as { write?: string; sdkEvents?: string[] };
      } catch {
        return {};
      }
    })
    .find((l) => l.write === 'publish');
  return line?.sdkEvents ?? [];
}

