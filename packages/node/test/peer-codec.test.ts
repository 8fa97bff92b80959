import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPeerApi, type MessageBatch__Output } from '@bellwether/proto';
import type { Message } from '@bellwether/raft';
import { fromWire, toWire } from '../src/peer-codec';

/** Through the bytes a peer sends: the Replicate method's own serializers. */
function overTheWire(m: Message): Message {
  const replicate = loadPeerApi().bellwether.raft.v1.Raft.service.Replicate;
  const bytes = replicate.requestSerialize({ messages: [toWire(m)] });
  const batch = replicate.requestDeserialize(bytes) as MessageBatch__Output;
  return fromWire(batch.messages[0]!);
}

test('a commit-only append keeps its mark on the wire; an ordinary append arrives without one', () => {
  const base = { from: 'n1', to: 'n2', term: 3, index: 7, logTerm: 3, entries: [], commit: 7 };
  const commitOnly = overTheWire({ ...base, type: 'append', commitOnly: true });
  assert.equal(commitOnly.type === 'append' && commitOnly.commitOnly, true);
  assert.equal(commitOnly.type === 'append' && commitOnly.commit, 7);
  const ordinary = overTheWire({ ...base, type: 'append' });
  assert.equal(ordinary.type === 'append' && ordinary.commitOnly, undefined);
});
