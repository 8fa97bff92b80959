import type { ReadOptions__Output } from '@bellwether/proto';
import { invalidArgument } from './errors';

export type ReadModeName = 'linearizable' | 'read-your-writes' | 'any-follower';

const READ_MODES: Record<string, ReadModeName> = {
  READ_MODE_UNSPECIFIED: 'linearizable',
  READ_MODE_LINEARIZABLE: 'linearizable',
  READ_MODE_READ_YOUR_WRITES: 'read-your-writes',
  READ_MODE_ANY_FOLLOWER: 'any-follower',
};

export interface Limits {
  maxKeyBytes: number;
  maxValueBytes: number;
}

export const MAX_CLIENT_ID_BYTES = 128;
export const DEFAULT_RANGE_LIMIT = 1000;
export const MAX_RANGE_LIMIT = 10_000;

export function checkKey(field: string, key: Buffer, limits: Limits): void {
  if (key.length === 0 || key.length > limits.maxKeyBytes) {
    throw invalidArgument(`${field}: must be 1..${limits.maxKeyBytes} bytes, got ${key.length}`);
  }
}

export function checkValue(value: Buffer, limits: Limits): void {
  if (value.length > limits.maxValueBytes) {
    throw invalidArgument(`value: must be at most ${limits.maxValueBytes} bytes, got ${value.length}`);
  }
}

export function checkSession(clientId: string, sequence: number): void {
  const idBytes = Buffer.byteLength(clientId, 'utf8');
  if (idBytes > MAX_CLIENT_ID_BYTES) throw invalidArgument(`client_id: must be at most ${MAX_CLIENT_ID_BYTES} bytes, got ${idBytes}`);
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw invalidArgument(`sequence: must be an integer in 0..2^53, got ${sequence}`);
  if (clientId && sequence === 0) throw invalidArgument('sequence: must be >= 1 when client_id is set');
  if (!clientId && sequence !== 0) throw invalidArgument('client_id: required when sequence is set');
}

export function checkRevision(field: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw invalidArgument(`${field}: must be an integer in 0..2^53, got ${v}`);
}

export interface ParsedRead {
  mode: ReadModeName;
  minIndex: number;
  maxStalenessMs: number;
}

export function parseRead(read: ReadOptions__Output | null | undefined): ParsedRead {
  const raw = read?.mode ?? 'READ_MODE_UNSPECIFIED';
  const mode = READ_MODES[String(raw)];
  if (!mode) {
    throw invalidArgument(`read.mode: unknown read mode ${JSON.stringify(raw)}; expected one of ${Object.keys(READ_MODES).join(', ')}`);
  }
  const minIndex = read?.minIndex ?? 0;
  checkRevision('read.min_index', minIndex);
  return { mode, minIndex, maxStalenessMs: read?.maxStalenessMs ?? 0 };
}

export interface ParsedRange {
  start: Buffer;
  end: Buffer | undefined;
  limit: number;
}

/** Turns prefix / [start, end) / continuation into one [start, end) scan. */
export function parseRange(
  req: { prefix: Buffer; start: Buffer; end: Buffer; limit: number; continuation: Buffer },
  limits: Limits,
  prefixEnd: (p: Buffer) => Buffer | undefined,
): ParsedRange {
  if (req.prefix.length > 0 && (req.start.length > 0 || req.end.length > 0)) {
    throw invalidArgument('range: give either prefix or start/end, not both');
  }
  for (const [field, b] of [
    ['prefix', req.prefix],
    ['start', req.start],
    ['end', req.end],
  ] as const) {
    if (b.length > limits.maxKeyBytes) throw invalidArgument(`${field}: must be at most ${limits.maxKeyBytes} bytes, got ${b.length}`);
  }
  if (req.limit > MAX_RANGE_LIMIT) throw invalidArgument(`limit: must be at most ${MAX_RANGE_LIMIT}, got ${req.limit}`);
  let start = req.prefix.length > 0 ? req.prefix : req.start;
  const end = req.prefix.length > 0 ? prefixEnd(req.prefix) : req.end.length > 0 ? req.end : undefined;
  if (end && Buffer.compare(start, end) >= 0) throw invalidArgument('range: start must be less than end');
  if (req.continuation.length > 0) {
    const c = req.continuation;
    if (Buffer.compare(c, start) < 0 || (end && Buffer.compare(c, end) > 0)) {
      throw invalidArgument('continuation: does not belong to this range (pass the previous page\'s continuation with the same prefix/start/end)');
    }
    start = c;
  }
  return { start, end, limit: req.limit === 0 ? DEFAULT_RANGE_LIMIT : req.limit };
}
