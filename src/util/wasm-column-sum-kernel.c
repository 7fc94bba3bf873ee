// Σ over rows of a (rows, cols) matrix, for columns [c0, c1): a bias's gradient Σ_rows dy in one pass over
// tfjs-backend-wasm's memory (tfjs-wasm's Sum over axis 0 transposes the matrix first, then sums its rows).
// Each column is summed over the rows in order, whatever the column split, so helper threads that take column
// ranges give the one-thread result bit for bit. c0 a multiple of 4 (the split's alignment); any cols.
// Freestanding (no libc, no stack, no data segment), like wasm-attention-kernel.c; same build.
#include <wasm_simd128.h>

typedef float f32;

__attribute__((export_name("column_sum"))) void column_sum(const f32 *x, f32 *out, int rows, int cols, int c0, int c1) {
  const int c4 = c0 + ((c1 - c0) & ~3);
  for (int c = c0; c < c1; c++) out[c] = 0.0f;
  for (int r = 0; r < rows; r++) {
    const f32 *xr = x + (long)r * cols;
    for (int c = c0; c < c4; c += 4) wasm_v128_store(out + c, wasm_f32x4_add(wasm_v128_load(out + c), wasm_v128_load(xr + c)));
    for (int c = c4; c < c1; c++) out[c] += xr[c];
  }
}
