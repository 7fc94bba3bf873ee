// Scaled dot-product attention over all heads of a batch, one call per layer, for tfjs-backend-wasm's
// memory (inference only). For each (batch row b, head h) and each query i:
//   out[b·T+i, h·hs + c] = Σ_j softmax_j(scale · q_i·k_j + mask[b, j]) · v[b·T+j, h·hs + c]
// with q, k, v and out the (B·T, d) row-major tensors of the linear layers (head h = columns h·hs … h·hs+hs−1),
// read and written in place: no head transposes. Two-pass softmax per block of QB queries: scores for all
// keys into scratch, max, exp and sum, then p·V divided by the sum at the end.
// Freestanding (no libc, no stack, no data segment): the module imports tfjs's memory and touches only the
// tensors and the caller's scratch (its own _malloc'd block, attention_scratch_floats() floats).
// Built by scripts/build-wasm-kernels.sh (clang/wasm-ld 14, wasm SIMD128).
#include <wasm_simd128.h>
#include "wasm-simd-math.h"

#define QB 4          // queries per block: 4 × 2 f32x4 accumulators in both products
#define KB 8          // keys per score tile (two f32x4)
#define PAD -3.0e38f  // score of the keys past T in the last tile: exp() gives exactly 0

typedef float f32;

static inline int round_up(int n, int m) { return (n + m - 1) / m * m; }

/** Keys rounded up to whole score tiles: the row length of the scratch arrays. */
__attribute__((export_name("attention_scratch_floats"))) int attention_scratch_floats(int seq, int hs) {
  int tp = round_up(seq, KB);
  return (hs + 1 + QB) * tp; // Kᵀ of one head, the mask row, QB rows of scores
}

#define FMA(acc, a, b) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))

// Scores of QB queries against keys 0..tp−1: s[r·tp + j] = scale · q_r·k_j + mrow[j]; returns the row
// maxima through mx. kt is Kᵀ of the head (hs × tp, zero past T); q0..q3 point at the head's columns.
static inline void scores(const f32 *q0, const f32 *q1, const f32 *q2, const f32 *q3, const f32 *kt,
                          const f32 *mrow, f32 *s, int tp, int hs, f32 scale, f32 *mx) {
  v128_t sc = wasm_f32x4_splat(scale);
  v128_t m0 = wasm_f32x4_splat(PAD), m1 = m0, m2 = m0, m3 = m0;
  for (int j0 = 0; j0 < tp; j0 += KB) {
    v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    const f32 *kc = kt + j0;
    for (int c = 0; c < hs; c++, kc += tp) {
      v128_t k0 = wasm_v128_load(kc), k1 = wasm_v128_load(kc + 4);
      v128_t x = wasm_v128_load32_splat(q0 + c);
      FMA(a00, x, k0); FMA(a01, x, k1);
      x = wasm_v128_load32_splat(q1 + c);
      FMA(a10, x, k0); FMA(a11, x, k1);
      x = wasm_v128_load32_splat(q2 + c);
      FMA(a20, x, k0); FMA(a21, x, k1);
      x = wasm_v128_load32_splat(q3 + c);
      FMA(a30, x, k0); FMA(a31, x, k1);
    }
    v128_t mk0 = wasm_v128_load(mrow + j0), mk1 = wasm_v128_load(mrow + j0 + 4);
#define ROW(r, a0, a1, m)                                                   \
    a0 = wasm_f32x4_add(wasm_f32x4_mul(a0, sc), mk0);                       \
    a1 = wasm_f32x4_add(wasm_f32x4_mul(a1, sc), mk1);                       \
    wasm_v128_store(s + r * tp + j0, a0);                                   \
    wasm_v128_store(s + r * tp + j0 + 4, a1);                               \
    m = wasm_f32x4_pmax(m, wasm_f32x4_pmax(a0, a1));
    ROW(0, a00, a01, m0) ROW(1, a10, a11, m1) ROW(2, a20, a21, m2) ROW(3, a30, a31, m3)
#undef ROW
  }
  mx[0] = hmax4(m0); mx[1] = hmax4(m1); mx[2] = hmax4(m2); mx[3] = hmax4(m3);
}

// s ← exp(s − max) over one row of tp scores; returns Σ.
static inline f32 softmax_numerators(f32 *s, int tp, f32 max) {
  v128_t mv = wasm_f32x4_splat(max), sum = wasm_f32x4_splat(0);
  for (int j = 0; j < tp; j += 4) {
    v128_t e = exp4(wasm_f32x4_sub(wasm_v128_load(s + j), mv));
    wasm_v128_store(s + j, e);
    sum = wasm_f32x4_add(sum, e);
  }
  return hsum4(sum);
}

// Rows 0..rows−1 of o (stride d) ← (Σ_j s[r·tp + j] · v[j·d + c]) · inv_r for 8 columns c (two = 1) or 4
// (two = 0, a constant after inlining: no branch in the loop).
static inline __attribute__((always_inline)) void pv(const f32 *s, int tp, const f32 *v, int d, int seq, f32 *o, int rows,
                                                      f32 inv0, f32 inv1, f32 inv2, f32 inv3, const int two) {
  v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  for (int j = 0; j < seq; j++, v += d) {
    v128_t v0 = wasm_v128_load(v), v1 = two ? wasm_v128_load(v + 4) : v0;
    v128_t x = wasm_v128_load32_splat(s + j);
    FMA(a00, x, v0); if (two) FMA(a01, x, v1);
    x = wasm_v128_load32_splat(s + tp + j);
    FMA(a10, x, v0); if (two) FMA(a11, x, v1);
    x = wasm_v128_load32_splat(s + 2 * tp + j);
    FMA(a20, x, v0); if (two) FMA(a21, x, v1);
    x = wasm_v128_load32_splat(s + 3 * tp + j);
    FMA(a30, x, v0); if (two) FMA(a31, x, v1);
  }
#define OUT(r, a0, a1, inv)                                                       \
  if (r < rows) {                                                                 \
    wasm_v128_store(o + r * d, wasm_f32x4_mul(a0, wasm_f32x4_splat(inv)));        \
    if (two) wasm_v128_store(o + r * d + 4, wasm_f32x4_mul(a1, wasm_f32x4_splat(inv))); \
  }
  OUT(0, a00, a01, inv0) OUT(1, a10, a11, inv1) OUT(2, a20, a21, inv2) OUT(3, a30, a31, inv3)
#undef OUT
}

// One (b, h) pair over `seq` tokens: qb, kb, vb, ob point at the head's columns of the sequence's first row
// (row stride d); mask: its additive row of seq floats, or NULL for none (every key a token, the packed layout).
static inline __attribute__((always_inline)) void attend(const f32 *qb, const f32 *kb, const f32 *vb, const f32 *mask, f32 *ob,
                                                          f32 *scratch, int seq, int d, int hs, f32 scale) {
  const int tp = round_up(seq, KB);
  f32 *kt = scratch, *mrow = kt + hs * tp, *s = mrow + tp;
  for (int j = 0; j < tp; j++) {
    for (int c = 0; c < hs; c++) kt[c * tp + j] = j < seq ? kb[j * d + c] : 0.0f;
    mrow[j] = j < seq ? (mask ? mask[j] : 0.0f) : PAD;
  }
  for (int i0 = 0; i0 < seq; i0 += QB) {
    // A last block past T recomputes query T−1 in its spare rows and does not write them.
    const int r1 = i0 + 1 < seq ? i0 + 1 : seq - 1, r2 = i0 + 2 < seq ? i0 + 2 : seq - 1, r3 = i0 + 3 < seq ? i0 + 3 : seq - 1;
    f32 mx[QB];
    scores(qb + i0 * d, qb + r1 * d, qb + r2 * d, qb + r3 * d, kt, mrow, s, tp, hs, scale, mx);
    const f32 inv0 = 1.0f / softmax_numerators(s, tp, mx[0]);
    const f32 inv1 = 1.0f / softmax_numerators(s + tp, tp, mx[1]);
    const f32 inv2 = 1.0f / softmax_numerators(s + 2 * tp, tp, mx[2]);
    const f32 inv3 = 1.0f / softmax_numerators(s + 3 * tp, tp, mx[3]);
    const int rows = seq - i0 < QB ? seq - i0 : QB;
    // p·V, 8 columns at a time (then 4 when hs is not a multiple of 8), keys 0..T−1 only.
    int c0 = 0;
    for (; c0 + 8 <= hs; c0 += 8) pv(s, tp, vb + c0, d, seq, ob + i0 * d + c0, rows, inv0, inv1, inv2, inv3, 1);
    if (c0 < hs) pv(s, tp, vb + c0, d, seq, ob + i0 * d + c0, rows, inv0, inv1, inv2, inv3, 0);
  }
}

/**
 * Attention for the (b, h) pairs first … last−1 (pair p = b·heads + h), so that a caller may split the
 * pairs between threads (each with its own scratch). q, k, v, out: (batch·seq, heads·hs) row-major;
 * mask: (batch, seq) additive; hs a multiple of 4.
 */
__attribute__((export_name("attention"))) void attention(const f32 *q, const f32 *k, const f32 *v, const f32 *mask,
                                                         f32 *out, f32 *scratch, int seq, int heads, int hs,
                                                         f32 scale, int first, int last) {
  const int d = heads * hs;
  for (int p = first; p < last; p++) {
    const int b = p / heads, h = p % heads, at = b * seq * d + h * hs;
    attend(q + at, k + at, v + at, mask + b * seq, out + at, scratch, seq, d, hs, scale);
  }
}

/**
 * The same attention over sequences packed without padding: sequence b is rows starts[b] … starts[b+1]−1 of
 * q, k, v and out ((Σ lengths, heads·hs) row-major), every row a token (no mask). Pairs first … last−1 as in
 * attention(); the scratch sized for the longest sequence (maxSeq).
 */
__attribute__((export_name("attention_packed"))) void attention_packed(const f32 *q, const f32 *k, const f32 *v, const int *starts,
                                                                       f32 *out, f32 *scratch, int maxSeq, int heads, int hs,
                                                                       f32 scale, int first, int last) {
  const int d = heads * hs;
  (void)maxSeq;
  for (int p = first; p < last; p++) {
    const int b = p / heads, h = p % heads, seq = starts[b + 1] - starts[b], at = starts[b] * d + h * hs;
    if (seq > 0) attend(q + at, k + at, v + at, 0, out + at, scratch, seq, d, hs, scale);
  }
}
