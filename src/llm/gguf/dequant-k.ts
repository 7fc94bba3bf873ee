// The K-quants (ggml-quants.c block_q2_K … block_q6_K: 256-weight super-blocks with 6- or 8-bit sub-block
// scales) → float32, in the order and with the float32 steps of the `gguf` package's dequantize_blocks
// (gguf/quants.py 0.19): scale = d·sc per sub-block first, then w = scale·q − min (one fround per numpy op).
import { f16ToF32Table } from './f16-table.ts';

const fr = Math.fround;
const QK_K = 256;

/** A little-endian float16 at byte `at`, as float32. */
const half = (t: Float32Array, b: Uint8Array, at: number): number => t[b[at] | (b[at + 1] << 8)];

// Q2_K (84 bytes): scales[16] (low nibble scale, high nibble min, per 16 weights), qs[64] (2-bit), d, dmin.
// Weight h·128 + s·32 + l (half h, shift s) is (qs[h·32 + l] >> 2s) & 3.
export function dequantQ2K(bytes: Uint8Array, out: Float32Array, blocks: number): void {
  const t = f16ToF32Table();
  for (let k = 0; k < blocks; k++) {
    const at = k * 84;
    const d = half(t, bytes, at + 80);
    const dmin = half(t, bytes, at + 82);
    const o = k * QK_K;
    for (let e = 0; e < QK_K; e++) {
      const sc = bytes[at + (e >> 4)];
      const dl = fr(d * (sc & 0x0f));
      const ml = fr(dmin * (sc >> 4));
      const q = (bytes[at + 16 + (e >> 7) * 32 + (e & 31)] >> (2 * ((e >> 5) & 3))) & 3;
      out[o + e] = fr(fr(dl * q) - ml);
    }
  }
}

// Q3_K (110 bytes): hmask[32], qs[64] (low 2 bits), scales[12] (16 × 6 bits, signed − 32), d.
// q = low2 − (hmask bit clear ? 4 : 0); weight e's hmask bit is bit e/32 of hmask[e % 32].
export function dequantQ3K(bytes: Uint8Array, out: Float32Array, blocks: number): void {
  const t = f16ToF32Table();
  const dl = new Float32Array(16);
  for (let k = 0; k < blocks; k++) {
    const at = k * 110;
    const sat = at + 96;
    const d = half(t, bytes, at + 108);
    for (let i = 0; i < 16; i++) {
      const lo = (bytes[sat + (i & 7)] >> (4 * (i >> 3))) & 0x0f;
      const hi = (bytes[sat + 8 + (i & 3)] >> (2 * (i >> 2))) & 0x03;
      dl[i] = fr(d * ((lo | (hi << 4)) - 32));
    }
    const o = k * QK_K;
    for (let e = 0; e < QK_K; e++) {
      const low = (bytes[at + 32 + (e >> 7) * 32 + (e & 31)] >> (2 * ((e >> 5) & 3))) & 3;
      const high = (bytes[at + (e & 31)] >> (e >> 5)) & 1;
      out[o + e] = fr(dl[e >> 4] * (low - (high ? 0 : 4)));
    }
  }
}

/** Q4_K/Q5_K's 12 scale bytes at `at` → 8 six-bit scales and mins (gguf's Q4_K.get_scale_min). */
function scaleMin(b: Uint8Array, at: number, sc: Uint8Array, mn: Uint8Array): void {
  for (let j = 0; j < 4; j++) {
    const d = b[at + j];
    const m = b[at + 4 + j];
    const md = b[at + 8 + j];
    sc[j] = d & 0x3f;
    mn[j] = m & 0x3f;
    sc[j + 4] = (md & 0x0f) | ((d >> 2) & 0x30);
    mn[j + 4] = (md >> 4) | ((m >> 2) & 0x30);
  }
}

// Q4_K (144 bytes): d, dmin, scales[12], qs[128]. Weight c·64 + n·32 + l is nibble n of qs[c·32 + l];
// sub-block j = e/32 has scale d·sc[j] and min dmin·m[j]; w = scale·q − min.
export function dequantQ4K(bytes: Uint8Array, out: Float32Array, blocks: number): void {
  dequantScaleMinK(bytes, out, blocks, 144, 16, null);
}

// Q5_K (176 bytes): d, dmin, scales[12], qh[32], qs[128]. As Q4_K plus a 5th bit: bit j of qh[l] for
// weight j·32 + l.
export function dequantQ5K(bytes: Uint8Array, out: Float32Array, blocks: number): void {
  dequantScaleMinK(bytes, out, blocks, 176, 48, 16);
}

/** Q4_K and Q5_K: 4-bit quants at `qsAt` of each block, plus a 5th bit from qh at `qhAt` (Q5_K). */
function dequantScaleMinK(bytes: Uint8Array, out: Float32Array, blocks: number, blockBytes: number, qsAt: number, qhAt: number | null): void {
  const t = f16ToF32Table();
  const sc = new Uint8Array(8);
  const mn = new Uint8Array(8);
  for (let k = 0; k < blocks; k++) {
    const at = k * blockBytes;
    const d = half(t, bytes, at);
    const dmin = half(t, bytes, at + 2);
    scaleMin(bytes, at + 4, sc, mn);
    const o = k * QK_K;
    for (let j = 0; j < 8; j++) {
      const ds = fr(d * sc[j]);
      const dm = fr(dmin * mn[j]);
      const qat = at + qsAt + (j >> 1) * 32;
      const shift = 4 * (j & 1);
      for (let l = 0; l < 32; l++) {
        const high = qhAt === null ? 0 : ((bytes[at + qhAt + l] >> j) & 1) << 4;
        out[o + j * 32 + l] = fr(fr(ds * (((bytes[qat + l] >> shift) & 0x0f) | high)) - dm);
      }
    }
  }
}

// Q6_K (210 bytes): ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] int8, d. Weight h·128 + n·64 + l
// (l < 64) takes nibble n of ql[h·64 + l]; weight h·128 + s·32 + l (l < 32) takes bits 2s of qh[h·32 + l];
// q = (low | high << 4) − 32, w = (d·scale[e/16])·q.
export function dequantQ6K(bytes: Uint8Array, out: Float32Array, blocks: number): void {
  const t = f16ToF32Table();
  const ds = new Float32Array(16);
  for (let k = 0; k < blocks; k++) {
    const at = k * 210;
    const d = half(t, bytes, at + 208);
    for (let i = 0; i < 16; i++) ds[i] = fr(d * ((bytes[at + 192 + i] << 24) >> 24));
    const o = k * QK_K;
    for (let e = 0; e < QK_K; e++) {
      const h = e >> 7;
      const r = e & 127;
      const low = (bytes[at + h * 64 + (r & 63)] >> (4 * (r >> 6))) & 0x0f;
      const high = (bytes[at + 128 + h * 32 + (r & 31)] >> (2 * (r >> 5))) & 0x03;
      out[o + e] = fr(ds[e >> 4] * ((low | (high << 4)) - 32));
    }
  }
}
