import type { KeyValueRecord } from './records';

/**
 * One change to one key, as applied: what a watch reports. A transaction
 * makes several changes at one revision; they keep the order of its ops.
 */
export interface KeyChange {
  revision: number;
  type: 'put' | 'delete';
  /** After a put, the key as written; after a delete, the key with `modRevision` = the deletion's revision, an empty value and zero version. */
  kv: KeyValueRecord;
  /** The key before the change; undefined when it did not exist. */
  prevKv: KeyValueRecord | undefined;
}

/** The change that writing `next` (null: deleting) over `prev` makes at `revision`. */
export function keyChange(revision: number, key: Buffer, prev: KeyValueRecord | undefined, next: KeyValueRecord | null): KeyChange {
  if (next) return { revision, type: 'put', kv: next, prevKv: prev };
  return { revision, type: 'delete', kv: { key, value: Buffer.alloc(0), createRevision: 0, modRevision: revision, version: 0 }, prevKv: prev };
}
