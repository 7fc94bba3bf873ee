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
#include "wasm-gelu.h"

typedef float f32;

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
