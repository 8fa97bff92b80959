import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SnapshotChunk } from '@bellwether/proto';
import type { SnapshotMsg } from '@bellwether/raft';
import type * as grpc from '@grpc/grpc-js';
import { streamSnapshot } from '../src/snapshot-transfer';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const msg = { type: 'snapshot', from: 'n1', to: 'n2', term: 1, snapshot: { index: 10, term: 1, config: { voters: ['n1', 'n2'], learners: [] } } } as unknown as SnapshotMsg;

/** A client stream whose writes complete on the next turn, and whose answer the test gives. */
function fakeStream() {
  const written: SnapshotChunk[] = [];
  let answer!: (err: grpc.ServiceError | null, res?: { accepted: boolean }) => void;
  const stream = Object.assign(new EventEmitter(), {
    write(chunk: SnapshotChunk, cb: (err?: Error | null) => void) {
      written.push({ ...chunk, data: chunk.data ? Buffer.alloc(0) : undefined });
      setImmediate(() => cb());
      return true;
    },
    end() {},
    cancel() {},
  });
  const open = (cb: typeof answer) => {
    answer = cb;
    return stream as unknown as grpc.ClientWritableStream<SnapshotChunk>;
  };
  return { open, written, answer: (ok: boolean) => answer(null, { accepted: ok }) };
}

test('a snapshot transfer keeps no chunk it has written: memory stays at one chunk, not the whole state', async () => {
  const chunks = 40;
  const alive: WeakRef<Buffer>[] = [];
  let sentAll!: () => void;
  const allSent = new Promise<void>((resolve) => (sentAll = resolve));
  const reader = {
    appliedIndex: 10,
    async *chunks() {
      for (let i = 0; i < chunks; i++) {
        const b = Buffer.alloc(1024 * 1024, i);
        alive.push(new WeakRef(b));
        yield b;
      }
      sentAll();
    },
  };
  const { open, written, answer } = fakeStream();
  const done = streamSnapshot(open, msg, reader, Buffer.alloc(0));
  await allSent;
  // Let the last writes call back (the receiver has not answered yet), then collect.
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  const kept = alive.filter((w) => w.deref() !== undefined).length;
  assert.ok(kept <= 2, `${kept} of ${chunks} written chunks still held while the receiver has not answered`);
  answer(true);
  assert.equal(await done, true);
  assert.equal(written.length, chunks + 2, 'header, every chunk, done');
});

test('a receiver that answers early (refused) ends the transfer without waiting on the pending write', async () => {
  const { open, answer } = fakeStream();
  let pulled = 0;
  const reader = {
    appliedIndex: 10,
    async *chunks() {
      for (;;) {
        pulled++;
        if (pulled === 3) answer(false);
        yield Buffer.alloc(16);
      }
    },
  };
  assert.equal(await streamSnapshot(open, msg, reader, Buffer.alloc(0)), false);
  assert.ok(pulled <= 4, `read ${pulled} chunks after the refusal`);
});
