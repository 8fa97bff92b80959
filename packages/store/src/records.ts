import { type AuthCommand, readAuthCommand, writeAuthCommand } from './auth-state';
import { Reader, Writer } from './codec';
import { type LeaseCommand, readLeaseCommand, writeLeaseCommand } from './leases';
import { readSessionExpire, type SessionExpireCommand, writeSessionExpire } from './session-expiry';
import { readTxn, readTxnResults, type TxnCommand, type TxnOpResult, writeTxn, writeTxnResults } from './txn';

/** One stored user key, as the API's KeyValue. */
export interface KeyValueRecord {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  /** The lease the key is attached to (deleted with it); 0 or undefined = none. */
  lease?: number;
}

/** A write command as it travels through the replicated log. */
export type Command =
  | {
      op: 'put';
      key: Buffer;
      value: Buffer;
      /** Undefined: unconditional. 0: only if absent. n: only if mod_revision = n. */
      expectedModRevision?: number;
      clientId: string;
      sequence: number;
      /** The client's lowest unanswered sequence: results below it may be forgotten. */
      minUnackedSequence: number;
      prevKv: boolean;
      /** Attach the key to this lease (0 or undefined: none). */
      lease?: number;
    }
  | {
      op: 'delete';
      key: Buffer;
      expectedModRevision?: number;
      clientId: string;
      sequence: number;
      minUnackedSequence: number;
      prevKv: boolean;
    }
  | TxnCommand
  | LeaseCommand
  | SessionExpireCommand
  | {
      /** A change to users, roles or permissions (auth-state.ts). */
      op: 'auth';
      auth: AuthCommand;
    };

/** What applying one command produced; remembered per client for retries. */
export interface WriteResult {
  /** The log index that carried the write. */
  revision: number;
  succeeded: boolean;
  /** Keys removed (delete only): 0 or 1. */
  deleted: number;
  prevKv?: KeyValueRecord;
  /** Set when the command was refused by the session rules and not applied. */
  refused?: 'sequence-too-old' | 'lease-not-found';
  /** A transaction's per-operation results (`succeeded` says which branch ran). */
  txn?: TxnOpResult[];
  /** Remembered in a session without its previous value's bytes (too large to keep). Never sent. */
  prevValueDropped?: boolean;
  /** A retried duplicate whose previous value is no longer known: its answer cannot be given whole. */
  prevKvLost?: boolean;
  /** An auth command that did not apply (the state changed since the leader checked it): why. Never stored. */
  authRefusal?: string;
}

const OP_PUT = 1;
const OP_DELETE = 2;
const OP_TXN = 3;
const OP_LEASE = 4;
const OP_SESSION_EXPIRE = 5;

/** Far from the key-value ops, which may grow. */
const OP_AUTH = 0x40;

export function encodeCommand(c: Command): Buffer {
  if (c.op === 'auth') {
    const w = new Writer(64).u8(OP_AUTH);
    writeAuthCommand(w, c.auth);
    return w.finish();
  }
  if (c.op === 'lease-grant' || c.op === 'lease-revoke') {
    const w = new Writer(48);
    w.u8(OP_LEASE);
    writeLeaseCommand(w, c);
    return w.finish();
  }
  if (c.op === 'session-expire') {
    const w = new Writer(64).u8(OP_SESSION_EXPIRE);
    writeSessionExpire(w, c);
    return w.finish();
  }
  if (c.op === 'txn') {
    const w = new Writer(256);
    w.u8(OP_TXN);
    writeTxn(w, c);
    return w.finish();
  }
  // Sized for the whole record (each varint reserves 8 bytes, the client id
  // its UTF-8 length at most 3 bytes a char): a growing buffer would copy a
  // 1 MiB value again and keep a 2 MiB allocation alive for as long as the
  // entry is held.
  const w = new Writer(64 + c.key.length + (c.op === 'put' ? c.value.length : 0) + 3 * c.clientId.length);
  w.u8(c.op === 'put' ? OP_PUT : OP_DELETE).bytes(c.key);
  if (c.op === 'put') w.bytes(c.value);
  w.optional(c.expectedModRevision, (w, v) => w.uint(v));
  w.string(c.clientId).uint(c.sequence).uint(c.minUnackedSequence).bool(c.prevKv);
  // Trailing and optional, so commands written before leases existed still decode.
  if (c.op === 'put' && c.lease) w.uint(c.lease);
  return w.finish();
}

export function decodeCommand(data: Uint8Array): Command {
  const r = new Reader(data);
  const op = r.u8();
  if (op === OP_AUTH) return { op: 'auth', auth: readAuthCommand(r) };
  if (op === OP_TXN) return readTxn(r);
  if (op === OP_LEASE) return readLeaseCommand(r);
  if (op === OP_SESSION_EXPIRE) return readSessionExpire(r);
  const key = r.bytes();
  if (op === OP_PUT) {
    const value = r.bytes();
    const expectedModRevision = r.optional((r) => r.uint());
    const put: Command = { op: 'put', key, value, expectedModRevision, clientId: r.string(), sequence: r.uint(), minUnackedSequence: r.uint(), prevKv: r.bool() };
    if (!r.done) put.lease = r.uint();
    return put;
  }
  if (op === OP_DELETE) {
    const expectedModRevision = r.optional((r) => r.uint());
    return { op: 'delete', key, expectedModRevision, clientId: r.string(), sequence: r.uint(), minUnackedSequence: r.uint(), prevKv: r.bool() };
  }
  throw new RangeError(`store: unknown command op ${op}`);
}

/**
 * The value of a put command, as a view into `data`; undefined for any other
 * command, and for data that is not a command at all (membership entries
 * reach the log too).
 */
export function putValueOf(data: Uint8Array): Buffer | undefined {
  try {
    const r = new Reader(data);
    if (r.u8() !== OP_PUT) return undefined;
    r.bytes();
    return r.bytes();
  } catch {
    return undefined;
  }
}

export function encodeKeyValue(w: Writer, kv: Omit<KeyValueRecord, 'key'>): Writer {
  return w.uint(kv.createRevision).uint(kv.modRevision).uint(kv.version).bytes(kv.value);
}

/** Where a large value lives outside LevelDB (blob-log.ts): `length` bytes at `offset` of blob file `file`, with their CRC-32. */
export interface BlobPointer {
  file: number;
  offset: number;
  length: number;
  crc: number;
}

/**
 * Leads a stored record whose value lives in a blob file. An inline record
 * starts with its create revision, never 0 for a stored key, so the two
 * kinds cannot be mistaken and records written before blobs existed read
 * as they did.
 */
const BLOB_RECORD_MARK = 0;

/**
 * A stored key's record: its revisions and value, then its lease when it
 * has one; or, with `blob`, the mark, its revisions and where its value lives.
 */
export function encodeStoredKeyValue(kv: KeyValueRecord, blob?: BlobPointer): Buffer {
  if (blob) {
    const w = new Writer(96).uint(BLOB_RECORD_MARK).uint(kv.createRevision).uint(kv.modRevision).uint(kv.version);
    w.uint(blob.file).uint(blob.offset).uint(blob.length).uint(blob.crc);
    if (kv.lease) w.uint(kv.lease);
    return w.finish();
  }
  // Room for every varint's 8-byte reserve: a regrowth would copy the value again.
  const w = encodeKeyValue(new Writer(48 + kv.value.length), kv);
  if (kv.lease) w.uint(kv.lease);
  return w.finish();
}

/** A stored key's record; a value kept in a blob file is empty here, and `blob` says where it is. */
export function decodeStoredKeyValue(key: Buffer, data: Uint8Array): { kv: KeyValueRecord; blob?: BlobPointer } {
  const r = new Reader(data);
  const first = r.uint();
  if (first !== BLOB_RECORD_MARK) {
    const modRevision = r.uint();
    const version = r.uint();
    const kv: KeyValueRecord = { key, value: r.bytes(), createRevision: first, modRevision, version };
    if (!r.done) kv.lease = r.uint();
    return { kv };
  }
  const createRevision = r.uint();
  const modRevision = r.uint();
  const version = r.uint();
  const blob: BlobPointer = { file: r.uint(), offset: r.uint(), length: r.uint(), crc: r.uint() };
  const kv: KeyValueRecord = { key, value: EMPTY_VALUE, createRevision, modRevision, version };
  if (!r.done) kv.lease = r.uint();
  return { kv, blob };
}

/** Whether a stored record keeps its value in a blob file (without decoding it). */
export function isBlobRecord(data: Uint8Array): boolean {
  return data[0] === BLOB_RECORD_MARK;
}

const EMPTY_VALUE = Buffer.alloc(0);

function writeKv(w: Writer, kv: KeyValueRecord): void {
  encodeKeyValue(w.bytes(kv.key), kv);
}

function readKv(r: Reader): KeyValueRecord {
  const key = r.bytes();
  const createRevision = r.uint();
  const modRevision = r.uint();
  const version = r.uint();
  return { key, value: r.bytes(), createRevision, modRevision, version };
}

/** The `succeeded` byte: 0/1 as ever; 2/3 (false/true) say transaction results follow the record. */
const TXN_RESULT_FLAG = 2;
/** ... and 4 that the write was refused because its lease does not exist. */
const LEASE_NOT_FOUND_FLAG = 4;
/** ... and 8 that prevKv was kept without its value's bytes (rememberResult in store.ts). */
const PREV_VALUE_DROPPED_FLAG = 8;

function writeResult(w: Writer, res: WriteResult): void {
  w.uint(res.revision)
    .u8(
      (res.succeeded ? 1 : 0) |
        (res.txn ? TXN_RESULT_FLAG : 0) |
        (res.refused === 'lease-not-found' ? LEASE_NOT_FOUND_FLAG : 0) |
        (res.prevValueDropped ? PREV_VALUE_DROPPED_FLAG : 0),
    )
    .uint(res.deleted);
  w.optional(res.prevKv, writeKv);
  if (res.txn) writeTxnResults(w, res.txn, writeKv);
}

function readResult(r: Reader): WriteResult {
  const revision = r.uint();
  const flags = r.u8();
  const deleted = r.uint();
  const prevKv = r.optional(readKv);
  const result: WriteResult = { revision, succeeded: (flags & 1) === 1, deleted, prevKv };
  if (flags & TXN_RESULT_FLAG) result.txn = readTxnResults(r, readKv);
  if (flags & LEASE_NOT_FOUND_FLAG) result.refused = 'lease-not-found';
  if (flags & PREV_VALUE_DROPPED_FLAG) result.prevValueDropped = true;
  return result;
}

/** A client's session: the results of its writes not yet known to be answered. */
export interface SessionRecord {
  /** Index of the last write applied for this client (drives expiry). */
  lastIndex: number;
  /** Sequences below this are forgotten: a write carrying one is refused. */
  floor: number;
  /** By ascending sequence. */
  results: { sequence: number; result: WriteResult }[];
}

export function encodeSession(s: SessionRecord): Buffer {
  const w = new Writer();
  w.uint(s.lastIndex).uint(s.floor).uint(s.results.length);
  for (const { sequence, result } of s.results) {
    w.uint(sequence);
    writeResult(w, result);
  }
  return w.finish();
}

export function decodeSession(data: Uint8Array): SessionRecord {
  const r = new Reader(data);
  const lastIndex = r.uint();
  const floor = r.uint();
  const n = r.uint();
  const results: SessionRecord['results'] = [];
  for (let i = 0; i < n; i++) results.push({ sequence: r.uint(), result: readResult(r) });
  return { lastIndex, floor, results };
}
