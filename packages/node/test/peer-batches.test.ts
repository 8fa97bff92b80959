// Peer batches and snapshot chunks fit in what the receiver accepts in one
// message: a MessageBatch is cut by bytes, in order, and a single message
// larger than the budget goes alone (it still fits the receive limit).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '@bellwether/raft';
import { maxReceiveMessageBytes, peerMessageBudgetBytes } from '../src/message-limits';
import { splitByBytes } from '../src/peer-transport';

const MIB = 1024 * 1024;

function append(index: number, valueBytes: number): Message {
  return { type: 'append', from: 'n1', to: 'n2', term: 1, index, logTerm: 1, commit: 0, entries: [{ index: index + 1, term: 1, type: 'normal', data: new Uint8Array(valueBytes) }] } as Message;
}

test('a batch of appends is cut under the budget, in order; an oversized message goes alone', () => {
  const budget = 1 * MIB;
  const messages = [append(1, 300 * 1024), append(2, 300 * 1024), append(3, 300 * 1024), append(4, 300 * 1024), append(5, 2 * MIB), append(6, 10)];
  const batches = splitByBytes(messages, budget);
  assert.deepEqual(batches.flat(), messages, 'nothing lost or reordered');
  assert.deepEqual(batches.map((b) => b.length), [3, 1, 1, 1]);
});

test('the peer budget leaves room under the receive limit, at the default and at the smallest and largest value limits', () => {
  for (const maxValueBytes of [1, 64 * 1024, MIB, 64 * MIB]) {
    const limits = { maxKeyBytes: 4096, maxValueBytes };
    const budget = peerMessageBudgetBytes(limits);
    assert.ok(budget <= MIB);
    assert.ok(budget + 16 * 1024 <= maxReceiveMessageBytes(limits), `budget ${budget} for max value ${maxValueBytes}`);
    // One entry carrying a value at the maximum still fits the receiver's limit.
    assert.ok(maxValueBytes + 4096 + 1024 < maxReceiveMessageBytes(limits));
  }
});
