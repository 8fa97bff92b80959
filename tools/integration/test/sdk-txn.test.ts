// Transactions through the SDK against a real 3-node cluster: typed results,
// both branches, one revision, exactly-once across the stream and unary
// transports, INVALID_ARGUMENT for a bad transaction, and the existing
// compare-and-swap next to it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cmp, InvalidArgument, op } from '@bellwether/client';
import { clientFollows, sdkClient, startSdkCluster } from '../src/sdk-helpers';

test('SDK: txn().if().then().else().commit() against a real cluster', async (t) => {
  const { cluster, leader } = await startSdkCluster(t, 3);
  for (const transport of ['stream', 'unary'] as const) {
    const client = await sdkClient(t, [cluster.followers(leader)[0]!.address], { transport });
    await clientFollows(client, leader.id, 3);
    const stock = `${transport}/stock/42`;
    await client.put(stock, '1');
    const checkout = () =>
      client
        .txn()
        .if(cmp.value(stock, '>', '0'), cmp.version(`${transport}/orders/1`, '=', 0))
        .then(op.put(stock, '0', { prevKv: true }), op.put(`${transport}/orders/1`, stock), op.range({ prefix: `${transport}/` }))
        .else(op.get(stock))
        .commit();
    const first = await checkout();
    assert.equal(first.succeeded, true, transport);
    if (!first.succeeded) return;
    const [putStock, , range] = first.results;
    assert.equal(putStock.prev?.valueString, '1');
    assert.deepEqual(range.kvs.map((kv) => [kv.keyString, kv.modRevision]), [
      [`${transport}/orders/1`, first.revision],
      [stock, first.revision],
    ]);
    const second = await checkout();
    assert.equal(second.succeeded, false);
    if (second.succeeded) return;
    assert.equal(second.results[0].valueString, '0', 'the else branch read the stock');
    assert.equal((await client.get(stock, { mode: 'linearizable' })).kv?.version, 2, 'applied once');
    await assert.rejects(client.txn().then(op.put('k', 'a'), op.delete('k')).commit(), InvalidArgument);
    const cas = await client.compareAndSwap(stock, first.revision, '5');
    assert.equal(cas.succeeded, true, 'compare-and-swap still works beside transactions');
  }
});
