import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { decodeCommand, encodeCommand, Store } from '../src/index';
import { takeValueCrc, valueAwareChecksum } from '../src/value-checksums';
import { crc32Combine } from '../src/wal/crc32-combine';
import { tempDir } from './helpers';

/** A buffer with memory behind it even when empty (zlib's crc32 of one without is 0, not its seed). */
const bytes = (n: number) => {
  const b = Buffer.alloc(n + 1).subarray(1);
  b.set(randomBytes(n));
  return b;
};

test('crc32Combine gives the CRC-32 of the concatenation, from any seed', () => {
  const seed = crc32(Buffer.from('a header'));
  for (const [la, lb] of [[0, 0], [0, 5], [5, 0], [1, 1], [3, 7], [100, 1 << 20], [4096, 65_536], [12_345, 67_891]] as const) {
    const a = bytes(la);
    const b = bytes(lb);
    const whole = Buffer.concat([a, b]);
    assert.equal(crc32Combine(crc32(a), crc32(b), lb), crc32(whole), `${la} + ${lb} bytes`);
    assert.equal(crc32Combine(crc32(a, seed), crc32(b), lb), crc32(whole, seed), `${la} + ${lb} bytes after a seed`);
  }
});

test("a large put's log checksum equals zlib's and leaves the value's own CRC-32 for its blob file", () => {
  const checksum = valueAwareChecksum(64 * 1024);
  const seed = crc32(Buffer.from('entry header'));
  const value = randomBytes(1 << 20);
  const data = encodeCommand({ op: 'put', key: Buffer.from('k'), value, clientId: 'c1', sequence: 7, minUnackedSequence: 1, prevKv: false, lease: 3 });
  assert.equal(checksum(data, seed), crc32(data, seed));
  const decoded = decodeCommand(data);
  assert.ok(decoded.op === 'put');
  assert.equal(takeValueCrc(decoded.value), crc32(value), 'the apply finds the CRC through its own view of the value');
  assert.equal(takeValueCrc(decoded.value), undefined, 'and takes it once');
  // Anything else is checksummed as a whole, and remembers nothing.
  const small = encodeCommand({ op: 'put', key: Buffer.from('k'), value: randomBytes(1000), clientId: '', sequence: 0, minUnackedSequence: 0, prevKv: false });
  assert.equal(checksum(small, seed), crc32(small, seed));
  const smallDecoded = decodeCommand(small);
  assert.ok(smallDecoded.op === 'put');
  assert.equal(takeValueCrc(smallDecoded.value), undefined);
  // Data that only looks like a put at first (a membership change, say) is checksummed whole too.
  const torn = Buffer.concat([data.subarray(0, 1), Buffer.from([0xff, 0xff, 0xff, 0x7f]), randomBytes(70_000)]);
  assert.equal(checksum(torn, seed), crc32(torn, seed));
  const del = encodeCommand({ op: 'delete', key: Buffer.alloc(100_000, 1), clientId: '', sequence: 0, minUnackedSequence: 0, prevKv: false });
  assert.equal(checksum(del, seed), crc32(del, seed));
});

test('a large value persisted, applied and reopened reads back whole (its blob frame carries the CRC the log computed)', async (t) => {
  const dir = tempDir(t);
  let store = await Store.open(dir, { blobMinBytes: 1024 });
  t.after(() => store.close());
  const values = [randomBytes(300_000), randomBytes(5_000), randomBytes(1 << 20)];
  const entries = values.map((value, i) => ({
    index: i + 1,
    term: 1,
    type: 'normal' as const,
    data: encodeCommand({ op: 'put', key: Buffer.from(`k${i}`), value, clientId: '', sequence: 0, minUnackedSequence: 0, prevKv: false }),
  }));
  const [first, ...rest] = entries;
  await store.persist({ entries: [first!] });
  const firstView = decodeCommand(first!.data);
  assert.ok(firstView.op === 'put');
  assert.equal(takeValueCrc(firstView.value), crc32(values[0]!), "the log's append computed the value's CRC");
  await store.persist({ entries: rest });
  const views = rest.map((e) => decodeCommand(e.data));
  await store.apply(entries);
  for (const v of views) assert.ok(v.op === 'put' && takeValueCrc(v.value) === undefined, "the apply took the log's CRC");
  await store.close();
  store = await Store.open(dir, { blobMinBytes: 1024 });
  for (const [i, value] of values.entries()) assert.deepEqual((await store.get(Buffer.from(`k${i}`)))?.value, value, `k${i} after a reopen`);
  assert.deepEqual((await store.loadLog()).map((e) => e.data), entries.map((e) => e.data), 'the log records pass their checksums');
});
