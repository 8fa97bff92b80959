import type { Entry as WireEntry, RaftMessage, RaftMessage__Output } from '@bellwether/proto';
import type { Entry, Message } from '@bellwether/raft';

const ENTRY_TYPES = { normal: 'ENTRY_TYPE_NORMAL', noop: 'ENTRY_TYPE_NOOP', conf: 'ENTRY_TYPE_CONF' } as const;
const ENTRY_TYPES_BACK: Record<string, Entry['type']> = {
  ENTRY_TYPE_NORMAL: 'normal',
  ENTRY_TYPE_NOOP: 'noop',
  ENTRY_TYPE_CONF: 'conf',
};

function entryToWire(e: Entry): WireEntry {
  return { index: e.index, term: e.term, type: ENTRY_TYPES[e.type], data: e.data };
}

function entryFromWire(e: WireEntry & { index: number; term: number; data: Buffer; type: string }): Entry {
  const type = ENTRY_TYPES_BACK[e.type];
  if (!type) throw new TypeError(`peer message: unknown entry type ${e.type}`);
  return { index: e.index, term: e.term, type, data: e.data };
}

/** Encodes a Raft message for the Replicate stream; unset fields stay at their proto defaults. */
export function toWire(m: Message): RaftMessage {
  const w: RaftMessage = { type: m.type, from: m.from, to: m.to, term: m.term };
  switch (m.type) {
    case 'preVote':
    case 'vote':
      w.logTerm = m.logTerm;
      w.index = m.index;
      if (m.type === 'vote' && m.transfer) w.transfer = true;
      break;
    case 'preVoteResp':
    case 'voteResp':
      w.reject = m.reject;
      break;
    case 'append':
      w.logTerm = m.logTerm;
      w.index = m.index;
      w.entries = m.entries.map(entryToWire);
      w.commit = m.commit;
      if (m.commitOnly) w.commitOnly = true;
      break;
    case 'appendResp':
      w.index = m.index;
      w.reject = m.reject;
      w.rejectHint = m.rejectHint;
      w.logTerm = m.logTerm;
      break;
    case 'heartbeat':
      w.commit = m.commit;
      if (m.context) w.context = m.context;
      break;
    case 'heartbeatResp':
      if (m.context) w.context = m.context;
      break;
    case 'snapshot':
      w.snapshot = { index: m.snapshot.index, term: m.snapshot.term, voters: m.snapshot.config.voters, learners: m.snapshot.config.learners };
      break;
    case 'readIndex':
      w.context = m.context;
      break;
    case 'readIndexResp':
      w.index = m.index;
      w.context = m.context;
      break;
    case 'timeoutNow':
      break;
    case 'transferLeader':
      w.transferee = m.transferee;
      break;
  }
  return w;
}

/** Decodes a peer's message; throws on a type this node does not know. */
export function fromWire(w: RaftMessage__Output): Message {
  const base = { from: w.from, to: w.to, term: w.term };
  const context = w.context.length > 0 ? w.context : undefined;
  switch (w.type) {
    case 'preVote':
      return { ...base, type: 'preVote', logTerm: w.logTerm, index: w.index };
    case 'vote':
      return { ...base, type: 'vote', logTerm: w.logTerm, index: w.index, ...(w.transfer ? { transfer: true } : {}) };
    case 'preVoteResp':
      return { ...base, type: 'preVoteResp', reject: w.reject };
    case 'voteResp':
      return { ...base, type: 'voteResp', reject: w.reject };
    case 'append':
      return {
        ...base,
        type: 'append',
        logTerm: w.logTerm,
        index: w.index,
        entries: w.entries.map(entryFromWire),
        commit: w.commit,
        ...(w.commitOnly ? { commitOnly: true } : {}),
      };
    case 'appendResp':
      return { ...base, type: 'appendResp', index: w.index, reject: w.reject, rejectHint: w.rejectHint, logTerm: w.logTerm };
    case 'heartbeat':
      return { ...base, type: 'heartbeat', commit: w.commit, ...(context ? { context } : {}) };
    case 'heartbeatResp':
      return { ...base, type: 'heartbeatResp', ...(context ? { context } : {}) };
    case 'snapshot': {
      const s = w.snapshot;
      if (!s) throw new TypeError('peer message: snapshot without its meta');
      return { ...base, type: 'snapshot', snapshot: { index: s.index, term: s.term, config: { voters: s.voters, learners: s.learners } } };
    }
    case 'readIndex':
      return { ...base, type: 'readIndex', context: w.context };
    case 'readIndexResp':
      return { ...base, type: 'readIndexResp', index: w.index, context: w.context };
    case 'timeoutNow':
      return { ...base, type: 'timeoutNow' };
    case 'transferLeader':
      return { ...base, type: 'transferLeader', transferee: w.transferee };
    default:
      throw new TypeError(`peer message: unknown type "${w.type}"`);
  }
}
