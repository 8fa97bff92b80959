import type { BlobLog } from './blob-log';
import { Reader } from './codec';
import type { StoreDatabase } from './database';
import { APPLIED_KEY, decodeApplied, decodeGeneration, GENERATION_KEY, type Generation, generationRange, Prefix, STATE_KEY_HEADER_BYTES, userKey } from './keys';
import { LeaseBatch } from './lease-batch';
import { decodeLease, type LeaseRecord } from './leases';
import { pageBytes } from './range-page';
import { decodeStoredKeyValue, type KeyValueRecord } from './records';

/**
 * Reads of the key-value state. Point and range reads take the generation
 * and applied index from the same LevelDB snapshot as the data, so a reply
 * never claims less than the data it carries: the in-memory applied index can
 * trail a batch that has already landed, and while a snapshot install's swap
 * is being synced the database already names the new generation.
 */

export interface RangeQuery {
  /** Inclusive lower bound on the user key. */
  start: Uint8Array;
  /** Exclusive upper bound; undefined = no bound. */
  end?: Uint8Array;
  limit: number;
  keysOnly?: boolean;
  /** Stop before the key that takes the page's bytes (pageBytes) past this, and say `more`; no bound when absent. */
  maxBytes?: number;
  /** Keys returned whatever they weigh (at least one): a page never comes back empty while keys remain. */
  minKeys?: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Keys in [start, end) in byte order, and the applied index of the state
 * they were read from; one more than `limit` is probed to tell whether more
 * remain.
 */
export async function readRange(db: StoreDatabase, q: RangeQuery, blobs: BlobLog): Promise<{ kvs: KeyValueRecord[]; more: boolean; appliedIndex: number }> {
  // The blob files the snapshot's records point to stay until the read is done.
  const unpin = blobs.pin();
  try {
    return await readRangeAt(db, q, blobs);
  } finally {
    unpin();
  }
}

async function readRangeAt(db: StoreDatabase, q: RangeQuery, blobs: BlobLog): Promise<{ kvs: KeyValueRecord[]; more: boolean; appliedIndex: number }> {
  const snapshot = db.snapshot();
  try {
    const [applied, generation] = await db.getMany([APPLIED_KEY, GENERATION_KEY], { snapshot });
    const appliedIndex = decodeApplied(applied);
    const gen = decodeGeneration(generation);
    const gte = userKey(gen, q.start);
    const lt = q.end ? userKey(gen, q.end) : generationRange(Prefix.user, gen).lt;
    const kvs: KeyValueRecord[] = [];
    let more = false;
    const maxBytes = q.maxBytes ?? Number.POSITIVE_INFINITY;
    const minKeys = Math.max(1, q.minKeys ?? 1);
    let bytes = 0;
    for await (const [k, v] of db.iterator({ gte, lt, limit: q.limit + 1, snapshot })) {
      if (kvs.length === q.limit) {
        more = true;
        break;
      }
      const { kv, blob } = decodeStoredKeyValue(k.subarray(STATE_KEY_HEADER_BYTES), v);
      // An inline value sits in the same record as the revisions, so LevelDB
      // has read it anyway; dropping the view lets the record go at once.
      if (q.keysOnly) kv.value = EMPTY;
      else if (blob) kv.value = await blobs.read(gen, blob);
      bytes += pageBytes(kv, q.keysOnly);
      if (bytes > maxBytes && kvs.length >= minKeys) {
        more = true;
        break;
      }
      kvs.push(kv);
    }
    return { kvs, more, appliedIndex };
  } finally {
    await snapshot.close();
  }
}

/** Every lease in generation `gen`, by id. */
export async function readLeases(db: StoreDatabase, gen: Generation): Promise<LeaseRecord[]> {
  const out: LeaseRecord[] = [];
  for await (const [k, v] of db.iterator(generationRange(Prefix.lease, gen))) out.push(decodeLease(Number(k.readBigUInt64BE(2)), new Reader(v)));
  return out;
}

/** The keys attached to lease `id`, in byte order. */
export function readLeaseKeys(db: StoreDatabase, gen: Generation, id: number): Promise<Buffer[]> {
  return new LeaseBatch(db, gen).keys(id);
}

/** Every client session and the index it was last written at (for the leader's expiry by time, session-expiry.ts). */
export async function* readSessionLastIndexes(db: StoreDatabase, gen: Generation): AsyncGenerator<{ clientId: string; lastIndex: number }> {
  for await (const [key, value] of db.iterator(generationRange(Prefix.session, gen))) {
    // The record starts with the last index: the results need not be decoded.
    yield { clientId: key.subarray(STATE_KEY_HEADER_BYTES).toString('utf8'), lastIndex: new Reader(value).uint() };
  }
}
