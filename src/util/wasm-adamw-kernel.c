// One AdamW update (src/train/optimizer.ts, torch.optim.AdamW) over a float32 variable in tfjs-backend-wasm's
// memory, in one pass: for each element
//   decayed = p·decay                          (skipped when decay is 1: weight decay 0)
//   m ← m·b1 + g·c1;  v ← v·b2 + (g·g)·c2;  denom = √v / bc2Sqrt + eps
//   out = decayed − (m / denom)·stepSize
// every operation in float32, in the order of AdamW.hostStep's JavaScript loop (and of the tensor path's tfjs
// kernels). Float32 +, −, ×, ÷ and √ are correctly rounded in wasm (scalar and SIMD alike, no fused multiply-add
// here), and so is JavaScript's double arithmetic followed by Math.fround for them (double has more than
// 2·24 + 2 bits), so the result equals the JavaScript loop's bit for bit. m and v are updated in place; the new
// parameter goes to `out`. Freestanding (no libc, no stack, no data segment), like wasm-gelu-kernel.c; same build.
#include <wasm_simd128.h>

typedef float f32;

/** The constants of one step, splatted. */
typedef struct {
  v128_t decay, b1, c1, b2, c2, bc2_sqrt, eps, step_size;
} Consts;

/** One group of 4 lanes; the new m and v through *m4 and *v4, the new parameter returned. */
static inline __attribute__((always_inline)) v128_t adamw4(v128_t p, v128_t g, v128_t *m4, v128_t *v4, const Consts *k, int decay_on) {
  v128_t decayed = decay_on ? wasm_f32x4_mul(p, k->decay) : p;
  v128_t m = wasm_f32x4_add(wasm_f32x4_mul(*m4, k->b1), wasm_f32x4_mul(g, k->c1));
  v128_t v = wasm_f32x4_add(wasm_f32x4_mul(*v4, k->b2), wasm_f32x4_mul(wasm_f32x4_mul(g, g), k->c2));
  v128_t denom = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_sqrt(v), k->bc2_sqrt), k->eps);
  *m4 = m;
  *v4 = v;
  return wasm_f32x4_sub(decayed, wasm_f32x4_mul(wasm_f32x4_div(m, denom), k->step_size));
}

static inline __attribute__((always_inline)) void adamw_range(const f32 *p, const f32 *g, f32 *m, f32 *v, f32 *out, int n, const Consts *k, int decay_on) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t m4 = wasm_v128_load(m + i);
    v128_t v4 = wasm_v128_load(v + i);
    v128_t o = adamw4(wasm_v128_load(p + i), wasm_v128_load(g + i), &m4, &v4, k, decay_on);
    wasm_v128_store(m + i, m4);
    wasm_v128_store(v + i, v4);
    wasm_v128_store(out + i, o);
  }
  for (; i < n; i++) {
    v128_t m4 = wasm_f32x4_splat(m[i]);
    v128_t v4 = wasm_f32x4_splat(v[i]);
    v128_t o = adamw4(wasm_f32x4_splat(p[i]), wasm_f32x4_splat(g[i]), &m4, &v4, k, decay_on);
    m[i] = wasm_f32x4_extract_lane(m4, 0);
    v[i] = wasm_f32x4_extract_lane(v4, 0);
    out[i] = wasm_f32x4_extract_lane(o, 0);
  }
}

/**
 * Elements [0, n) of p, g, m, v, out (the caller offsets them to its part): m, v updated in place, out[i] the
 * updated p[i]. out must not overlap m or v; it may be p.
 */
__attribute__((export_name("adamw"))) void adamw(const f32 *p, const f32 *g, f32 *m, f32 *v, f32 *out, int n, f32 decay, f32 b1, f32 c1, f32 b2, f32 c2, f32 bc2_sqrt, f32 eps, f32 step_size) {
  const Consts k = {
      wasm_f32x4_splat(decay), wasm_f32x4_splat(b1), wasm_f32x4_splat(c1), wasm_f32x4_splat(b2),
      wasm_f32x4_splat(c2), wasm_f32x4_splat(bc2_sqrt), wasm_f32x4_splat(eps), wasm_f32x4_splat(step_size),
  };
  if (decay != 1.0f) adamw_range(p, g, m, v, out, n, &k, 1);
  else adamw_range(p, g, m, v, out, n, &k, 0);
}
