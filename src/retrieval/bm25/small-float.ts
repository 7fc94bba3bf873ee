// Lucene's one-byte document-length norm: org.apache.lucene.util.SmallFloat.intToByte4 / byte4ToInt
// (Lucene 9). Lengths 0..23 are exact; above that a 3-bit mantissa with an exponent, so a norm
// byte stands for a bucket of lengths (e.g. 96..103 all decode to 96), at most 12.5% below.

/** Lengths below this are stored exactly (255 - longToInt4(Integer.MAX_VALUE) = 24). */
const NUM_FREE_VALUES = 24;

function longToInt4(i: number): number {
  const numBits = 32 - Math.clz32(i);
  if (numBits < 4) return i; // subnormal
  const shift = numBits - 4;
  // keep the 4 most significant bits, drop the implicit leading one, store shift + 1
  return ((i >>> shift) & 0x07) | ((shift + 1) << 3);
}

function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}

/** Encodes a field length (number of indexed terms, ≥ 0) as Lucene's unsigned norm byte 0..255. */
export function intToByte4(length: number): number {
  if (!Number.isInteger(length) || length < 0 || length > 0x7fffffff) {
    throw new RangeError(`intToByte4: length must be an integer in [0, 2^31), got ${length}`);
  }
  return length < NUM_FREE_VALUES ? length : NUM_FREE_VALUES + longToInt4(length - NUM_FREE_VALUES);
}

/** Decodes a norm byte (0..255) to the length Lucene's BM25 uses (its LENGTH_TABLE entry). */
export function byte4ToInt(byte: number): number {
  const i = byte & 0xff;
  return i < NUM_FREE_VALUES ? i : NUM_FREE_VALUES + int4ToLong(i - NUM_FREE_VALUES);
}
