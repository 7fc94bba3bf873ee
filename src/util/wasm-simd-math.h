// Float32 math on wasm SIMD128 lanes, shared by the compiled kernels (wasm-attention-kernel.c,
// wasm-gelu-kernel.c, wasm-attention-probs-kernel.c, wasm-layer-norm-kernel.c). Header only, static inline: each kernel inlines what it uses (no calls, no data).
#ifndef WASM_SIMD_MATH_H
#define WASM_SIMD_MATH_H
#include <wasm_simd128.h>

#define EXP_LO -87.0f // below: exp() = 0 (float32's normal range ends at e^-87.3)
#define EXP_HI 88.0f

// e^x for 4 lanes: Cephes' expf (range reduction by ln 2 in two parts, degree-5 polynomial, 2^n from
// the exponent bits), ~1 ulp on [EXP_LO, EXP_HI]; 0 below EXP_LO and for NaN.
static inline v128_t exp4(v128_t x) {
  v128_t keep = wasm_f32x4_ge(x, wasm_f32x4_splat(EXP_LO));
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, wasm_f32x4_splat(EXP_LO)), wasm_f32x4_splat(EXP_HI));
  v128_t fx = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(fx, wasm_f32x4_splat(0.693359375f)));
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(fx, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t y = wasm_f32x4_splat(1.9875691500e-4f);
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), wasm_f32x4_splat(1.3981999507e-3f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), wasm_f32x4_splat(8.3334519073e-3f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), wasm_f32x4_splat(4.1665795894e-2f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), wasm_f32x4_splat(1.6666665459e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), wasm_f32x4_splat(5.0000001201e-1f));
  y = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(y, x), x), x), wasm_f32x4_splat(1.0f));
  v128_t pow2n = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(fx), wasm_i32x4_splat(127)), 23);
  return wasm_v128_and(wasm_f32x4_mul(y, pow2n), keep);
}

// Horizontal maximum and sum of 4 lanes (pairwise: lanes 0+2 and 1+3, then the two).
static inline float hmax4(v128_t v) {
  v = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

static inline float hsum4(v128_t v) {
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

#endif
