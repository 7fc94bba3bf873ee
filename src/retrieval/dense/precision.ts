// Corpus embeddings at lower precision: float16 (half the bytes) or int8 with one float32 scale per row (a
// quarter, plus 4 bytes a row). Vectors are packed into 32-bit words so that every chunk store (IndexedDB,
// files, memory) keeps them exactly as it keeps float32 rows; a three-word header says what the words hold,
// so a chunk is never decoded with the wrong precision or width.
//
// Error bounds (tests/unit/dense-precision.test.ts checks them):
//   f16   round to nearest even: |x̂ − x| ≤ F16_MAX_RELATIVE_ERROR·|x| in float16's normal range (|x| ≥ 2^-14),
//         ≤ F16_MAX_ABS_ERROR_SUBNORMAL below it; |x| > 65504 becomes ±Infinity (embeddings are far smaller).
//   int8  symmetric per row: q = round(x / s), s = max|x_row| / 127, x̂ = q·s, so |x̂ − x| ≤ INT8_MAX_ERROR_PER_MAX_ABS·max|x_row|.

export type EmbeddingPrecision = 'f32' | 'f16' | 'int8';
export const EMBEDDING_PRECISIONS: readonly EmbeddingPrecision[] = ['f32', 'f16', 'int8'];

/** Half of float16's unit in the last place, relative: 2^-11. */
export const F16_MAX_RELATIVE_ERROR = 2 ** -11;
/** Half of float16's smallest subnormal step: 2^-25. */
export const F16_MAX_ABS_ERROR_SUBNORMAL = 2 ** -25;
/** Half an int8 step of a row scaled to ±127: 1/254 of the row's largest magnitude. */
export const INT8_MAX_ERROR_PER_MAX_ABS = 1 / 254;

/** Stored bytes per row of `dim` values (the chunk header aside). */
export function bytesPerRow(precision: EmbeddingPrecision, dim: number): number {
  return precision === 'f32' ? 4 * dim : precision === 'f16' ? 2 * dim : dim + 4;
}

/** 'f32' | 'f16' | 'int8' from a flag or setting; anything else throws RangeError naming the choices. */
export function parsePrecision(s: string | undefined): EmbeddingPrecision {
  const p = s ?? 'f32';
  if (!(EMBEDDING_PRECISIONS as readonly string[]).includes(p)) {
    throw new RangeError(`embeddings precision must be one of ${EMBEDDING_PRECISIONS.join(', ')}, got "${p}"`);
  }
  return p as EmbeddingPrecision;
}

// ---- float16 ---------------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of a number, rounded to nearest even (overflow to ±Infinity, NaN kept). */
export function toHalfBits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15; // rebiased exponent
  if (e >= 0x1f) return sign | 0x7c00; // too large: Infinity
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    // Subnormal: the implicit 1 joins the mantissa, shifted right by 1 − e, rounded to nearest even.
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // a carry into the exponent is still correct
  return sign | h;
}

/** binary16 bits → number (exact). */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

let halfTable: Float32Array | undefined;
/** All 65,536 float16 values as float32 (256 KiB, built on first use): decoding is one lookup a value. */
function halfToFloat(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = fromHalfBits(h);
  }
  return halfTable;
}

// ---- packing ---------------------------------------------------------------------------------------

/** Header words: [PACK_MAGIC | precision code, dim, rows]. The magic makes a float32 chunk read as packed fail. */
const HEADER_WORDS = 3;
const PACK_MAGIC = 0x51e40000; // 'Q' packed; the low 16 bits hold the precision code
const CODE: Record<Exclude<EmbeddingPrecision, 'f32'>, number> = { f16: 1, int8: 2 };

/**
 * Row-major vectors [rows × dim] at `precision`, as 32-bit words a chunk store keeps like float32 rows.
 * f32 returns the input itself.
 */
export function packVectors(vectors: Float32Array, dim: number, precision: EmbeddingPrecision): Float32Array {
  if (precision === 'f32') return vectors;
  if (!Number.isInteger(dim) || dim < 1 || vectors.length % dim !== 0) throw new RangeError(`packVectors: ${vectors.length} values are not rows of dimension ${dim}`);
  const rows = vectors.length / dim;
  const n = vectors.length;
  const dataWords = precision === 'f16' ? Math.ceil(n / 2) : rows + Math.ceil(n / 4);
  const out = new Float32Array(HEADER_WORDS + dataWords);
  const head = new Uint32Array(out.buffer, 0, HEADER_WORDS);
  head[0] = PACK_MAGIC | CODE[precision];
  head[1] = dim;
  head[2] = rows;
  if (precision === 'f16') {
    const half = new Uint16Array(out.buffer, HEADER_WORDS * 4, n);
    for (let i = 0; i < n; i++) half[i] = toHalfBits(vectors[i]!);
    return out;
  }
  const scales = out.subarray(HEADER_WORDS, HEADER_WORDS + rows);
  const q = new Int8Array(out.buffer, (HEADER_WORDS + rows) * 4, n);
  for (let r = 0; r < rows; r++) {
    const off = r * dim;
    let max = 0;
    for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(vectors[off + j]!));
    const s = Math.fround(max / 127);
    scales[r] = s;
    const inv = s > 0 ? 1 / s : 0;
    for (let j = 0; j < dim; j++) q[off + j] = Math.max(-127, Math.min(127, Math.round(vectors[off + j]! * inv)));
  }
  return out;
}

/** The float32 rows of packed words (a copy), checked against the expected precision and width. */
export function unpackVectors(words: Float32Array, dim: number, precision: EmbeddingPrecision, where = 'embedding chunk'): Float32Array {
  if (precision === 'f32') return words;
  const bad = (why: string) => new RangeError(`${where}: ${why}; the stored embeddings do not match their manifest. Delete them and encode the corpus again.`);
  if (words.length < HEADER_WORDS) throw bad('too short for a packed chunk');
  const head = new Uint32Array(words.buffer, words.byteOffset, HEADER_WORDS);
  if (head[0] !== (PACK_MAGIC | CODE[precision])) throw bad(`not packed as ${precision}`);
  if (head[1] !== dim) throw bad(`rows of dimension ${head[1]}, expected ${dim}`);
  const rows = head[2]!;
  const n = rows * dim;
  const need = HEADER_WORDS + (precision === 'f16' ? Math.ceil(n / 2) : rows + Math.ceil(n / 4));
  if (words.length !== need) throw bad(`${words.length} words for ${rows} rows, expected ${need}`);
  const out = new Float32Array(n);
  const base = words.byteOffset + HEADER_WORDS * 4;
  if (precision === 'f16') {
    const table = halfToFloat();
    const half = new Uint16Array(words.buffer, base, n);
    for (let i = 0; i < n; i++) out[i] = table[half[i]!]!;
    return out;
  }
  const scales = words.subarray(HEADER_WORDS, HEADER_WORDS + rows);
  const q = new Int8Array(words.buffer, base + rows * 4, n);
  for (let r = 0; r < rows; r++) {
    const s = scales[r]!;
    const off = r * dim;
    for (let j = 0; j < dim; j++) out[off + j] = q[off + j]! * s;
  }
  return out;
}
