// Building the wire requests of the KV calls from what the application
// passed: keys and values to bytes, options checked. A bad argument is an
// InvalidArgument thrown before anything is sent.
import type { DeleteRequest, PutRequest, RangeRequest, ReadOptions as WireReadOptions } from '@bellwether/proto';
import { type Bytes, toBuffer, toKey } from './bytes';
import { InvalidArgument } from './errors';
import { Lease } from './lease';
import { checkLimit, checkRevision, type DeleteOptions, type PutOptions, type RangeSelector, type ReadMode } from './options';

const WIRE_MODE = {
  linearizable: 'READ_MODE_LINEARIZABLE',
  'read-your-writes': 'READ_MODE_READ_YOUR_WRITES',
  'any-follower': 'READ_MODE_ANY_FOLLOWER',
} as const satisfies Record<ReadMode, string>;

export function putRequest(key: Bytes, value: Bytes, options: PutOptions): PutRequest {
  const request: PutRequest = { key: toKey(key), value: toBuffer(value, 'value'), prevKv: options.prevKv === true };
  if (options.lease !== undefined) request.lease = options.lease instanceof Lease ? options.lease.id : checkRevision(options.lease, 'lease');
  if (options.expectedModRevision !== undefined) {
    request.expectedModRevision = checkRevision(options.expectedModRevision, 'expectedModRevision');
  }
  return request;
}

export function deleteRequest(key: Bytes, options: DeleteOptions): DeleteRequest {
  const request: DeleteRequest = { key: toKey(key), prevKv: options.prevKv === true };
  if (options.expectedModRevision !== undefined) {
    request.expectedModRevision = checkRevision(options.expectedModRevision, 'expectedModRevision');
  }
  return request;
}

/** A compare-and-swap: a put that answers the key's previous (or, on a mismatch, current) state. */
export function swapRequest(key: Bytes, expectedModRevision: number, value: Bytes): PutRequest {
  return {
    key: toKey(key),
    value: toBuffer(value, 'value'),
    expectedModRevision: checkRevision(expectedModRevision, 'expectedModRevision'),
    prevKv: true,
  };
}

/** A compare-and-delete: a delete that answers the key's previous (or, on a mismatch, current) state. */
export function compareAndDeleteRequest(key: Bytes, expectedModRevision: number): DeleteRequest {
  return {
    key: toKey(key),
    expectedModRevision: checkRevision(expectedModRevision, 'expectedModRevision'),
    prevKv: true,
  };
}

/** A read's wire options: the mode, with `min_index` for read-your-writes and the staleness bound for any-follower. */
export function wireRead(mode: ReadMode, minIndex: number, maxStalenessMs: number | undefined): WireReadOptions {
  const wire: WireReadOptions = { mode: WIRE_MODE[mode] };
  if (mode === 'read-your-writes') wire.minIndex = minIndex;
  if (mode === 'any-follower' && maxStalenessMs !== undefined) wire.maxStalenessMs = maxStalenessMs;
  return wire;
}

export function rangeRequest(
  selector: RangeSelector,
  options: { limit?: number; keysOnly?: boolean; continuation?: Uint8Array },
  read: WireReadOptions,
): RangeRequest {
  if (typeof selector !== 'object' || selector === null) {
    throw new InvalidArgument('selector: must be { prefix } or { start?, end? }');
  }
  const request: RangeRequest = { read, keysOnly: options.keysOnly === true };
  if (options.limit !== undefined) request.limit = checkLimit(options.limit, 'limit');
  if (selector.prefix !== undefined) {
    if (selector.start !== undefined || selector.end !== undefined) {
      throw new InvalidArgument('selector: give either prefix or start/end, not both');
    }
    request.prefix = toBuffer(selector.prefix, 'prefix');
  } else {
    const start = selector.start === undefined ? undefined : toBuffer(selector.start, 'start');
    const end = selector.end === undefined ? undefined : toBuffer(selector.end, 'end');
    if (start && end && end.length > 0 && Buffer.compare(start, end) >= 0) {
      throw new InvalidArgument('selector: start must be < end');
    }
    if (start) request.start = start;
    if (end) request.end = end;
  }
  if (options.continuation !== undefined) request.continuation = toBuffer(options.continuation, 'continuation');
  return request;
}
