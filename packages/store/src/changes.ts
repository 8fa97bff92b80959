import type { KeyValueRecord } from './records';

/**
 * A previous value left in its blob file when its change was applied: a
 * watch that asks for previous values reads it then. Reading every replaced
 * large value at apply time, for watches that mostly never ask, cost a
 * fifth of the members' CPU under 1 MiB overwrites.
 */
export interface DeferredValue {
  /** Its length in bytes (what the bytes will take once loaded). */
  readonly length: number;
  /** The bytes, once `load` has resolved (until release). */
  readonly loaded: Buffer | undefined;
  /** Reads the bytes; later calls share the one read. Rejects once the file is gone (after `release`, or a pin kept past its limit). */
  load(): Promise<Buffer>;
  /** The change is no longer kept: lets its blob file go. Idempotent. */
  release(): void;
}

/**
 * One change to one key, as applied: what a watch reports. A transaction
 * makes several changes at one revision; they keep the order of its ops.
 */
export interface KeyChange {
  revision: number;
  type: 'put' | 'delete';
  /** After a put, the key as written; after a delete, the key with `modRevision` = the deletion's revision, an empty value and zero version. */
  kv: KeyValueRecord;
  /** The key before the change; undefined when it did not exist. Its value is empty when `prevValue` is set. */
  prevKv: KeyValueRecord | undefined;
  /** The previous value, when it was left in its blob file: whoever keeps the change must `release` it when dropping it. */
  prevValue?: DeferredValue;
}

/** The change that writing `next` (null: deleting) over `prev` makes at `revision`. */
export function keyChange(revision: number, key: Buffer, prev: KeyValueRecord | undefined, next: KeyValueRecord | null, prevValue?: DeferredValue): KeyChange {
  const change: KeyChange = next
    ? { revision, type: 'put', kv: next, prevKv: prev }
    : { revision, type: 'delete', kv: { key, value: Buffer.alloc(0), createRevision: 0, modRevision: revision, version: 0 }, prevKv: prev };
  if (prevValue) change.prevValue = prevValue;
  return change;
}

/** Lets go of what the changes hold (deferred previous values); for whoever drops them. */
export function releaseChanges(changes: readonly KeyChange[]): void {
  for (const c of changes) c.prevValue?.release();
}
