import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SERVER_NODE_FLAGS, startedWithServerFlags } from '../src/node-flags';

test('the bellwether binary passes the server node flags in its shebang', () => {
  const shebang = readFileSync(new URL('../src/bin.ts', import.meta.url), 'utf8').split('\n')[0]!;
  assert.equal(shebang, `#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`);
});

test('a process started with the flags is recognised, with any value; one without them is not', () => {
  assert.equal(startedWithServerFlags(['--initial-old-space-size=256']), true);
  assert.equal(startedWithServerFlags(['--enable-source-maps', '--initial-old-space-size=512']), true);
  assert.equal(startedWithServerFlags(['--max-old-space-size=256']), false);
  assert.equal(startedWithServerFlags([]), false);
});
