import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import * as protoLoader from '@grpc/proto-loader';
import { ETCD_PROTO } from '../src/etcd';
import { parseDownWindow } from '../src/follower-down';
import { KeySpace } from '../src/keys';
import { LatencyRecorder, percentile } from '../src/latency';
import { parseFlags, Rng, UsageError } from '../src/util';

test('percentiles are exact nearest-rank values of the samples', () => {
  const r = new LatencyRecorder();
  for (let i = 1000; i >= 1; i--) r.record(i);
  const s = r.summary();
  assert.equal(s.count, 1000);
  assert.equal(s.p50Ms, 500);
  assert.equal(s.p99Ms, 990);
  assert.equal(s.p999Ms, 999);
  assert.equal(s.maxMs, 1000);
  assert.equal(percentile(new Float64Array([7]), 0.999), 7);
  assert.ok(Number.isNaN(percentile(new Float64Array(0), 0.5)));
});

test('keys have the configured width and values the configured size', () => {
  const k = new KeySpace({ keyspace: 100_000, keyBytes: 16, valueBytes: 256 });
  assert.equal(k.size, 100_000);
  assert.equal(k.key(0).length, 16);
  assert.equal(k.key(99_999).toString(), 'k000000000099999');
  assert.throws(() => new KeySpace({ keyspace: 100_000, keyBytes: 4, valueBytes: 1 }), /too short/);
});

test('values do not compress (LevelDB compresses, bbolt does not) and random keys reach the whole keyspace', () => {
  const keys = new KeySpace({ keyspace: 10, keyBytes: 16, valueBytes: 16 * 1024 });
  const rng = new Rng(3);
  const value = keys.value(rng);
  assert.ok(deflateSync(value).length >= value.length, `a ${value.length}-byte value deflated to ${deflateSync(value).length}`);
  const seen = new Set<number>();
  for (let i = 0; i < 200_000; i++) seen.add(rng.below(1_000_000));
  // 200,000 uniform draws from 1,000,000 give ~181,000 distinct keys.
  assert.ok(seen.size > 175_000, `${seen.size} distinct keys of 200,000 draws`);
});

test('a keyspace too large to make up front gives the same keys, made as they are asked for', () => {
  const big = new KeySpace({ keyspace: 10_000_000, keyBytes: 16, valueBytes: 8 });
  const small = new KeySpace({ keyspace: 100_000, keyBytes: 16, valueBytes: 8 });
  assert.equal(big.size, 10_000_000);
  assert.deepEqual(big.key(99_999), small.key(99_999));
  assert.equal(big.key(9_999_999).toString(), 'k000000009999999');
});

test('flags: values, defaults, bools, lists, and the -- that pnpm passes on', () => {
  const specs = {
    n: { kind: 'int', default: 3, help: '' },
    d: { kind: 'number', help: '' },
    q: { kind: 'bool', default: false, help: '' },
    l: { kind: 'list', help: '' },
  } as const;
  assert.deepEqual(parseFlags(['--', '--n', '5', '--d=0.5', '--q', '--l', 'a,b'], specs), { n: 5, d: 0.5, q: true, l: ['a', 'b'] });
  assert.deepEqual(parseFlags([], specs), { n: 3, d: undefined, q: false, l: undefined });
  assert.throws(() => parseFlags(['--nope'], specs), UsageError);
  assert.throws(() => parseFlags(['--n', 'x'], specs), UsageError);
});

test('the etcd subset encodes the field numbers of etcd rpc.proto', () => {
  const def = protoLoader.loadSync(ETCD_PROTO, { longs: String, defaults: true, oneofs: true });
  const range = def['etcdserverpb.RangeRequest'] as protoLoader.MessageTypeDefinition<object, object>;
  const bytes = range.serialize({ key: Buffer.from('a'), serializable: true });
  // field 1 (bytes) = tag 0x0a, length 1, 'a'; field 7 (varint) = tag 0x38, 1.
  assert.deepEqual([...bytes], [0x0a, 1, 0x61, 0x38, 1]);
  const put = def['etcdserverpb.PutRequest'] as protoLoader.MessageTypeDefinition<object, object>;
  assert.deepEqual([...put.serialize({ key: Buffer.from('k'), value: Buffer.from('v'), prevKv: true })], [0x0a, 1, 0x6b, 0x12, 1, 0x76, 0x20, 1]);
  const cmp = def['etcdserverpb.Compare'] as protoLoader.MessageTypeDefinition<object, object>;
  // result EQUAL is 0, the default; target MOD = 2 (tag 0x10), key (0x1a), mod_revision 5 (field 6: tag 0x30).
  assert.deepEqual([...cmp.serialize({ target: 'MOD', key: Buffer.from('k'), modRevision: '5' })], [0x10, 2, 0x1a, 1, 0x6b, 0x30, 5]);
});

test('--follower-down-minutes: A-B in minutes, A before B', () => {
  assert.deepEqual(parseDownWindow('2-5'), { fromS: 120, toS: 300 });
  assert.deepEqual(parseDownWindow('0.5-1.5'), { fromS: 30, toS: 90 });
  for (const bad of ['5-2', '3', '1-1', 'a-b', '-1-2']) assert.throws(() => parseDownWindow(bad), UsageError, bad);
});
