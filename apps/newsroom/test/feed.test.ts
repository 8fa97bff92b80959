// The live feed's contract, against a real one-member cluster: a subscriber
// hears the articles already there, then every publish and edit.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type BellwetherClient, connect } from '@bellwether/client';
import { TestCluster, waitFor } from '@bellwether/integration/cluster';
import type { ArticleEvent, ArticleFeed } from '../src/feed/feed';
import { PollingFeed } from '../src/feed/polling-feed';
import { WatchFeed } from '../src/feed/watch-feed';
import { edit, publish } from '../src/newsroom';

let cluster: TestCluster;
let client: BellwetherClient;

before(async () => {
  cluster = await TestCluster.start({ size: 1 });
  await cluster.waitForLeader(60_000);
  client = await connect({ endpoints: cluster.nodes.map((n) => n.address) });
});

after(async () => {
  await client?.close();
  await cluster?.stop();
});

const feeds: Record<string, () => ArticleFeed> = {
  watch: () => new WatchFeed(client, { maxStalenessMs: 5000, retryMs: 100 }),
  polling: () => new PollingFeed(client, { intervalMs: 100, maxStalenessMs: 5000 }),
};

for (const [name, make] of Object.entries(feeds)) {
  test(`${name} feed: catch-up first, then publishes and edits, until unsubscribed`, { timeout: 120_000 }, async () => {
    const session = client.session();
    const before = await publish(session, 'Ann', { title: `before ${name}`, body: 'b', tags: ['x'] });
    const feed = make();
    try {
      const heard: ArticleEvent[] = [];
      const off = feed.subscribe((e) => heard.push(e));
      const titles = () => heard.flatMap((e) => (e.type === 'put' ? [`${e.article.title}@${e.article.revision}`] : []));
      await waitFor(() => titles().includes(`before ${name}@${before.revision}`) || undefined, 30_000, 'the existing article is heard');

      const fresh = await publish(session, 'Ann', { title: `fresh ${name}`, body: 'b', tags: ['y'] });
      await waitFor(() => titles().includes(`fresh ${name}@${fresh.revision}`) || undefined, 30_000, 'the new article is heard');
      const edited = await edit(session, fresh, fresh.revision, { title: `fresh ${name} (edited)`, body: 'c', tags: ['y'] }, 'Bo');
      if (!edited.saved) assert.fail('the edit was refused');
      await waitFor(() => titles().includes(`fresh ${name} (edited)@${edited.article.revision}`) || undefined, 30_000, 'the edit is heard');
      // A reader arriving now hears the current state of the articles at once.
      const lateHeard: ArticleEvent[] = [];
      const late = feed.subscribe((e) => lateHeard.push(e));
      await waitFor(
        () => lateHeard.some((e) => e.type === 'put' && e.article.id === fresh.id && e.article.revision === edited.article.revision) || undefined,
        30_000,
        'a late subscriber hears the edited article',
      );
      late();

      off();
      const count = heard.length;
      await publish(session, 'Ann', { title: `after ${name}`, body: 'b', tags: [] });
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(heard.length, count, 'nothing is heard after unsubscribing');
    } finally {
      feed.close();
    }
  });
}

test('an edit based on an old revision is refused and returns the current article', { timeout: 60_000 }, async () => {
  const session = client.session();
  const a = await publish(session, 'Ann', { title: 'cas', body: 'v1', tags: [] });
  const first = await edit(session, a, a.revision, { title: 'cas', body: 'v2', tags: [] }, 'Ann');
  assert.ok(first.saved);
  const second = await edit(session, a, a.revision, { title: 'cas', body: 'v3', tags: [] }, 'Bo');
  assert.equal(second.saved, false);
  assert.equal(second.saved === false && second.current?.body, 'v2');
  assert.equal((await client.get(`newsroom/articles/${a.id}`)).kv?.modRevision, first.saved ? first.article.revision : -1);
});
