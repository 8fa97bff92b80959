import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry } from '@bellwether/raft';
import type { PutResponse__Output, RangeResponse__Output } from '@bellwether/proto';
import { call, type Clients, singleNode, waitFor } from './helpers';

type Apply = (entries: Entry[], ...rest: unknown[]) => Promise<unknown>;

function put(c: Clients, key: string, value: string) {
  return call<Record<string, unknown>, PutResponse__Output>(c.kv.Put, c.kv, { key: Buffer.from(key), value: Buffer.from(value) });
}

test('entries committed while an apply is in flight are applied together, in order, in one batch', async (t) => {
  const { node, clients } = await singleNode(t);
  const inner = node.replica as unknown as { storage: { stateMachine: { apply: Apply } }; raft: { status(): { commit: number } } };
  const sm = inner.storage.stateMachine;
  const commitIndex = () => inner.raft.status().commit;
  const original = sm.apply.bind(sm);
  const batches: number[][] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  sm.apply = async (entries, ...rest) => {
    const n = batches.push(entries.map((e) => e.index));
    // The first batch stalls (a slow disk) until every later put has committed.
    if (n === 1) await held;
    return original(entries, ...rest);
  };

  const first = put(clients, 'k0', 'v0');
  await waitFor(() => batches.length === 1, 5000, 'the first put reaches the apply');
  // One put at a time, each in a Ready of its own: all commit while the first apply waits.
  const later: Promise<PutResponse__Output>[] = [];
  for (let i = 1; i <= 8; i++) {
    const committedBefore = commitIndex();
    later.push(put(clients, `k${i}`, `v${i}`));
    await waitFor(() => commitIndex() > committedBefore, 5000, `put ${i} commits`);
  }
  release();
  await Promise.all([first, ...later]);

  assert.equal(batches.length, 2, `applied as ${JSON.stringify(batches)}`);
  const [, second] = batches as [number[], number[]];
  // The eight puts, and whatever else the node proposed meanwhile.
  assert.ok(second.length >= 8, `the eight puts committed meanwhile went in one batch: ${JSON.stringify(second)}`);
  assert.deepEqual(
    second,
    second.map((_, i) => second[0]! + i),
    'in log order, none missing',
  );
  const res = await call<Record<string, unknown>, RangeResponse__Output>(clients.kv.Range, clients.kv, { prefix: Buffer.from('k') });
  assert.deepEqual(
    res.kvs.map((kv) => `${kv.key.toString()}=${kv.value.toString()}`),
    Array.from({ length: 9 }, (_, i) => `k${i}=v${i}`),
  );
});
