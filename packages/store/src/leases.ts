// Leases in the replicated state machine. A lease is a record (id → TTL)
// and an index of the keys attached to it; granting, revoking and expiring
// are log entries, so every member deletes a lease's keys at the same
// revision. When a lease expires is decided by the leader's clock alone
// (packages/node), which proposes the revoke: the state machine never reads
// a clock.
import type { Reader, Writer } from './codec';

export type LeaseCommand =
  | {
      op: 'lease-grant';
      /** The lease's id; 0 = the grant's log index (unique). */
      id: number;
      ttlMs: number;
      clientId: string;
      sequence: number;
      minUnackedSequence: number;
    }
  | {
      /** An explicit revoke, or an expiry decided by the leader (then clientId is empty). */
      op: 'lease-revoke';
      id: number;
      clientId: string;
      sequence: number;
      minUnackedSequence: number;
    };

/** A lease as the state keeps it. */
export interface LeaseRecord {
  id: number;
  ttlMs: number;
  /** The revision that granted it. */
  grantRevision: number;
}

/** What a batch did to leases, for the node's expiry clock. */
export interface LeaseChange {
  type: 'grant' | 'revoke';
  lease: LeaseRecord;
}

const GRANT = 1;
const REVOKE = 2;

export function writeLeaseCommand(w: Writer, c: LeaseCommand): void {
  if (c.op === 'lease-grant') w.u8(GRANT).uint(c.id).uint(c.ttlMs);
  else w.u8(REVOKE).uint(c.id);
  w.string(c.clientId).uint(c.sequence).uint(c.minUnackedSequence);
}

export function readLeaseCommand(r: Reader): LeaseCommand {
  const kind = r.u8();
  if (kind === GRANT) {
    const id = r.uint();
    const ttlMs = r.uint();
    return { op: 'lease-grant', id, ttlMs, clientId: r.string(), sequence: r.uint(), minUnackedSequence: r.uint() };
  }
  if (kind === REVOKE) return { op: 'lease-revoke', id: r.uint(), clientId: r.string(), sequence: r.uint(), minUnackedSequence: r.uint() };
  throw new RangeError(`store: unknown lease command ${kind}`);
}

export function encodeLease(w: Writer, l: LeaseRecord): Buffer {
  return w.uint(l.ttlMs).uint(l.grantRevision).finish();
}

export function decodeLease(id: number, r: Reader): LeaseRecord {
  return { id, ttlMs: r.uint(), grantRevision: r.uint() };
}
