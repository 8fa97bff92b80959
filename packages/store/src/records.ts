import { Reader, Writer } from './codec';

/** One stored user key, as the API's KeyValue. */
export interface KeyValueRecord {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
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
    }
  | {
      op: 'delete';
      key: Buffer;
      expectedModRevision?: number;
      clientId: string;
      sequence: number;
      minUnackedSequence: number;
      prevKv: boolean;
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
  refused?: 'sequence-too-old';
}

const OP_PUT = 1;
const OP_DELETE = 2;

export function encodeCommand(c: Command): Buffer {
  // Sized for the whole record (each varint reserves 8 bytes, the client id
  // its UTF-8 length at most 3 bytes a char): a growing buffer would copy a
  // 1 MiB value again and keep a 2 MiB allocation alive for as long as the
  // entry is held.
  const w = new Writer(64 + c.key.length + (c.op === 'put' ? c.value.length : 0) + 3 * c.clientId.length);
  w.u8(c.op === 'put' ? OP_PUT : OP_DELETE).bytes(c.key);
  if (c.op === 'put') w.bytes(c.value);
  w.optional(c.expectedModRevision, (w, v) => w.uint(v));
  w.string(c.clientId).uint(c.sequence).uint(c.minUnackedSequence).bool(c.prevKv);
  return w.finish();
}

export function decodeCommand(data: Uint8Array): Command {
  const r = new Reader(data);
  const op = r.u8();
  const key = r.bytes();
  if (op === OP_PUT) {
    const value = r.bytes();
    const expectedModRevision = r.optional((r) => r.uint());
    return { op: 'put', key, value, expectedModRevision, clientId: r.string(), sequence: r.uint(), minUnackedSequence: r.uint(), prevKv: r.bool() };
  }
  if (op === OP_DELETE) {
    const expectedModRevision = r.optional((r) => r.uint());
    return { op: 'delete', key, expectedModRevision, clientId: r.string(), sequence: r.uint(), minUnackedSequence: r.uint(), prevKv: r.bool() };
  }
  throw new RangeError(`store: unknown command op ${op}`);
}

export function encodeKeyValue(w: Writer, kv: Omit<KeyValueRecord, 'key'>): Writer {
  return w.uint(kv.createRevision).uint(kv.modRevision).uint(kv.version).bytes(kv.value);
}

export function decodeKeyValue(key: Buffer, data: Uint8Array): KeyValueRecord {
  const r = new Reader(data);
  const createRevision = r.uint();
  const modRevision = r.uint();
  const version = r.uint();
  return { key, value: r.bytes(), createRevision, modRevision, version };
}

function writeResult(w: Writer, res: WriteResult): void {
  w.uint(res.revision).bool(res.succeeded).uint(res.deleted);
  w.optional(res.prevKv, (w, kv) => encodeKeyValue(w.bytes(kv.key), kv));
}

function readResult(r: Reader): WriteResult {
  const revision = r.uint();
  const succeeded = r.bool();
  const deleted = r.uint();
  const prevKv = r.optional((r) => {
    const key = r.bytes();
    const createRevision = r.uint();
    const modRevision = r.uint();
    const version = r.uint();
    return { key, value: r.bytes(), createRevision, modRevision, version };
  });
  return { revision, succeeded, deleted, prevKv };
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
