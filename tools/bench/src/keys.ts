// The key and value generator every target shares: fixed-width keys over a
// keyspace, incompressible values (LevelDB compresses blocks with Snappy;
// repeated bytes would flatter it against etcd's uncompressed bbolt).
import { Rng } from './util';

export interface KeySpaceOptions {
  keyspace: number;
  keyBytes: number;
  valueBytes: number;
  /** Prefix of every key (default 'k'). */
  prefix?: string;
  seed?: number;
}

export class KeySpace {
  readonly keys: Buffer[];
  private readonly values: Buffer[];

  constructor(readonly opts: KeySpaceOptions) {
    const prefix = opts.prefix ?? 'k';
    const digits = opts.keyBytes - prefix.length;
    if (digits < String(opts.keyspace - 1).length) {
      throw new Error(`--key-bytes ${opts.keyBytes} is too short for a keyspace of ${opts.keyspace} with prefix "${prefix}"`);
    }
    this.keys = new Array(opts.keyspace);
    for (let i = 0; i < opts.keyspace; i++) this.keys[i] = Buffer.from(prefix + String(i).padStart(digits, '0'), 'latin1');
    const rng = new Rng(opts.seed ?? 42);
    const pool = 1024;
    this.values = new Array(pool);
    for (let v = 0; v < pool; v++) {
      const b = Buffer.allocUnsafe(opts.valueBytes);
      for (let i = 0; i < b.length; i++) b[i] = rng.next() & 0xff;
      this.values[v] = b;
    }
  }

  get size(): number {
    return this.keys.length;
  }

  key(i: number): Buffer {
    return this.keys[i]!;
  }

  /** One of 1024 random values of the configured size. */
  value(rng: Rng): Buffer {
    return this.values[rng.below(this.values.length)]!;
  }
}
