// `newsroom`: one app process. Run several against one cluster behind any
// load balancer; give them the same --secret so an editor stays signed in
// whichever process serves them.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connect } from '@bellwether/client';
import { buildApp } from './app';
import type { ArticleFeed } from './feed/feed';
import { PollingFeed } from './feed/polling-feed';
import { WatchFeed } from './feed/watch-feed';

const USAGE = `Usage: newsroom --endpoints host:port[,host:port...] [--listen 127.0.0.1:8080] [--name app-1]
                [--secret S (or NEWSROOM_SECRET)] [--max-staleness-ms 2000] [--live watch|poll] [--poll-ms 1000]`;

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string' },
    listen: { type: 'string', default: '127.0.0.1:8080' },
    name: { type: 'string', default: `app-${process.pid}` },
    secret: { type: 'string' },
    'max-staleness-ms': { type: 'string', default: '2000' },
    live: { type: 'string', default: 'watch' },
    'poll-ms': { type: 'string', default: '1000' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const fail = (message: string): never => {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
};
const endpoints = (values.endpoints ?? '').split(',').filter(Boolean);
if (endpoints.length === 0) fail('--endpoints: give at least one cluster member, host:port');
const listen = /^(.+):(\d+)$/.exec(values.listen) ?? fail(`--listen: expected host:port, got "${values.listen}"`);
const positive = (flag: string, v: string) => (/^\d+$/.test(v) && Number(v) > 0 ? Number(v) : fail(`--${flag}: expected a positive integer, got "${v}"`));
const maxStalenessMs = positive('max-staleness-ms', values['max-staleness-ms']);
const pollMs = positive('poll-ms', values['poll-ms']);
const live = values.live === 'watch' || values.live === 'poll' ? values.live : fail(`--live: expected watch or poll, got "${values.live}"`);
let secret = values.secret ?? process.env['NEWSROOM_SECRET'];
if (!secret) {
  secret = randomBytes(24).toString('hex');
  console.error('no --secret or NEWSROOM_SECRET: editors signed in here will not be recognised by other app processes');
}

const client = await connect({ endpoints });
// The feed starts when the first reader subscribes, after `app` exists.
const onError = (err: unknown) => app.log.warn({ err }, `live feed (${live}) failed; retrying`);
const feed: ArticleFeed =
  live === 'watch' ? new WatchFeed(client, { maxStalenessMs, onError }) : new PollingFeed(client, { intervalMs: pollMs, maxStalenessMs, onError });
const app = await buildApp({ client, feed, name: values.name, secret, maxStalenessMs, logger: { level: 'info' } });
await app.listen({ host: listen[1], port: Number(listen[2]) });
app.log.info(`newsroom ${values.name} listening on http://${values.listen}, cluster ${endpoints.join(',')}; live feed: ${live === 'watch' ? 'a Watch on the articles prefix' : `polling every ${pollMs} ms`}`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  feed.close();
  await app.close();
  await client.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
