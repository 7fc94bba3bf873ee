// Exact GELU and its derivative, one pass over a float32 tensor in tfjs-backend-wasm's memory:
//   gelu(x) = x·Φ(x),  gelu'(x) = Φ(x) + x·φ(x),  Φ(x) = (1 + erf(x/√2))/2,  φ(x) = e^(−x²/2)/√(2π)
// (transformers' BertModel "gelu": torch.nn.functional.gelu, approximate='none').
// Φ in two pieces, by z = |x|/√2, both evaluated for every lane and selected (no branches):
//   z < Z0:  Φ = 1/2 + (z_signed/2)·P(z²), P a degree-5 polynomial in z² (erf(z)/z, odd erf to degree 11)
//   z ≥ Z0:  h = erfc(z)/2 = e^(−x²/2)·R(z − Z0)/2, R a [3/4] rational fit of erfc(z)·e^(z²)
//            Φ = h for x < 0 (no cancellation: Φ(−8) keeps its relative accuracy), 1 − h for x > 0.
// Coefficients: weighted least-squares fits iterated to minimax (Lawson) in float64 against erf/erfc by
// series and continued fraction: |erf − z·P| ≤ 5.2e-9 on [0, 0.9], |R − erfc·e^(z²)| ≤ 2.7e-9 on [0.9, 9.5].
// Evaluated in float32 (no FMA in SIMD128): |Φ − Φ_exact| ≤ 7.5e-8 over all x, relative ≤ 4.2e-6 for x < 0
// down to Φ ~ 1e-37 (the rounding of x² in e^(−x²/2)); tests/unit/encoder-wasm-gelu.test.ts measures it.
// Past z = 9.5 (x ≈ 13.4) e^(−x²/2) is 0 in float32 (exp4 flushes below e^−87): Φ is exactly 0 or 1.
// NaN stays NaN; −0 gives −0, as x·0.5·(1 + erf(x/√2)) does.
// Freestanding (no libc, no stack, no data segment), like wasm-attention-kernel.c; same build.
#include <wasm_simd128.h>
#include "wasm-simd-math.h"

typedef float f32;

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

/** y[i] = gelu(x[i]) for i < n; y may be x. */
__attribute__((export_name("gelu"))) void gelu(const f32 *x, f32 *y, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, gelu4(wasm_v128_load(x + i)));
  for (; i < n; i++) y[i] = wasm_f32x4_extract_lane(gelu4(wasm_f32x4_splat(x[i])), 0);
}

/** dx[i] = dy[i]·gelu'(x[i]) for i < n; dx may be x or dy. */
__attribute__((export_name("gelu_grad"))) void gelu_grad(const f32 *x, const f32 *dy, f32 *dx, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dx + i, gelu_grad4(wasm_v128_load(x + i), wasm_v128_load(dy + i)));
  for (; i < n; i++) dx[i] = wasm_f32x4_extract_lane(gelu_grad4(wasm_f32x4_splat(x[i]), wasm_f32x4_splat(dy[i])), 0);
}
