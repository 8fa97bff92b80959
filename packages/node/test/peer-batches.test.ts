// Peer batches and snapshot chunks fit in what the receiver accepts in one
// message: a MessageBatch is cut by bytes, in order, and a single message
// larger than the budget goes alone (it still fits the receive limit); a
// peer that stops reading holds a bounded number of bytes.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { CLUSTER_ID_METADATA, MEMBER_ID_METADATA } from '@bellwether/proto';
import type { Message } from '@bellwether/raft';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { maxReceiveMessageBytes, peerMessageBudgetBytes } from '../src/message-limits';
import { GrpcPeerTransport, MAX_STREAM_BUFFER_BYTES, splitByBytes } from '../src/peer-transport';

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

test('a peer that stops reading holds at most MAX_STREAM_BUFFER_BYTES of appends: past it the transport stops writing and reports the peer unreachable', async () => {
  const unreachable: string[] = [];
  const transport = new GrpcPeerTransport({
    memberId: 'n1',
    clusterId: 'c1',
    addressOf: (id) => (id === 'n2' ? '127.0.0.1:1' : undefined),
    deliver: () => {},
    unreachable: (id) => unreachable.push(id),
    installSnapshot: async () => false,
    maxBatchBytes: MIB,
    log: pino({ level: 'silent' }),
  });
  // n2's Replicate stream, as the server half sees it: it takes writes and never lets HTTP/2 drain them.
  const metadata = new grpc.Metadata();
  metadata.set(CLUSTER_ID_METADATA, 'c1');
  metadata.set(MEMBER_ID_METADATA, 'n2');
  let written = 0;
  const call = Object.assign(new EventEmitter(), {
    metadata,
    getAuthContext: () => null,
    sendMetadata: () => {},
    end: () => {},
    write: (_batch: unknown, _done?: () => void) => {
      written++;
      return false;
    },
  });
  transport.handlers().Replicate(call as never);
  for (let i = 0; i < 100; i++) transport.send([append(i, MIB)]);
  assert.ok(written >= MAX_STREAM_BUFFER_BYTES / MIB && written <= MAX_STREAM_BUFFER_BYTES / MIB + 2, `${written} batches of 1 MiB written to a peer that reads nothing`);
  assert.ok(unreachable.includes('n2'));
  await transport.close();
});
