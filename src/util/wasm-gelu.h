// Exact GELU and its derivative on 4 float32 lanes (the math of wasm-gelu-kernel.c, whose header comment has the
// derivation and accuracy): header only, static inline, so that the GELU kernel and the GEMM's GELU epilogue
// (wasm-gemm-kernel.c) compute exactly the same values.
#ifndef WASM_GELU_H
#define WASM_GELU_H
#include <wasm_simd128.h>
#include "wasm-simd-math.h"

#define Z0 0.9f // below: the polynomial piece
#define Z1 9.5f // R's fitted range ends here (clamped: e^(−z²) is 0 beyond)
#define INV_SQRT_2PI 0.398942280401432678f

#define ADD wasm_f32x4_add
#define MUL wasm_f32x4_mul
#define SPLAT wasm_f32x4_splat
#define HORNER(acc, s, c) acc = ADD(MUL(acc, s), SPLAT(c))

// Φ(x) for 4 lanes, given e = e^(−x²/2).
static inline v128_t cdf4(v128_t x, v128_t e) {
  v128_t z = MUL(x, SPLAT(0.707106781186547524f)), az = wasm_f32x4_abs(z);
  v128_t t = MUL(z, z), p = SPLAT(-0.0005938382324517667f);
  HORNER(p, t, 0.004977800025563268f);
  HORNER(p, t, -0.02675091827068407f);
  HORNER(p, t, 0.1128113405050968f);
  HORNER(p, t, -0.3761237470417488f);
  HORNER(p, t, 1.1283790918728696f);
  v128_t inner = ADD(SPLAT(0.5f), MUL(MUL(z, SPLAT(0.5f)), p));
  // pmin keeps a NaN first operand: NaN flows through R and e into Φ.
  v128_t s = wasm_f32x4_sub(wasm_f32x4_pmin(az, SPLAT(Z1)), SPLAT(Z0));
  v128_t rp = SPLAT(0.02459271313224435f), rq = SPLAT(0.04359073581334158f);
  HORNER(rp, s, 0.16791867631946028f);
  HORNER(rp, s, 0.4422899517979463f);
  HORNER(rp, s, 0.4565316486454436f);
  HORNER(rq, s, 0.3368216353349852f);
  HORNER(rq, s, 1.0740635541922223f);
  HORNER(rq, s, 1.6404381747802597f);
  HORNER(rq, s, 1.0f);
  v128_t h = MUL(MUL(e, SPLAT(0.5f)), wasm_f32x4_div(rp, rq));
  v128_t outer = wasm_v128_bitselect(h, wasm_f32x4_sub(SPLAT(1.0f), h), wasm_f32x4_lt(x, SPLAT(0.0f)));
  return wasm_v128_bitselect(inner, outer, wasm_f32x4_lt(az, SPLAT(Z0)));
}

// e^(−x²/2): x·x rounded once, halved exactly.
static inline v128_t half_gauss4(v128_t x) { return exp4(MUL(MUL(x, x), SPLAT(-0.5f))); }

static inline v128_t gelu4(v128_t x) { return MUL(x, cdf4(x, half_gauss4(x))); }

static inline v128_t gelu_grad4(v128_t x, v128_t dy) {
  v128_t e = half_gauss4(x);
  return MUL(dy, ADD(cdf4(x, e), MUL(x, MUL(e, SPLAT(INV_SQRT_2PI)))));
}

#undef ADD
#undef MUL
#undef SPLAT
#undef HORNER
#endif
