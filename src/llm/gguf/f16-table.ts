// float16 → float32 for the dequantizers: one table of all 65536 patterns, built on first use (256 KiB).

let f16Table: Float32Array | null = null;

/** float16 bit pattern → float32 (exact; inf and NaN keep sign and payload, as numpy's astype). */
export function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const bits = new Uint32Array(65536);
  const asFloat = new Float32Array(bits.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const man = h & 0x3ff;
    if (exp === 0x1f) bits[h] = sign | 0x7f800000 | (man << 13);
    else if (exp === 0) {
      asFloat[h] = man * 2 ** -24; // zero or subnormal: exact in float32
      bits[h] |= sign;
    } else bits[h] = (sign | (((h & 0x7fff) + 0x1c000) << 13)) >>> 0;
  }
  f16Table = asFloat;
  return asFloat;
}
