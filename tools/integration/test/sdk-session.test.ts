// An SDK session token carried to a second client process: its reads see the
// first process's writes (a web app keeping the token in a cookie).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { clientFollows, sdkClient, startSdkCluster } from '../src/sdk-helpers';

const run = promisify(execFile);
const here = fileURLToPath(new URL('..', import.meta.url));

// The second process: resumes the session from argv and reads the keys, from a follower seed.
const READER = `
import { connect } from '@bellwether/client';
const [endpoint, token, ...keys] = process.argv.slice(1);
const client = await connect({ endpoints: [endpoint] });
const session = client.session({ token });
const out = { index: session.index, reads: [] };
for (const key of keys) {
  const r = await session.get(key);
  out.reads.push({ key, value: r.valueString ?? null, memberId: r.header.memberId, appliedIndex: r.header.appliedIndex });
}
await client.close();
console.log(JSON.stringify(out));
`;

test('SDK: a session token resumed in another process reads its own writes', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  const client = await sdkClient(t, [leader.address]);
  await clientFollows(client, leader.id, 3);
  const follower = cluster.followers(leader)[0]!;
  for (let round = 0; round < 3; round++) {
    const session = client.session();
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) {
      await session.put(`cart/${round}/${i}`, `item-${round}-${i}`);
      keys.push(`cart/${round}/${i}`);
    }
    const token = session.token();
    // Straight away, before anything else could let the followers catch up.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', READER, follower.address, token, ...keys], { cwd: here, timeout: 30_000 });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { index: number; reads: { key: string; value: string | null; memberId: string; appliedIndex: number }[] };
    assert.equal(out.index, session.index);
    for (const r of out.reads) {
      assert.equal(r.value, `item-${r.key.split('/')[1]}-${r.key.split('/')[2]}`, `${r.key} read in the other process`);
      assert.ok(r.appliedIndex >= session.index);
    }
  }
});
