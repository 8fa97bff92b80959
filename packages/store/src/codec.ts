/**
 * A small binary codec for everything the store persists. Hand-rolled rather
 * than JSON so the write path never stringifies values, and rather than
 * protobuf so the storage format is independent of the wire contract.
 */

export class Writer {
  private buf: Buffer;
  private pos: number;

  /** `headroomBytes` are left unwritten in front of the record, for a frame written there afterwards (wal-records.ts). */
  constructor(
    initialBytes = 64,
    private readonly headroomBytes = 0,
  ) {
    this.buf = Buffer.allocUnsafe(initialBytes + headroomBytes);
    this.pos = headroomBytes;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  /** Unsigned integer up to 2^53, as an unsigned LEB128 varint. */
  uint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`codec: not a safe unsigned integer: ${v}`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }

  bytes(v: Uint8Array): this {
    this.uint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  /** Bytes as they are, without a length: only as the last field of a record that knows its own length. */
  raw(v: Uint8Array): this {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  string(v: string): this {
    // Encoded straight into the buffer: no intermediate Buffer per string.
    const len = Buffer.byteLength(v, 'utf8');
    this.uint(len);
    this.ensure(len);
    this.pos += this.buf.write(v, this.pos, len, 'utf8');
    return this;
  }

  /** Present-or-absent wrapper: a flag byte, then the value when present. */
  optional<T>(v: T | undefined | null, write: (w: this, v: T) => void): this {
    if (v === undefined || v === null) return this.u8(0);
    this.u8(1);
    write(this, v);
    return this;
  }

  finish(): Buffer {
    return this.buf.subarray(this.headroomBytes, this.pos);
  }
}

export class Reader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('codec: truncated record');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  uint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError('codec: varint too long');
    }
    // The writer never writes one, so a larger number is a corrupt or hostile record.
    if (result > Number.MAX_SAFE_INTEGER) throw new RangeError('codec: varint above 2^53 - 1');
    return result;
  }

  bool(): boolean {
    return this.u8() !== 0;
  }

  /** A view into the record; copy it if the record's buffer may be reused. */
  bytes(): Buffer {
    const len = this.uint();
    this.need(len);
    const view = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, len);
    this.pos += len;
    return view;
  }

  string(): string {
    return this.bytes().toString('utf8');
  }

  optional<T>(read: (r: this) => T): T | undefined {
    return this.u8() === 0 ? undefined : read(this);
  }

  /** Bytes read so far. */
  get position(): number {
    return this.pos;
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }
}

/** Fixed-width big-endian u64, so LevelDB's byte order is numeric order. */
export function u64be(v: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
}

export function readU64be(b: Uint8Array, offset = 0): number {
  return Number(Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64BE(offset));
}
