// IEEE 754 binary16 (float16) conversion, as WebLLM's q4f16_1 / q0f16 models store scales, biases and norms.
//
// Encoding rounds to nearest, ties to even (what numpy's astype(float16), LLVM's fptrunc and tvm on CPU do),
// with subnormals, ±inf (|x| ≥ 65520 after float32 rounding) and NaN (quiet, payload kept). Input goes
// through float32 first: every value we encode is a float32 weight or the float32 result of one float16
// operation, for which float32 → float16 equals the correctly rounded float16 (24 ≥ 2·11 + 2 bits, so the
// double rounding is innocuous; Figueroa 1995).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bit pattern (0..0xffff) nearest to x (rounded to float32 first). */
export function f16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf, or quiet NaN
  const e = exp - 127 + 15; // biased float16 exponent
  if (e >= 31) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    // Subnormal (or zero): count units of 2^-24. Below 2^-25 everything rounds to (signed) zero.
    if (e < -10) return sign;
    const m = mant | 0x800000; // 24-bit significand with the implicit 1
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    const rem = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rem > half || (rem === half && r & 1)) r++; // may carry into the smallest normal: still right
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++; // a carry out of the mantissa bumps the exponent (up to inf)
  return sign | r;
}

/** The number a float16 bit pattern stands for (computed; `f16Value` reads it from a table). */
export function f16Decode(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero and subnormals
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Every float16 value by bit pattern (256 KiB): decoding is the hot path of (de)quantisation. */
let table: Float32Array | null = null;

/** The number a float16 bit pattern (0..0xffff) stands for. */
export function f16Value(bits: number): number {
  if (!table) {
    table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) table[i] = f16Decode(i);
  }
  return table[bits];
}

/** x rounded to the nearest float16 value (the result of one float16 operation whose exact value is x). */
export function f16Round(x: number): number {
  return f16Value(f16Bits(x));
}

/** Encodes a whole array (float16 bits, little-endian when viewed as bytes on every platform we run on). */
export function toF16Array(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16Bits(values[i]);
  return out;
}

export function fromF16Array(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16Value(bits[i]);
  return out;
}
