import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RangeResponse__Output } from '@bellwether/proto';
import { call, type Clients, singleNode } from './helpers';

const b = (s: string) => Buffer.from(s);

function range(c: Clients, req: Record<string, unknown>) {
  return call<Record<string, unknown>, RangeResponse__Output>(c.kv.Range, c.kv, req);
}

test('Range replies are paged by bytes (--max-range-reply-bytes) with the count paging continuation, over unary calls and KV.Stream', async (t) => {
  const { clients: c } = await singleNode(t, { maxRangeReplyBytes: 1000 });
  // 20 keys of 4 bytes with 300-byte values: three fit a 1000-byte page.
  for (let i = 10; i < 30; i++) await call(c.kv.Put, c.kv, { key: b(`p/${i}`), value: Buffer.alloc(300, i) });
  await call(c.kv.Put, c.kv, { key: b('q/huge'), value: Buffer.alloc(5000, 1) });

  const seen: string[] = [];
  let continuation: Buffer | undefined;
  let pages = 0;
  for (;;) {
    const page = await range(c, { prefix: b('p/'), limit: 100, ...(continuation ? { continuation } : {}) });
    pages++;
    assert.ok(page.kvs.length <= 3, `a page holds at most 3 keys of 304 bytes, got ${page.kvs.length}`);
    for (const kv of page.kvs) {
      assert.equal(kv.value.length, 300);
      seen.push(kv.key.toString());
    }
    if (!page.more) break;
    assert.ok(page.continuation.length > 0, 'a page cut by bytes carries a continuation');
    continuation = page.continuation;
  }
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => `p/${i + 10}`), 'every key once, in order');
  assert.equal(pages, 7);

  const huge = await range(c, { prefix: b('q/') });
  assert.deepEqual([huge.kvs.length, huge.kvs[0]?.value.length, huge.more], [1, 5000, false], 'a key larger than the budget comes alone');

  const keysOnly = await range(c, { prefix: b('p/'), limit: 100, keysOnly: true });
  assert.equal(keysOnly.kvs.length, 20, 'keys only: 80 bytes of keys fit one page');
  assert.ok(keysOnly.kvs.every((kv) => kv.value.length === 0), 'no value is returned');

  // The same budget inside KV.Stream.
  const stream = c.kv.Stream();
  const reply = new Promise<RangeResponse__Output>((resolve, reject) => {
    stream.on('data', (msg: { results: { range?: RangeResponse__Output }[] }) => resolve(msg.results[0]!.range!));
    stream.on('error', reject);
  });
  stream.write({ calls: [{ id: 1, range: { prefix: b('p/'), limit: 100 } }] });
  const streamed = await reply;
  assert.equal(streamed.kvs.length, 3);
  assert.equal(streamed.more, true);
  assert.equal(streamed.continuation.toString(), 'p/12\u0000');
  stream.end();
  await new Promise<void>((resolve) => stream.on('end', resolve).resume());
});
