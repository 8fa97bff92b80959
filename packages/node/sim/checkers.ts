import type { ClientRecord } from './clients';
import type { SimMember } from './cluster';

export class Violation extends Error {
  constructor(
    readonly checker: string,
    message: string,
  ) {
    super(`[${checker}] ${message}`);
  }
}

const ALL = { start: Buffer.alloc(0), limit: Number.MAX_SAFE_INTEGER };

/** Every member's state machine is the same at the same applied index (compared over all user keys). */
export async function checkStatesAgree(members: SimMember[]): Promise<number> {
  const byIndex = new Map<number, { id: string; digest: string }>();
  let compared = 0;
  for (const m of members) {
    if (m.down || m.store === undefined) continue;
    const { kvs, appliedIndex } = await m.store.range(ALL);
    const digest = kvs.map((kv) => `${kv.key.toString('latin1')}=${kv.value.toString('latin1')}@${kv.modRevision}/${kv.version}`).join(';');
    const seen = byIndex.get(appliedIndex);
    if (seen === undefined) byIndex.set(appliedIndex, { id: m.id, digest });
    else {
      compared++;
      if (seen.digest !== digest)
        throw new Violation('state-divergence', `${seen.id} and ${m.id} differ at applied index ${appliedIndex}: ${summarize(seen.digest, digest)}`);
    }
  }
  return compared;
}

function summarize(a: string, b: string): string {
  const xs = a.split(';');
  const ys = b.split(';');
  for (let i = 0; i < Math.max(xs.length, ys.length); i++) if (xs[i] !== ys[i]) return `first difference: ${xs[i] ?? '(none)'} vs ${ys[i] ?? '(none)'}`;
  return 'same entries';
}

/**
 * Each client wrote 1..n to its key, one at a time, moving on only after an
 * acknowledgement: the key must hold exactly the last acknowledged sequence,
 * written exactly that many times. Less means an acknowledged write was lost;
 * a version above the value means one was applied twice.
 */
export async function checkClientWrites(member: SimMember, clients: ClientRecord[]): Promise<void> {
  const store = member.store!;
  for (const c of clients) {
    const kv = await store.get(c.key);
    const value = kv === undefined ? 0 : Number(kv.value.toString());
    const version = kv?.version ?? 0;
    if (value < c.acked) throw new Violation('acknowledged-write-lost', `${c.id}: sequence ${c.acked} was acknowledged but ${member.id} holds ${value} (version ${version})`);
    if (value > c.acked) throw new Violation('unacknowledged-write', `${c.id}: ${member.id} holds sequence ${value}, beyond the last issued ${c.acked}`);
    if (version > value) throw new Violation('applied-twice', `${c.id}: ${member.id} holds sequence ${value} at version ${version}: a write was applied more than once`);
    if (version < value) throw new Violation('acknowledged-write-lost', `${c.id}: ${member.id} holds sequence ${value} at version ${version}: an earlier acknowledged write is missing`);
  }
}

export interface ServedRead {
  mode: 'linearizable' | 'read-your-writes' | 'any-follower';
  member: string;
  reader: string;
  client: string;
  /** The sequence the read returned for `client`'s key (0: absent). */
  value: number;
  /** `client`'s last acknowledged sequence when the read began. */
  ackedBefore: number;
  /** The highest sequence `client` had issued when the read returned. */
  issuedAfter: number;
}

/**
 * A read may not return a write that was never issued (any mode); a
 * linearizable read must see every write acknowledged before it began, and
 * a read-your-writes read the reader's own acknowledged writes.
 */
export function checkRead(r: ServedRead): void {
  const what = `${r.mode} read by ${r.reader} on ${r.member} of ${r.client}'s key returned ${r.value}`;
  if (r.value > r.issuedAfter) throw new Violation('phantom-read', `${what}, but only ${r.issuedAfter} had been issued`);
  if (r.mode !== 'any-follower' && r.value < r.ackedBefore) {
    throw new Violation(r.mode === 'linearizable' ? 'linearizable-read' : 'read-your-writes', `${what}, but ${r.ackedBefore} was acknowledged before it began`);
  }
}
