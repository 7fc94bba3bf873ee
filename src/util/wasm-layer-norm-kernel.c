// BERT's embedding sum and its residual + LayerNorm as single passes over tfjs-backend-wasm's memory
// (the first two inference only), for rows [row0, row1) so that helper threads can take parts (wasm-helper-threads.ts):
//   embeddings:      out[r] = word[ids[r]] + pos[r mod T] + type[types[r]]   (the sum in that order, as tfjs adds)
//   add_layer_norm:  y = x[r] + res[r] (res 0: no residual);  out[r] = (y − mean(y)) / √(var(y) + eps) · γ + β
// with the biased variance of nn.LayerNorm, two passes over y (mean, then Σ(y − mean)²). d a multiple of 4.
// layer_norm_train and layer_norm_grad(_reduce): the same LayerNorm with its gradient (wasm-layer-norm-grad-kernel.ts).
// Freestanding (no libc, no stack, no data segment), like wasm-attention-kernel.c; same build.
#include <wasm_simd128.h>
#include "wasm-simd-math.h"

typedef float f32;

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

// One row: y = x + res (res 0: none) into h, then h = (y − mean)·rstd and o = h·γ + β; returns rstd. Inference
// passes h = o (only the output stays); training keeps h as xhat for the backward. The same arithmetic either way.
static inline __attribute__((always_inline)) f32 layer_norm_row(const f32 *xr, const f32 *rr, const f32 *gamma, const f32 *beta, f32 *o, f32 *h,
                                                                int d, f32 inv_d, f32 eps) {
  v128_t sum = wasm_f32x4_splat(0.0f);
  for (int c = 0; c < d; c += 4) {
    v128_t y = wasm_v128_load(xr + c);
    if (rr) y = wasm_f32x4_add(y, wasm_v128_load(rr + c));
    wasm_v128_store(h + c, y);
    sum = wasm_f32x4_add(sum, y);
  }
  const v128_t mean = wasm_f32x4_splat(hsum4(sum) * inv_d);
  v128_t sq = wasm_f32x4_splat(0.0f);
  for (int c = 0; c < d; c += 4) {
    v128_t e = wasm_f32x4_sub(wasm_v128_load(h + c), mean);
    sq = wasm_f32x4_add(sq, wasm_f32x4_mul(e, e));
  }
  const f32 rstd = 1.0f / __builtin_sqrtf(hsum4(sq) * inv_d + eps);
  const v128_t inv_std = wasm_f32x4_splat(rstd);
  for (int c = 0; c < d; c += 4) {
    v128_t e = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(h + c), mean), inv_std);
    wasm_v128_store(h + c, e);
    wasm_v128_store(o + c, wasm_f32x4_add(wasm_f32x4_mul(e, wasm_v128_load(gamma + c)), wasm_v128_load(beta + c)));
  }
  return rstd;
}

__attribute__((export_name("add_layer_norm"))) void add_layer_norm(const f32 *x, const f32 *res, const f32 *gamma, const f32 *beta,
                                                                   f32 *out, int d, f32 eps, int row0, int row1) {
  const f32 inv_d = 1.0f / (f32)d;
  for (int r = row0; r < row1; r++) layer_norm_row(x + r * d, res ? res + r * d : 0, gamma, beta, out + r * d, out + r * d, d, inv_d, eps);
}

// Training: the same forward (out bit for bit as add_layer_norm) that also keeps, for the backward,
// xhat = (y − mean)·rstd (N, d) and rstd = 1/√(var + eps) (N).
__attribute__((export_name("layer_norm_train"))) void layer_norm_train(const f32 *x, const f32 *res, const f32 *gamma, const f32 *beta, f32 *out,
                                                                       f32 *xhat, f32 *rstd, int d, f32 eps, int row0, int row1) {
  const f32 inv_d = 1.0f / (f32)d;
  for (int r = row0; r < row1; r++) rstd[r] = layer_norm_row(x + r * d, res ? res + r * d : 0, gamma, beta, out + r * d, xhat + r * d, d, inv_d, eps);
}

// Backward, rows [row0, row1) with row0 a multiple of `block`: g = dy·γ, dx = rstd·(g − mean(g) − xhat·mean(g·xhat)).
// Column sums Σ dy·xhat (dγ) and Σ dy (dβ) go per block of `block` rows into partials[r / block] = (dγ, dβ) (2, d):
// a grid fixed by the row count, not by the thread split, so layer_norm_grad_reduce's sum is the same for any split.
__attribute__((export_name("layer_norm_grad"))) void layer_norm_grad(const f32 *dy, const f32 *xhat, const f32 *rstd, const f32 *gamma, f32 *dx,
                                                                     f32 *partials, int d, int block, int row0, int row1) {
  const f32 inv_d = 1.0f / (f32)d;
  for (int r = row0; r < row1; r++) {
    const f32 *dr = dy + r * d, *h = xhat + r * d;
    f32 *o = dx + r * d, *pg = partials + (r / block) * 2 * d, *pb = pg + d;
    // A block's first row overwrites its slot (and-ing with 0 clears whatever the scratch held, NaN included).
    const v128_t keep = wasm_i32x4_splat(r % block == 0 ? 0 : -1);
    v128_t sg = wasm_f32x4_splat(0.0f), sgh = wasm_f32x4_splat(0.0f);
    for (int c = 0; c < d; c += 4) {
      v128_t dv = wasm_v128_load(dr + c), hv = wasm_v128_load(h + c);
      v128_t g = wasm_f32x4_mul(dv, wasm_v128_load(gamma + c));
      sg = wasm_f32x4_add(sg, g);
      sgh = wasm_f32x4_add(sgh, wasm_f32x4_mul(g, hv));
      wasm_v128_store(pg + c, wasm_f32x4_add(wasm_v128_and(wasm_v128_load(pg + c), keep), wasm_f32x4_mul(dv, hv)));
      wasm_v128_store(pb + c, wasm_f32x4_add(wasm_v128_and(wasm_v128_load(pb + c), keep), dv));
    }
    const v128_t mg = wasm_f32x4_splat(hsum4(sg) * inv_d), mgh = wasm_f32x4_splat(hsum4(sgh) * inv_d);
    const v128_t s = wasm_f32x4_splat(rstd[r]);
    for (int c = 0; c < d; c += 4) {
      v128_t g = wasm_f32x4_mul(wasm_v128_load(dr + c), wasm_v128_load(gamma + c));
      v128_t t = wasm_f32x4_sub(wasm_f32x4_sub(g, mg), wasm_f32x4_mul(wasm_v128_load(h + c), mgh));
      wasm_v128_store(o + c, wasm_f32x4_mul(t, s));
    }
  }
}

// dγ = Σ_b partials[b][0], dβ = Σ_b partials[b][1], the blocks in order (one thread: the grid is small).
__attribute__((export_name("layer_norm_grad_reduce"))) void layer_norm_grad_reduce(const f32 *partials, int blocks, int d, f32 *dgamma, f32 *dbeta) {
  for (int c = 0; c < d; c += 4) {
    v128_t g = wasm_f32x4_splat(0.0f), b = wasm_f32x4_splat(0.0f);
    for (int k = 0; k < blocks; k++) {
      g = wasm_f32x4_add(g, wasm_v128_load(partials + k * 2 * d + c));
      b = wasm_f32x4_add(b, wasm_v128_load(partials + k * 2 * d + d + c));
    }
    wasm_v128_store(dgamma + c, g);
    wasm_v128_store(dbeta + c, b);
  }
}
