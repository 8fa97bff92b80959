import type { StoreDatabase } from './database';
import { Reader, Writer } from './codec';
import { attachmentKey, type Generation, leaseKey, prefixEnd } from './keys';
import { decodeLease, encodeLease, type LeaseChange, type LeaseCommand, type LeaseRecord } from './leases';
import type { KeyValueRecord, WriteResult } from './records';

type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/** The store's means to change keys from within a batch (its overlay and change log). */
export interface KeyAccess {
  /** The key as it is now, earlier writes of this batch included. */
  current(key: Buffer): Promise<KeyValueRecord | undefined>;
  /** Deletes the key at this entry's revision. */
  remove(key: Buffer, prev: KeyValueRecord): void;
}

const EMPTY = Buffer.alloc(0);

/**
 * The lease side of one apply batch: lease records and key attachments as
 * this batch changes them (over what LevelDB holds from earlier batches),
 * and the LevelDB operations that make those changes durable with the batch.
 */
export class LeaseBatch {
  readonly #leases = new Map<number, LeaseRecord | null>();
  /** Per lease: attachments added (true) or removed (false) in this batch, by latin1 key. */
  readonly #attached = new Map<number, Map<string, boolean>>();
  readonly #ops: BatchOp[] = [];
  readonly changes: LeaseChange[] = [];

  constructor(
    private readonly db: StoreDatabase,
    private readonly gen: Generation,
  ) {}

  async get(id: number): Promise<LeaseRecord | undefined> {
    if (this.#leases.has(id)) return this.#leases.get(id) ?? undefined;
    const raw = await this.db.get(leaseKey(this.gen, id));
    const lease = raw ? decodeLease(id, new Reader(raw)) : undefined;
    this.#leases.set(id, lease ?? null);
    return lease;
  }

  /** Keeps the attachment index in step with a key written from `prev` to `next`. */
  track(key: Buffer, prev: KeyValueRecord | undefined, next: KeyValueRecord | null): void {
    const before = prev?.lease ?? 0;
    const after = next?.lease ?? 0;
    if (before === after) return;
    if (before) this.#attach(before, key, false);
    if (after) this.#attach(after, key, true);
  }

  #attach(id: number, key: Buffer, on: boolean): void {
    let m = this.#attached.get(id);
    if (!m) this.#attached.set(id, (m = new Map()));
    m.set(key.toString('latin1'), on);
    this.#ops.push(on ? { type: 'put', key: attachmentKey(this.gen, id, key), value: EMPTY } : { type: 'del', key: attachmentKey(this.gen, id, key) });
  }

  async apply(c: LeaseCommand, index: number, keys: KeyAccess): Promise<WriteResult> {
    if (c.op === 'lease-grant') {
      const id = c.id || index;
      if (await this.get(id)) return { revision: index, succeeded: false, deleted: 0 };
      const lease: LeaseRecord = { id, ttlMs: c.ttlMs, grantRevision: index };
      this.#leases.set(id, lease);
      this.#ops.push({ type: 'put', key: leaseKey(this.gen, id), value: encodeLease(new Writer(16), lease) });
      this.changes.push({ type: 'grant', lease });
      return { revision: index, succeeded: true, deleted: 0 };
    }
    const lease = await this.get(c.id);
    if (!lease) return { revision: index, succeeded: false, deleted: 0, };
    let deleted = 0;
    for (const key of await this.keys(c.id)) {
      const current = await keys.current(key);
      if (current?.lease !== c.id) continue;
      keys.remove(key, current);
      deleted++;
    }
    this.#leases.set(c.id, null);
    this.#ops.push({ type: 'del', key: leaseKey(this.gen, c.id) });
    this.changes.push({ type: 'revoke', lease });
    return { revision: index, succeeded: true, deleted, };
  }

  /** The keys attached to lease `id` now, in byte order. */
  async keys(id: number): Promise<Buffer[]> {
    const prefix = attachmentKey(this.gen, id);
    const found = new Map<string, Buffer>();
    for await (const k of this.db.keys({ gte: prefix, lt: prefixEnd(prefix) })) {
      const key = k.subarray(prefix.length);
      found.set(key.toString('latin1'), key);
    }
    for (const [mapKey, on] of this.#attached.get(id) ?? []) {
      if (on) found.set(mapKey, Buffer.from(mapKey, 'latin1'));
      else found.delete(mapKey);
    }
    return [...found.values()].sort(Buffer.compare);
  }

  ops(): BatchOp[] {
    return this.#ops;
  }
}
