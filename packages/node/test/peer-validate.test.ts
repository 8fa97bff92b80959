import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RaftMessage__Output } from '@bellwether/proto';
import { encodeConfChange } from '@bellwether/raft';
import { encodeCommand } from '@bellwether/store';
import { checkBatchSize, checkPeerMessage, MalformedPeerMessage, PEER_LIMITS } from '../src/peer-validate';

function msg(over: Partial<RaftMessage__Output>): RaftMessage__Output {
  return {
    type: 'append',
    from: 'n1',
    to: 'n2',
    term: 5,
    logTerm: 4,
    index: 10,
    entries: [],
    commit: 10,
    reject: false,
    rejectHint: 0,
    context: Buffer.alloc(0),
    snapshot: null,
    transfer: false,
    transferee: '',
    commitOnly: false,
    ...over,
  };
}

const put = encodeCommand({ op: 'put', key: Buffer.from('k'), value: Buffer.from('v'), clientId: 'c', sequence: 1, minUnackedSequence: 1, prevKv: false });
const entry = (index: number, term: number, type = 'ENTRY_TYPE_NORMAL', data: Buffer = put) => ({ index, term, type, data }) as RaftMessage__Output['entries'][number];

function refused(m: RaftMessage__Output, why: RegExp): void {
  assert.throws(() => checkPeerMessage(m), (err: Error) => err instanceof MalformedPeerMessage && why.test(err.message));
}

test('a well-formed append with normal, no-op and conf entries passes', () => {
  const conf = Buffer.from(encodeConfChange({ kind: 'addLearner', nodeId: 'n4', context: Buffer.from('127.0.0.1:1') }));
  checkPeerMessage(msg({ entries: [entry(11, 4), entry(12, 5, 'ENTRY_TYPE_NOOP', Buffer.alloc(0)), entry(13, 5, 'ENTRY_TYPE_CONF', conf)] }));
  checkPeerMessage(msg({ type: 'heartbeat', index: 0, logTerm: 0, commit: 7 }));
});

test('numbers beyond 2^53 - 1 (which arrive rounded) and terms beyond 2^52 are refused', () => {
  refused(msg({ term: 2 ** 53 }), /term 9007199254740992 is not an integer/);
  refused(msg({ term: 2 ** 64 }), /term .* is not an integer/);
  refused(msg({ term: 2 ** 52 + 1, logTerm: 1 }), /beyond the largest term/);
  refused(msg({ commit: 2 ** 53 }), /commit/);
  refused(msg({ index: 2 ** 53 + 2 }), /index/);
  refused(msg({ type: 'appendResp', rejectHint: -1 }), /reject hint/);
  refused(msg({ index: Number.MAX_SAFE_INTEGER, entries: [entry(2 ** 53, 5)] }), /last entry index/);
});

test('entries must follow the matched index one apart, in non-decreasing terms no newer than the message', () => {
  refused(msg({ entries: [entry(12, 5)] }), /entry 0 has index 12, expected 11/);
  refused(msg({ entries: [entry(11, 5), entry(13, 5)] }), /entry 1 has index 13, expected 12/);
  refused(msg({ entries: [entry(11, 3)] }), /below the term 4/);
  refused(msg({ entries: [entry(11, 5), entry(12, 4)] }), /below the term 5/);
  refused(msg({ entries: [entry(11, 6)] }), /beyond the message term 5/);
  refused(msg({ logTerm: 6 }), /log term 6 is beyond the message term 5/);
  refused(msg({ type: 'heartbeat', entries: [entry(11, 5)] }), /heartbeat message carries entries/);
});

test('an entry that does not decode is refused before it can be appended', () => {
  refused(msg({ entries: [entry(11, 5, 'ENTRY_TYPE_NORMAL', Buffer.from([0xff]))] }), /entry 11 does not decode/);
  refused(msg({ entries: [entry(11, 5, 'ENTRY_TYPE_NORMAL', put.subarray(0, put.length - 2))] }), /entry 11 does not decode: codec: truncated/);
  // A varint above 2^53 - 1 inside a command (here: the sequence).
  const huge = Buffer.concat([put.subarray(0, put.length - 3), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 0])]);
  refused(msg({ entries: [entry(11, 5, 'ENTRY_TYPE_NORMAL', huge)] }), /does not decode/);
  refused(msg({ entries: [entry(11, 5, 'ENTRY_TYPE_CONF', Buffer.from([1, 2, 3]))] }), /entry 11 does not decode: malformed conf change/);
  refused(msg({ entries: [entry(11, 5, 'ENTRY_TYPE_NOOP', Buffer.from('x'))] }), /no-op entry carries data/);
  refused(msg({ entries: [entry(11, 5, 'ENTRY_TYPE_BOGUS')] }), /unknown entry type/);
});

test('sizes are bounded: ids, contexts, entries per message, messages per batch, snapshot members', () => {
  refused(msg({ from: 'x'.repeat(64) }), /from is longer than 63/);
  refused(msg({ type: 'readIndex', context: Buffer.alloc(PEER_LIMITS.contextBytes + 1) }), /context of/);
  refused(msg({ type: 'snapshot', snapshot: { index: 3, term: 9, voters: ['n1'], learners: [] } }), /snapshot term 9 is beyond the message term 5/);
  refused(msg({ type: 'snapshot', snapshot: { index: 3, term: 2, voters: Array.from({ length: PEER_LIMITS.membersPerSnapshot + 1 }, (_, i) => `n${i}`), learners: [] } }), /too many members/);
  checkBatchSize(PEER_LIMITS.messagesPerBatch);
  assert.throws(() => checkBatchSize(PEER_LIMITS.messagesPerBatch + 1), MalformedPeerMessage);
});
