import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePorts, NodeProcess, waitFor } from '../src/cluster';

test('--log-format pretty prints one readable line per record; JSON stays the default', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bellwether-logs-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const ports = await freePorts(2);
  const start = (id: string, port: number, extra: string[]) => {
    const address = `127.0.0.1:${port}`;
    const node = new NodeProcess(id, address, join(root, id), ['--id', id, '--listen', address, '--data-dir', join(root, id), ...extra], root);
    t.after(() => node.stop());
    node.start();
    return node;
  };
  const pretty = start('pretty', ports[0]!, ['--log-format', 'pretty']);
  const json = start('json', ports[1]!, []);
  await waitFor(() => /serving/.test(pretty.log()) && /serving/.test(json.log()) || undefined, 20_000, 'both nodes log that they serve');
  const line = pretty.log().split('\n').find((l) => l.includes('serving'))!;
  assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(bellwether\): serving \{.*"member":"pretty"/);
  assert.throws(() => JSON.parse(line));
  const jsonLine = json.log().split('\n').find((l) => l.includes('serving'))!;
  assert.equal(JSON.parse(jsonLine).msg, 'serving');
});
