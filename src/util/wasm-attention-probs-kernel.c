// BERT's attention probabilities in training, forward and backward, one pass per row of (B, heads, T, T)
// scores over tfjs-backend-wasm's memory, for rows [row0, row1) so that helper threads can take parts:
//   attention_probs:       p = softmax_j(s·scale + mask[b, j])            (b = row / (heads·T))
//   attention_probs_grad:  dp = dy · (y > 0) / keep (dy where y is 0: no dropout);
//                          ds = (dp ⊙ p − (Σ_j dp ⊙ p) · p) · scale     (PyTorch's softmax_backward_data)
// Composed from tfjs ops these are 4 kernels forward and 9 backward over the largest tensors of a training
// step. The dropout of p is wasm-dropout-kernel.c's pass (tf.dropout's masks). Any T (a scalar tail).
// Freestanding (no libc, no stack, no data segment), like wasm-attention-kernel.c; same build.
#include <wasm_simd128.h>
#include "wasm-simd-math.h"

typedef float f32;

static inline f32 exp1(f32 x) { return wasm_f32x4_extract_lane(exp4(wasm_f32x4_splat(x)), 0); }

__attribute__((export_name("attention_probs"))) void attention_probs(const f32 *s, const f32 *mask, f32 *p, int T, int rows_per_batch,
                                                                     f32 scale, int row0, int row1) {
  const int T4 = T & ~3;
  const v128_t sc = wasm_f32x4_splat(scale);
  for (int r = row0; r < row1; r++) {
    const f32 *sr = s + (long)r * T, *mr = mask + (r / rows_per_batch) * T;
    f32 *pr = p + (long)r * T;
    // z = s·scale + mask (the float32 product, then the sum, as tf.mul and tf.add), its maximum.
    v128_t mv = wasm_f32x4_splat(-3.0e38f);
    f32 mx = -3.0e38f;
    for (int j = 0; j < T4; j += 4) {
      v128_t z = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(sr + j), sc), wasm_v128_load(mr + j));
      wasm_v128_store(pr + j, z);
      mv = wasm_f32x4_pmax(mv, z);
    }
    for (int j = T4; j < T; j++) {
      pr[j] = sr[j] * scale + mr[j];
      if (pr[j] > mx) mx = pr[j];
    }
    const f32 m4 = hmax4(mv);
    if (m4 > mx) mx = m4;
    // e = exp(z − max), Σ e, then p = e / Σ.
    const v128_t mxv = wasm_f32x4_splat(mx);
    v128_t sv = wasm_f32x4_splat(0.0f);
    f32 sum = 0.0f;
    for (int j = 0; j < T4; j += 4) {
      v128_t e = exp4(wasm_f32x4_sub(wasm_v128_load(pr + j), mxv));
      wasm_v128_store(pr + j, e);
      sv = wasm_f32x4_add(sv, e);
    }
    for (int j = T4; j < T; j++) sum += (pr[j] = exp1(pr[j] - mx));
    sum += hsum4(sv);
    const f32 inv = 1.0f / sum;
    const v128_t iv = wasm_f32x4_splat(inv);
    for (int j = 0; j < T4; j += 4) wasm_v128_store(pr + j, wasm_f32x4_mul(wasm_v128_load(pr + j), iv));
    for (int j = T4; j < T; j++) pr[j] *= inv;
  }
}

__attribute__((export_name("attention_probs_grad"))) void attention_probs_grad(const f32 *dy, const f32 *p, const f32 *y, f32 *ds, int T,
                                                                               f32 keep, f32 scale, int row0, int row1) {
  const int T4 = T & ~3;
  const f32 inv_keep = y ? 1.0f / keep : 1.0f;
  const v128_t ik = wasm_f32x4_splat(inv_keep), zero = wasm_f32x4_splat(0.0f), sc = wasm_f32x4_splat(scale);
  for (int r = row0; r < row1; r++) {
    const long o = (long)r * T;
    const f32 *dyr = dy + o, *pr = p + o, *yr = y ? y + o : 0;
    f32 *dr = ds + o;
    // dp ⊙ p into ds, and its sum.
    v128_t acc = zero;
    f32 tail = 0.0f;
    for (int j = 0; j < T4; j += 4) {
      v128_t dp = wasm_v128_load(dyr + j);
      if (yr) dp = wasm_v128_and(wasm_f32x4_mul(dp, ik), wasm_f32x4_gt(wasm_v128_load(yr + j), zero));
      v128_t dpp = wasm_f32x4_mul(dp, wasm_v128_load(pr + j));
      wasm_v128_store(dr + j, dpp);
      acc = wasm_f32x4_add(acc, dpp);
    }
    for (int j = T4; j < T; j++) {
      const f32 dp = yr ? (yr[j] > 0.0f ? dyr[j] * inv_keep : 0.0f) : dyr[j];
      tail += (dr[j] = dp * pr[j]);
    }
    const f32 total = hsum4(acc) + tail;
    const v128_t tv = wasm_f32x4_splat(total);
    for (int j = 0; j < T4; j += 4) {
      v128_t g = wasm_f32x4_sub(wasm_v128_load(dr + j), wasm_f32x4_mul(tv, wasm_v128_load(pr + j)));
      wasm_v128_store(dr + j, wasm_f32x4_mul(g, sc));
    }
    for (int j = T4; j < T; j++) dr[j] = (dr[j] - total * pr[j]) * scale;
  }
}
