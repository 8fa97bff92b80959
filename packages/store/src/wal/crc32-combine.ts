/**
 * The CRC-32 (zlib's, reflected polynomial 0xedb88320) of `a` followed by
 * `b`, from the CRC-32 of each and the length of `b`: what zlib's
 * crc32_combine computes, without reading either again. A record whose data
 * holds a large value can so be checksummed whole while the value's own
 * checksum, needed where the value is stored apart, is computed only once.
 *
 * Appending `len` zero bytes multiplies a CRC by x^(8 len) modulo the
 * polynomial; the powers x^(2^k) are tabulated, so the cost grows with the
 * number of bits in `len`, not with `len`.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(xPowerOf2TimesModP(lengthB, 3), crcA) ^ crcB) >>> 0;
}

const POLY = 0xedb88320;
/** x^0 in the reflected bit order: the top bit. */
const ONE = 0x80000000;

/** a(x) b(x) modulo the polynomial, both reflected. */
function multiplyModP(a: number, b: number): number {
  let m = ONE;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) modulo the polynomial. */
const X2N: number[] = (() => {
  const table: number[] = [];
  let p = ONE >>> 1; // x^1
  table.push(p);
  for (let k = 1; k < 32; k++) {
    p = multiplyModP(p, p);
    table.push(p);
  }
  return table;
})();

/** x^(n 2^k) modulo the polynomial. */
function xPowerOf2TimesModP(n: number, k: number): number {
  let p = ONE;
  while (n > 0) {
    if (n % 2 === 1) p = multiplyModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}
