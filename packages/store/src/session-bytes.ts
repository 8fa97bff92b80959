// What a remembered result weighs in a client's session record, counted the
// same way at every replica (it depends only on the result), so that every
// replica forgets the same results when a session passes its byte cap.
import type { KeyValueRecord, WriteResult } from './records';

/** Revisions, sequence and flags of one result, roughly as encoded. */
const RESULT_OVERHEAD_BYTES = 32;

function kvBytes(kv: KeyValueRecord | undefined): number {
  return kv ? 32 + kv.key.length + kv.value.length : 0;
}

/** The bytes one remembered result adds to its session record (its previous value and a transaction's results included). */
export function sessionResultBytes(r: WriteResult): number {
  let bytes = RESULT_OVERHEAD_BYTES + kvBytes(r.prevKv);
  for (const op of r.txn ?? []) {
    bytes += 8;
    if (op.type === 'range') for (const kv of op.kvs) bytes += kvBytes(kv);
    else bytes += kvBytes(op.type === 'get' ? op.kv : op.prevKv);
  }
  return bytes;
}
