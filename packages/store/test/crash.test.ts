import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { Store } from '../src/index';
import { tempDir } from './helpers';

test('kill -9 mid-stream of puts loses no acknowledged put and keeps the applied index in step', async (t) => {
  const dir = tempDir(t);
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'writer.ts'), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let acked = 0;
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('ack ')) acked = Number(line.slice(4));
    if (acked >= 300 && child.exitCode === null) child.kill('SIGKILL');
  });
  await once(child, 'exit');
  assert.ok(acked >= 300, `the writer acknowledged ${acked} puts before the kill`);

  const store = await Store.open(dir);
  t.after(() => store.close());
  // Recovery as a node does it: re-apply the durable log past the applied index.
  assert.ok(store.appliedIndex <= store.lastIndex);
  await store.apply(await store.loadLog());
  assert.ok(store.lastIndex >= acked, `log reaches ${store.lastIndex}, acknowledged ${acked}`);
  assert.equal(store.appliedIndex, store.lastIndex);
  for (let k = 0; k < 50; k++) {
    // The newest acknowledged write to each key is the one stored (or a later, unacknowledged one).
    let newestAcked = acked;
    while (newestAcked % 50 !== k) newestAcked--;
    const kv = await store.get(Buffer.from(`key-${k}`));
    assert.ok(kv, `key-${k} exists`);
    assert.ok(kv.modRevision >= newestAcked, `key-${k} at revision ${kv.modRevision} >= acknowledged ${newestAcked}`);
    assert.ok(kv.modRevision <= store.appliedIndex, 'no data past the applied index');
    assert.equal(kv.value.toString(), `value-${kv.modRevision}`);
  }
});
