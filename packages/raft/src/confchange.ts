import { ConfChangeError, RaftError } from './errors.js';
import type { ClusterConfig, ConfChange, ConfChangeKind, NodeId } from './types.js';

/**
 * Membership changes, one server at a time (dissertation §4.1). A configuration
 * takes effect as soon as its entry is appended to a log (not when committed),
 * and is rolled back if that entry is truncated.
 *
 * Applying a change is "set this node's membership" — addVoter/promoteLearner
 * make it a voter, addLearner a learner, removeNode removes it — so applying a
 * change is total and idempotent. Whether a change is *allowed* is decided
 * once, by the leader, at proposal time ({@link checkConfChange}).
 */

// Appended only: the index is the wire value.
const KINDS: readonly ConfChangeKind[] = ['addVoter', 'addLearner', 'promoteLearner', 'removeNode', 'memberMetadata'];
const FORMAT_VERSION = 1;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Layout: version u8 | kind u8 | idLen u16 | id utf8 | ctxLen u32 | ctx (big endian). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = textEncoder.encode(cc.nodeId);
  const ctx = cc.context ?? new Uint8Array(0);
  const kind = KINDS.indexOf(cc.kind);
  if (kind < 0) throw new ConfChangeError(`unknown conf change kind ${String(cc.kind)}`);
  if (id.length === 0 || id.length > 0xffff) throw new ConfChangeError('node id must be 1..65535 bytes');
  const out = new Uint8Array(1 + 1 + 2 + id.length + 4 + ctx.length);
  const view = new DataView(out.buffer);
  out[0] = FORMAT_VERSION;
  out[1] = kind;
  view.setUint16(2, id.length);
  out.set(id, 4);
  view.setUint32(4 + id.length, ctx.length);
  out.set(ctx, 8 + id.length);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 8 || data[0] !== FORMAT_VERSION) throw new RaftError('malformed conf change entry');
  const kind = KINDS[data[1]!];
  if (kind === undefined) throw new RaftError('malformed conf change entry: unknown kind');
  const idLen = view.getUint16(2);
  if (data.length < 8 + idLen) throw new RaftError('malformed conf change entry: truncated id');
  const nodeId = textDecoder.decode(data.subarray(4, 4 + idLen));
  const ctxLen = view.getUint32(4 + idLen);
  if (data.length !== 8 + idLen + ctxLen) throw new RaftError('malformed conf change entry: bad length');
  const cc: ConfChange = { kind, nodeId };
  if (ctxLen > 0) cc.context = data.slice(8 + idLen);
  return cc;
}

export function emptyConfig(): ClusterConfig {
  return { voters: [], learners: [] };
}

export function cloneConfig(c: ClusterConfig): ClusterConfig {
  return { voters: [...c.voters], learners: [...c.learners] };
}

export function isVoter(c: ClusterConfig, id: NodeId): boolean {
  return c.voters.includes(id);
}

export function isLearner(c: ClusterConfig, id: NodeId): boolean {
  return c.learners.includes(id);
}

export function isMember(c: ClusterConfig, id: NodeId): boolean {
  return isVoter(c, id) || isLearner(c, id);
}

/** Returns a new config; never mutates `c`. Total: any change applies to any config. */
export function applyConfChange(c: ClusterConfig, cc: ConfChange): ClusterConfig {
  const voters = c.voters.filter((v) => v !== cc.nodeId);
  const learners = c.learners.filter((l) => l !== cc.nodeId);
  switch (cc.kind) {
    case 'addVoter':
    case 'promoteLearner':
      voters.push(cc.nodeId);
      break;
    case 'addLearner':
      learners.push(cc.nodeId);
      break;
    case 'removeNode':
      break;
    case 'memberMetadata':
      return cloneConfig(c);
  }
  return { voters, learners };
}

/**
 * Why the leader `self` must refuse `cc` against the current config `c`, or null
 * if it is allowed. Refusals keep every change a single-voter step and keep the
 * leader itself a voter (demoting or removing the leader needs a transfer first).
 */
export function checkConfChange(c: ClusterConfig, cc: ConfChange, self: NodeId): string | null {
  if (typeof cc.nodeId !== 'string' || cc.nodeId.length === 0) return 'nodeId must be a non-empty string';
  switch (cc.kind) {
    case 'addVoter':
      if (isVoter(c, cc.nodeId)) return `${cc.nodeId} is already a voter`;
      return null;
    case 'addLearner':
      if (isVoter(c, cc.nodeId)) return `${cc.nodeId} is a voter; remove it first to make it a learner`;
      if (isLearner(c, cc.nodeId)) return `${cc.nodeId} is already a learner`;
      return null;
    case 'promoteLearner':
      if (!isLearner(c, cc.nodeId)) return `${cc.nodeId} is not a learner`;
      return null;
    case 'removeNode':
      if (!isMember(c, cc.nodeId)) return `${cc.nodeId} is not a member`;
      if (cc.nodeId === self) return 'the leader cannot remove itself; transfer leadership first';
      if (isVoter(c, cc.nodeId) && c.voters.length === 1) return 'cannot remove the last voter';
      return null;
    case 'memberMetadata':
      if (!isMember(c, cc.nodeId)) return `${cc.nodeId} is not a member`;
      return null;
    default:
      return `unknown conf change kind ${String((cc as ConfChange).kind)}`;
  }
}
