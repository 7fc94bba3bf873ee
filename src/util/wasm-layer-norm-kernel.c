// BERT's embedding sum and its residual + LayerNorm as single passes over tfjs-backend-wasm's memory
// (inference only), for rows [row0, row1) so that helper threads can take parts (wasm-helper-threads.ts):
//   embeddings:      out[r] = word[ids[r]] + pos[r mod T] + type[types[r]]   (the sum in that order, as tfjs adds)
//   add_layer_norm:  y = x[r] + res[r] (res 0: no residual);  out[r] = (y − mean(y)) / √(var(y) + eps) · γ + β
// with the biased variance of nn.LayerNorm, two passes over y (mean, then Σ(y − mean)²). d a multiple of 4.
// Freestanding (no libc, no stack, no data segment), like wasm-attention-kernel.c; same build.
#include <wasm_simd128.h>

typedef float f32;

static inline f32 lane_sum(v128_t v) {
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

__attribute__((export_name("embeddings"))) void embeddings(const f32 *word, const f32 *pos, const f32 *type, const int *ids,
                                                           const int *types, f32 *out, int T, int d, int row0, int row1) {
  for (int r = row0; r < row1; r++) {
    const f32 *w = word + ids[r] * d, *p = pos + (r % T) * d, *t = type + types[r] * d;
    f32 *o = out + r * d;
    for (int c = 0; c < d; c += 4) {
      v128_t s = wasm_f32x4_add(wasm_v128_load(w + c), wasm_v128_load(p + c));
      wasm_v128_store(o + c, wasm_f32x4_add(s, wasm_v128_load(t + c)));
    }
  }
}

__attribute__((export_name("add_layer_norm"))) void add_layer_norm(const f32 *x, const f32 *res, const f32 *gamma, const f32 *beta,
                                                                   f32 *out, int d, f32 eps, int row0, int row1) {
  const f32 inv_d = 1.0f / (f32)d;
  for (int r = row0; r < row1; r++) {
    const f32 *xr = x + r * d, *rr = res ? res + r * d : 0;
    f32 *o = out + r * d;
    // y = x + res into out, summed as it goes.
    v128_t sum = wasm_f32x4_splat(0.0f);
    for (int c = 0; c < d; c += 4) {
      v128_t y = wasm_v128_load(xr + c);
      if (rr) y = wasm_f32x4_add(y, wasm_v128_load(rr + c));
      wasm_v128_store(o + c, y);
      sum = wasm_f32x4_add(sum, y);
    }
    const v128_t mean = wasm_f32x4_splat(lane_sum(sum) * inv_d);
    v128_t sq = wasm_f32x4_splat(0.0f);
    for (int c = 0; c < d; c += 4) {
      v128_t e = wasm_f32x4_sub(wasm_v128_load(o + c), mean);
      sq = wasm_f32x4_add(sq, wasm_f32x4_mul(e, e));
    }
    const v128_t inv_std = wasm_f32x4_splat(1.0f / __builtin_sqrtf(lane_sum(sq) * inv_d + eps));
    for (int c = 0; c < d; c += 4) {
      v128_t e = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(o + c), mean), inv_std);
      wasm_v128_store(o + c, wasm_f32x4_add(wasm_f32x4_mul(e, wasm_v128_load(gamma + c)), wasm_v128_load(beta + c)));
    }
  }
}
