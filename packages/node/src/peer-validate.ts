import type { Entry__Output, RaftMessage__Output } from '@bellwether/proto';
import { decodeConfChange } from '@bellwether/raft';
import { decodeCommand } from '@bellwether/store';

/**
 * Checks a peer's Raft message before it reaches the Raft core, so that no
 * message, however built, can make this member persist a number its storage
 * cannot encode, append an entry it cannot apply, or trip an assertion of the
 * log. Only what can be judged from the message alone is checked here; a
 * message that is well formed but stale is Raft's to ignore.
 *
 * Numbers arrive as JS numbers (the loader's `longs: Number`): a uint64 above
 * 2^53 - 1 arrives rounded, so it is never a safe integer and is refused.
 */

/** Terms must stay this far below 2^53 that every later election can still count up without overflow. */
export const MAX_PEER_TERM = 2 ** 52;
/** Upper bounds on what one message may carry (far above what a member sends: Raft caps an append at ~1 MiB). */
export const PEER_LIMITS = {
  messagesPerBatch: 10_000,
  entriesPerMessage: 100_000,
  contextBytes: 1024,
  idChars: 63,
  membersPerSnapshot: 10_000,
} as const;

/** Why a peer message must be dropped. */
export class MalformedPeerMessage extends Error {
  override name = 'MalformedPeerMessage';
}

function fail(why: string): never {
  throw new MalformedPeerMessage(why);
}

function index(what: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) fail(`${what} ${v} is not an integer in [0, 2^53 - 1]`);
}

function term(what: string, v: number): void {
  index(what, v);
  if (v > MAX_PEER_TERM) fail(`${what} ${v} is beyond the largest term accepted (2^52)`);
}

function id(what: string, v: string): void {
  if (v.length > PEER_LIMITS.idChars) fail(`${what} is longer than ${PEER_LIMITS.idChars} characters`);
}

/** Throws MalformedPeerMessage unless the entry's data decodes as its type requires. */
export function checkEntryData(e: Pick<Entry__Output, 'index' | 'type' | 'data'>): void {
  try {
    switch (e.type) {
      case 'ENTRY_TYPE_NORMAL':
        decodeCommand(e.data);
        return;
      case 'ENTRY_TYPE_CONF':
        decodeConfChange(e.data);
        return;
      case 'ENTRY_TYPE_NOOP':
        if (e.data.length > 0) fail('a no-op entry carries data');
        return;
      default:
        fail(`unknown entry type ${String(e.type)}`);
    }
  } catch (err) {
    if (err instanceof MalformedPeerMessage) throw err;
    fail(`entry ${e.index} does not decode: ${(err as Error).message}`);
  }
}

function checkEntries(m: RaftMessage__Output): void {
  if (m.entries.length > PEER_LIMITS.entriesPerMessage) fail(`${m.entries.length} entries in one message (at most ${PEER_LIMITS.entriesPerMessage})`);
  let prevTerm = m.logTerm;
  m.entries.forEach((e, i) => {
    term(`entry ${i} term`, e.term);
    // Entries follow the one the leader matched on, one index apart, in non-decreasing terms no newer than the leader's.
    if (e.index !== m.index + 1 + i) fail(`entry ${i} has index ${e.index}, expected ${m.index + 1 + i}`);
    if (e.term < prevTerm) fail(`entry ${e.index} has term ${e.term}, below the term ${prevTerm} before it`);
    if (e.term > m.term) fail(`entry ${e.index} has term ${e.term}, beyond the message term ${m.term}`);
    prevTerm = e.term;
    checkEntryData(e);
  });
  index('last entry index', m.index + m.entries.length);
}

/** Throws MalformedPeerMessage naming the first problem found. */
export function checkPeerMessage(m: RaftMessage__Output): void {
  id('from', m.from);
  id('to', m.to);
  term('term', m.term);
  term('log term', m.logTerm);
  index('index', m.index);
  index('commit', m.commit);
  index('reject hint', m.rejectHint);
  id('transferee', m.transferee);
  if (m.context.length > PEER_LIMITS.contextBytes) fail(`context of ${m.context.length} bytes (at most ${PEER_LIMITS.contextBytes})`);
  if (m.type === 'append') {
    if (m.logTerm > m.term) fail(`log term ${m.logTerm} is beyond the message term ${m.term}`);
    checkEntries(m);
  } else if (m.entries.length > 0) {
    fail(`a ${m.type} message carries entries`);
  }
  const s = m.snapshot;
  if (s) {
    index('snapshot index', s.index);
    term('snapshot term', s.term);
    if (s.term > m.term) fail(`snapshot term ${s.term} is beyond the message term ${m.term}`);
    if (s.voters.length + s.learners.length > PEER_LIMITS.membersPerSnapshot) fail('snapshot lists too many members');
    for (const v of [...s.voters, ...s.learners]) id('snapshot member', v);
  }
}

/** Throws MalformedPeerMessage when a batch holds more messages than any member sends at once. */
export function checkBatchSize(count: number): void {
  if (count > PEER_LIMITS.messagesPerBatch) fail(`${count} messages in one batch (at most ${PEER_LIMITS.messagesPerBatch})`);
}
