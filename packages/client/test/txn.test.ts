import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TxnRequest } from '@bellwether/proto';
import { cmp, InvalidArgument, op, TxnBuilder } from '../src/index';

test('the txn builder sends compares and both branches, and maps results by position', async () => {
  let sent: TxnRequest | undefined;
  const builder = new TxnBuilder(async (request) => {
    sent = request;
    const header = { clusterId: 'c', memberId: 'n1', term: 1, leaderId: 'n1', appliedIndex: 9, revision: 9 };
    const kv = { key: Buffer.from('a'), value: Buffer.from('1'), createRevision: 3, modRevision: 9, version: 2 };
    const response = {
      header,
      succeeded: true,
      responses: [
        { response: 'put', put: { header, succeeded: true, prevKv: kv } },
        { response: 'range', range: { header, kvs: [kv], more: false, continuation: Buffer.alloc(0) } },
      ],
    };
    return { response, header } as never;
  });
  const r = await builder
    .if(cmp.value('a', '>', '0'), cmp.version('b', '=', 0), cmp.modRevision('a', '!=', 4), cmp.createRevision('a', '<', 10))
    .then(op.put('a', '2', { prevKv: true }), op.range({ prefix: 'a' }, { limit: 10 }))
    .else(op.get('a'), op.delete('b'))
    .commit();
  assert.deepEqual(
    sent?.compare?.map((c) => [c.target, c.result]),
    [
      ['VALUE', 'GREATER'],
      ['VERSION', 'EQUAL'],
      ['MOD', 'NOT_EQUAL'],
      ['CREATE', 'LESS'],
    ],
  );
  assert.deepEqual(sent?.success?.map((o) => Object.keys(o)[0]), ['put', 'range']);
  assert.deepEqual(sent?.failure?.map((o) => Object.keys(o)[0]), ['get', 'delete']);
  assert.equal(r.revision, 9);
  assert.ok(r.succeeded);
  if (r.succeeded) {
    assert.equal(r.results[0].prev?.valueString, '1');
    assert.equal(r.results[1].kvs[0]?.keyString, 'a');
  }
});

test('bad conditions and operations are refused before sending; awaiting the builder says to commit', async () => {
  const builder = new TxnBuilder(async () => assert.fail('nothing is sent'));
  assert.throws(() => cmp.value('', '=', 'x'), InvalidArgument);
  assert.throws(() => cmp.version('k', '>=' as never, 1), /operator must be/);
  assert.throws(() => cmp.modRevision('k', '=', -1), /non-negative integer/);
  assert.throws(() => op.range({ prefix: 'a' }, { limit: 5000 }), /1\.\.1000/);
  assert.throws(() => builder.if({} as never), /cmp\.\*/);
  await assert.rejects(async () => await (builder as unknown as Promise<unknown>), /commit\(\)/);
});
