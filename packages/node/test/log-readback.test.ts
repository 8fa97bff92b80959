import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry, Message } from '@bellwether/raft';
import { LogReadback } from '../src/log-readback';

const entry = (index: number, data: string): Entry => ({ index, term: 2, type: 'normal', data: Buffer.from(data) });
const stub = (index: number, bytes: number): Entry => ({ index, term: 2, type: 'normal', data: new Uint8Array(0), evictedBytes: bytes });
const append = (to: string, entries: Entry[]): Message => ({ type: 'append', from: 'n1', to, term: 2, index: entries[0]!.index - 1, logTerm: 2, entries, commit: 10 });

function storedLog(entries: Entry[]) {
  let reads = 0;
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  return {
    hold() {
      gate = new Promise((r) => {
        release = r;
      });
    },
    open: () => release(),
    get reads() {
      return reads;
    },
    async readLog(lo: number, hi: number) {
      reads++;
      await gate;
      return entries.filter((e) => e.index >= lo && e.index <= hi);
    },
  };
}

test('appends with evicted entries are filled from the stored log before they leave; others leave at once', async () => {
  const log = storedLog([entry(1, 'one'), entry(2, 'two'), entry(3, 'three')]);
  const sent: Message[] = [];
  const rb = new LogReadback(log, (ms) => sent.push(...ms));
  rb.send([append('n2', [stub(1, 3), stub(2, 3), entry(3, 'three')]), { type: 'heartbeat', from: 'n1', to: 'n3', term: 2, commit: 3 }]);
  assert.deepEqual(sent.map((m) => m.to), ['n3']);
  await rb.drain();
  assert.equal(sent.length, 2);
  const filled = sent[1]!;
  assert.equal(filled.type, 'append');
  if (filled.type !== 'append') return;
  assert.deepEqual(filled.entries.map((e) => Buffer.from(e.data).toString()), ['one', 'two', 'three']);
  assert.ok(filled.entries.every((e) => e.evictedBytes === undefined));
  assert.equal(rb.entriesRead, 2);
});

test('messages to one peer keep their order behind a read; other peers are not held up', async () => {
  const log = storedLog([entry(1, 'one')]);
  log.hold();
  const sent: string[] = [];
  const rb = new LogReadback(log, (ms) => sent.push(...ms.map((m) => `${m.to}:${m.type}`)));
  rb.send([append('n2', [stub(1, 3)])]);
  rb.send([{ type: 'heartbeat', from: 'n1', to: 'n2', term: 2, commit: 1 }, { type: 'heartbeat', from: 'n1', to: 'n3', term: 2, commit: 1 }]);
  assert.deepEqual(sent, ['n3:heartbeat']);
  log.open();
  await rb.drain();
  assert.deepEqual(sent, ['n3:heartbeat', 'n2:append', 'n2:heartbeat']);
});

test('an append whose entries were compacted (or rewritten) meanwhile is dropped, not sent wrong', async () => {
  const log = storedLog([{ ...entry(2, 'two'), term: 3 }]);
  const sent: Message[] = [];
  const rb = new LogReadback(log, (ms) => sent.push(...ms));
  rb.send([append('n2', [stub(1, 3), stub(2, 3)])]);
  await rb.drain();
  assert.equal(sent.length, 0);
});
