import type { SnapshotChunk, SnapshotChunk__Output } from '@bellwether/proto';
import type { SnapshotMsg } from '@bellwether/raft';
import type { SnapshotReader } from '@bellwether/store';
import type * as grpc from '@grpc/grpc-js';
import { decodeMembers } from './membership';
import { toWire } from './peer-codec';
import { checkPeerMessage, MalformedPeerMessage } from './peer-validate';

/** Sends a pinned state snapshot on an InstallSnapshot client stream; resolves true when the peer accepted it. */
export async function streamSnapshot(
  open: (cb: (err: grpc.ServiceError | null, res?: { accepted: boolean }) => void) => grpc.ClientWritableStream<SnapshotChunk>,
  msg: SnapshotMsg,
  reader: SnapshotReader,
  members: Buffer,
): Promise<boolean> {
  let settle!: (ok: boolean) => void;
  const answered = new Promise<boolean>((resolve) => (settle = resolve));
  let ended = false;
  // A stream the receiver ended (it refused a chunk, or its install failed)
  // never calls back the pending write: fail that write once it answered.
  // One waiting write at a time, and nothing of a chunk kept once written: a
  // reaction per write on the answer (Promise.race) kept every chunk sent,
  // the whole state, until the transfer ended.
  let failPending: ((err: Error) => void) | undefined;
  void answered.then(() => {
    ended = true;
    failPending?.(new Error('the receiver ended the snapshot stream'));
  });
  const stream = open((err, res) => settle(!err && !!res?.accepted));
  stream.on('error', () => settle(false));
  const write = (chunk: SnapshotChunk) =>
    new Promise<void>((resolve, reject) => {
      if (ended) return reject(new Error('the receiver ended the snapshot stream'));
      failPending = reject;
      stream.write(chunk, (err?: Error | null) => {
        failPending = undefined;
        if (err) reject(err);
        else resolve();
      });
    });
  try {
    await write({ message: toWire(msg), appliedIndex: reader.appliedIndex, members });
    for await (const data of reader.chunks()) await write({ data });
    await write({ done: true });
    stream.end();
  } catch {
    if (!ended) stream.cancel();
    return ended ? answered : false;
  }
  return answered;
}

/** The first chunk of an incoming snapshot, checked. */
export function snapshotHeader(chunk: SnapshotChunk__Output): { message: NonNullable<SnapshotChunk__Output['message']>; appliedIndex: number; members: Buffer } {
  if (chunk.message?.type !== 'snapshot' || !chunk.message.snapshot) {
    throw new TypeError('InstallSnapshot: the first chunk must carry the snapshot message');
  }
  checkPeerMessage(chunk.message);
  const { index } = chunk.message.snapshot;
  if (!Number.isSafeInteger(chunk.appliedIndex) || chunk.appliedIndex < index) {
    throw new MalformedPeerMessage(`InstallSnapshot: applied index ${chunk.appliedIndex} is not an integer in [${index}, 2^53 - 1]`);
  }
  try {
    decodeMembers(chunk.members);
  } catch (err) {
    throw new MalformedPeerMessage(`InstallSnapshot: the member list does not decode: ${(err as Error).message}`);
  }
  return { message: chunk.message, appliedIndex: chunk.appliedIndex, members: chunk.members };
}
