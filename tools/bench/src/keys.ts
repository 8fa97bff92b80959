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

/**
 * Keyspaces up to this many keys are made up front; larger ones key by key
 * as they are used (10,000,000 Buffers would take the client ~1 GiB and long
 * garbage-collector pauses, on the cores the servers share).
 */
export const KEYS_MADE_UP_FRONT_MAX = 1 << 20;

export class KeySpace {
  /** Every key, when the keyspace is small enough to make up front. */
  private readonly keys: Buffer[] | undefined;
  private readonly values: Buffer[];
  private readonly prefix: string;
  private readonly digits: number;

  constructor(readonly opts: KeySpaceOptions) {
    const prefix = opts.prefix ?? 'k';
    const digits = opts.keyBytes - prefix.length;
    if (digits < String(opts.keyspace - 1).length) {
      throw new Error(`--key-bytes ${opts.keyBytes} is too short for a keyspace of ${opts.keyspace} with prefix "${prefix}"`);
    }
    this.prefix = prefix;
    this.digits = digits;
    if (opts.keyspace <= KEYS_MADE_UP_FRONT_MAX) {
      this.keys = new Array(opts.keyspace);
      for (let i = 0; i < opts.keyspace; i++) this.keys[i] = this.make(i);
    }
    const rng = new Rng(opts.seed ?? 42);
    const pool = 1024;
    this.values = new Array(pool);
    for (let v = 0; v < pool; v++) {
      const b = Buffer.allocUnsafe(opts.valueBytes);
      let i = 0;
      for (; i + 4 <= b.length; i += 4) b.writeUInt32LE(rng.next(), i);
      for (; i < b.length; i++) b[i] = rng.next() >>> 24;
      this.values[v] = b;
    }
  }

  get size(): number {
    return this.opts.keyspace;
  }

  key(i: number): Buffer {
    return this.keys ? this.keys[i]! : this.make(i);
  }

  private make(i: number): Buffer {
    return Buffer.from(this.prefix + String(i).padStart(this.digits, '0'), 'latin1');
  }

  /** One of 1024 random values of the configured size. */
  value(rng: Rng): Buffer {
    return this.values[rng.below(this.values.length)]!;
  }
}
