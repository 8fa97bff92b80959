// Snapshot files (bwctl snapshot save / restore): the SnapshotPart messages of
// Maintenance.Snapshot, in order, each prefixed by its length, after a magic.
// One reader checks what a stream or a file holds: header first, data, then a
// trailer whose SHA-256 and byte count match the data.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { SnapshotHeader__Output, SnapshotPart, SnapshotPart__Output, SnapshotTrailer__Output } from './gen/index';
import { loadPublicApi } from './index';

/** The first bytes of every snapshot file. */
export const SNAPSHOT_FILE_MAGIC = Buffer.from('BWSNAP01');
/** The snapshot data format this code reads and writes (SnapshotHeader.format). */
export const SNAPSHOT_DATA_FORMAT = 1;
/** A frame larger than this is a corrupt length, not a snapshot chunk. */
const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** A snapshot that is not what it claims to be (truncated, corrupt, wrong order, unknown format). */
export class SnapshotFormatError extends Error {
  override name = 'SnapshotFormatError';
}

function codec() {
  const method = loadPublicApi().bellwether.maintenance.v1.Maintenance.service.Snapshot;
  return { encode: method.responseSerialize as (p: SnapshotPart) => Buffer, decode: method.responseDeserialize as (b: Buffer) => SnapshotPart__Output };
}

/** One length-prefixed frame of a snapshot file. */
export function encodeSnapshotFrame(part: SnapshotPart): Buffer {
  const body = codec().encode(part);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** The parts stored in a snapshot file, in order (unchecked: pass them to {@link checkSnapshotParts}). */
export async function* readSnapshotFile(path: string): AsyncGenerator<SnapshotPart__Output> {
  const file = await open(path, 'r');
  try {
    const readExactly = async (n: number, what: string): Promise<Buffer | undefined> => {
      const buf = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const { bytesRead } = await file.read(buf, got, n - got, null);
        if (bytesRead === 0) {
          if (got === 0 && what === 'frame length') return undefined;
          throw new SnapshotFormatError(`${path}: truncated (${what} cut short)`);
        }
        got += bytesRead;
      }
      return buf;
    };
    const magic = await readExactly(SNAPSHOT_FILE_MAGIC.length, 'magic');
    if (!magic?.equals(SNAPSHOT_FILE_MAGIC)) throw new SnapshotFormatError(`${path}: not a Bellwether snapshot file`);
    const { decode } = codec();
    for (;;) {
      const len = await readExactly(4, 'frame length');
      if (!len) return;
      const n = len.readUInt32BE(0);
      if (n > MAX_FRAME_BYTES) throw new SnapshotFormatError(`${path}: corrupt frame length ${n}`);
      const body = (await readExactly(n, 'frame'))!;
      try {
        yield decode(body);
      } catch (err) {
        throw new SnapshotFormatError(`${path}: corrupt frame (${(err as Error).message})`);
      }
    }
  } finally {
    await file.close();
  }
}

export interface CheckedSnapshot {
  header: SnapshotHeader__Output;
  /** The data chunks; iterating to the end checks the trailer (throws {@link SnapshotFormatError} on a mismatch). */
  data: AsyncGenerator<Buffer>;
  /** Resolves with the trailer once `data` has been read to the end and checked. */
  trailer: Promise<SnapshotTrailer__Output>;
}

/**
 * Checks a sequence of parts as it is read: a header first (of a known
 * format), then data, then a trailer matching the data's SHA-256 and size,
 * then nothing.
 */
export async function checkSnapshotParts(parts: AsyncIterable<SnapshotPart__Output>, source: string): Promise<CheckedSnapshot> {
  const it = parts[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.part !== 'header' || !first.value.header) throw new SnapshotFormatError(`${source}: does not start with a snapshot header`);
  const header = first.value.header;
  if (header.format !== SNAPSHOT_DATA_FORMAT) throw new SnapshotFormatError(`${source}: snapshot data format ${header.format} is not supported (this version reads ${SNAPSHOT_DATA_FORMAT})`);
  let settle!: { resolve(t: SnapshotTrailer__Output): void; reject(e: Error): void };
  const trailer = new Promise<SnapshotTrailer__Output>((resolve, reject) => (settle = { resolve, reject }));
  trailer.catch(() => {});
  async function* data(): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      for (;;) {
        const next = await it.next();
        if (next.done) throw new SnapshotFormatError(`${source}: truncated (no trailer)`);
        const part = next.value;
        if (part.part === 'data' && part.data) {
          hash.update(part.data);
          bytes += part.data.length;
          yield part.data;
          continue;
        }
        if (part.part !== 'trailer' || !part.trailer) throw new SnapshotFormatError(`${source}: unexpected ${part.part ?? 'empty'} part after the header`);
        const t = part.trailer;
        if (Number(t.totalBytes) !== bytes) throw new SnapshotFormatError(`${source}: trailer says ${t.totalBytes} bytes, data has ${bytes}`);
        if (!hash.digest().equals(t.sha256)) throw new SnapshotFormatError(`${source}: SHA-256 checksum mismatch (the snapshot is corrupt)`);
        if (!(await it.next()).done) throw new SnapshotFormatError(`${source}: data after the trailer`);
        settle.resolve(t);
        return;
      }
    } catch (err) {
      settle.reject(err as Error);
      throw err;
    }
  }
  return { header, data: data(), trailer };
}
