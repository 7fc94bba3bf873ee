// Rows of a (rows, d) float32 matrix gathered into another, or zeros: out row i ← src row idx[i], zeros where
// idx[i] < 0. BertModel's inference without padding packs a batch's tokens and unpacks them with it
// (src/encoder/packing.ts): one copy of each row, where tfjs-wasm's GatherV2 walks element by element.
// Freestanding, as the other kernels (scripts/build-wasm-kernels.sh); d a multiple of 4.
#include <wasm_simd128.h>

typedef float f32;

__attribute__((export_name("gather_rows"))) void gather_rows(const f32 *src, const int *idx, f32 *out, int n, int d) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n; i++) {
    f32 *o = out + i * d;
    const int r = idx[i];
    if (r < 0) {
      for (int c = 0; c < d; c += 4) wasm_v128_store(o + c, zero);
    } else {
      const f32 *s = src + r * d;
      for (int c = 0; c < d; c += 4) wasm_v128_store(o + c, wasm_v128_load(s + c));
    }
  }
}
