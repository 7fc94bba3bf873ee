// C = A·B (+ bias) in float32 with wasm SIMD, for tfjs-backend-wasm's heap (src/util/wasm-gemm-kernel.ts).
// B is first packed into panels of NR = 8 columns (K × 8 floats each, the last zero-padded), so the inner
// loop reads B contiguously; A is read in place through strides, or, transposed (its rows a column apart),
// packed first into blocks of MR = 6 rows (K × 6 floats each) so that its reads are contiguous too. The
// micro-kernel keeps a 6 × 8 block of C in 12 vector registers over a depth block of KC. Built twice per
// memory kind (scripts/build-wasm-kernels.sh): with wasm SIMD's mul + add, and with relaxed SIMD's
// f32x4.relaxed_madd (one fused multiply-add on x86 FMA and ARM), chosen at run time where it validates.
// No data section, no stack, no calls: everything lives in the caller's tensors and scratch.
#include <wasm_simd128.h>
#include "wasm-gelu.h"

#ifdef RELAXED
// clang 14 knows relaxed SIMD only by its 2021 draft (f32x4.fma, 0xfd 0xaf 0x01); the build script rewrites
// that opcode to the standard f32x4.relaxed_madd (0xfd 0x85 0x02, same length, a·b + c), so the operands go
// in the standard's order here.
#define MADD(a, b, c) ((v128_t)__builtin_wasm_fma_f32x4((__f32x4)(a), (__f32x4)(b), (__f32x4)(c)))
#else
#define MADD(a, b, c) wasm_f32x4_add(c, wasm_f32x4_mul(a, b))
#endif

#define MR 6
#define NR 8
#define KC 256
#define NC 128
// Internal bodies inline into every export that uses them: the module makes no calls (build-wasm-kernels.sh checks).
#define INLINE static inline __attribute__((always_inline))

INLINE int packed_b_floats(int K, int N) { return ((N + NR - 1) / NR) * NR * K; }
INLINE int packed_a_floats(int M, int K) { return ((M + MR - 1) / MR) * MR * K; }

/** Floats the packed B of a K × N product takes. */
__attribute__((export_name("gemm_packed_floats")))
int gemm_packed_floats(int K, int N) { return packed_b_floats(K, N); }

/** Packs B(k, n) = B[k·bk + n·bn] (K × N) into Bp: panel p holds columns 8p … 8p+7 for every k. */
INLINE void pack_b(const float* B, float* Bp, int K, int N, int bk, int bn) {
  for (int n0 = 0; n0 < N; n0 += NR) {
    float* dst = Bp + (long)n0 * K;
    int cols = N - n0 < NR ? N - n0 : NR;
    for (int k = 0; k < K; k++) {
      const float* src = B + (long)k * bk + (long)n0 * bn;
      int j = 0;
      if (bn == 1 && cols == NR) {
        wasm_v128_store(dst, wasm_v128_load(src));
        wasm_v128_store(dst + 4, wasm_v128_load(src + 4));
        j = NR;
      }
      for (; j < cols; j++) dst[j] = src[(long)j * bn];
      for (; j < NR; j++) dst[j] = 0.0f;
      dst += NR;
    }
  }
}

/** Floats the packed A of an M × K product takes. */
__attribute__((export_name("gemm_packed_a_floats")))
int gemm_packed_a_floats(int M, int K) { return packed_a_floats(M, K); }

/** Packs A(m, k) = A[m·am + k·ak] (M × K) into Ap: block b holds rows 6b … 6b+5 as K × 6 floats (zero rows past M). */
INLINE void pack_a(const float* A, float* Ap, int M, int K, int am, int ak) {
  for (int m0 = 0; m0 < M; m0 += MR) {
    float* dst = Ap + (long)m0 * K;
    const int rows = M - m0 < MR ? M - m0 : MR;
    for (int k = 0; k < K; k++) {
      const float* src = A + (long)m0 * am + (long)k * ak;
      int r = 0;
      for (; r < rows; r++) dst[r] = src[(long)r * am];
      for (; r < MR; r++) dst[r] = 0.0f;
      dst += MR;
    }
  }
}

/** Writes lanes [0, cols) of v0 ‖ v1 to c (cols < 8: the right edge of C). */
static inline void store_edge(float* c, v128_t v0, v128_t v1, int cols) {
  if (cols > 0) c[0] = wasm_f32x4_extract_lane(v0, 0);
  if (cols > 1) c[1] = wasm_f32x4_extract_lane(v0, 1);
  if (cols > 2) c[2] = wasm_f32x4_extract_lane(v0, 2);
  if (cols > 3) c[3] = wasm_f32x4_extract_lane(v0, 3);
  if (cols > 4) c[4] = wasm_f32x4_extract_lane(v1, 0);
  if (cols > 5) c[5] = wasm_f32x4_extract_lane(v1, 1);
  if (cols > 6) c[6] = wasm_f32x4_extract_lane(v1, 2);
}

/** Lanes [0, cols) of p ‖ p+4, zeros after (bias and C at the right edge: never read past column N). */
static inline void load_edge(const float* p, int cols, v128_t* v0, v128_t* v1) {
  if (cols == NR) {
    *v0 = wasm_v128_load(p);
    *v1 = wasm_v128_load(p + 4);
    return;
  }
  float x0 = cols > 0 ? p[0] : 0, x1 = cols > 1 ? p[1] : 0, x2 = cols > 2 ? p[2] : 0, x3 = cols > 3 ? p[3] : 0;
  float x4 = cols > 4 ? p[4] : 0, x5 = cols > 5 ? p[5] : 0, x6 = cols > 6 ? p[6] : 0;
  *v0 = wasm_f32x4_make(x0, x1, x2, x3);
  *v1 = wasm_f32x4_make(x4, x5, x6, 0);
}

/**
 * Row r of the block: its two accumulators plus what C already holds (a later depth block) or the bias, then
 * exact GELU when `gelu` (the last depth block only: wasm-gelu.h, the values of the GELU kernel).
 */
static inline void store_row(float* c, const float* bias, v128_t v0, v128_t v1, int cols, int accumulate, int gelu) {
  v128_t a0, a1;
  if (accumulate) {
    load_edge(c, cols, &a0, &a1);
    v0 = wasm_f32x4_add(v0, a0);
    v1 = wasm_f32x4_add(v1, a1);
  } else if (bias) {
    load_edge(bias, cols, &a0, &a1);
    v0 = wasm_f32x4_add(v0, a0);
    v1 = wasm_f32x4_add(v1, a1);
  }
  if (gelu) {
    v0 = gelu4(v0);
    v1 = gelu4(v1);
  }
  if (cols == NR) {
    wasm_v128_store(c, v0);
    wasm_v128_store(c + 4, v1);
  } else {
    store_edge(c, v0, v1, cols);
  }
}

/** C[rows × cols] (+)= A[rows × kc] · panel (kc × 8); A(r, k) = A[r·am + k·ak]. rows ≤ 6 (missing rows repeat row 0). */
static inline void kernel6x8(const float* A, int am, int ak, const float* panel, float* C, int ldc, const float* bias, int kc, int rows, int cols, int accumulate, int gelu) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  v128_t c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float* a0 = A;
  const float* a1 = A + (rows > 1 ? am : 0);
  const float* a2 = A + (rows > 2 ? 2 * am : 0);
  const float* a3 = A + (rows > 3 ? 3 * am : 0);
  const float* a4 = A + (rows > 4 ? 4 * am : 0);
  const float* a5 = A + (rows > 5 ? 5 * am : 0);
  for (int k = 0; k < kc; k++) {
    const v128_t b0 = wasm_v128_load(panel), b1 = wasm_v128_load(panel + 4);
    panel += NR;
    v128_t x;
    x = wasm_v128_load32_splat(a0); c00 = MADD(x, b0, c00); c01 = MADD(x, b1, c01);
    x = wasm_v128_load32_splat(a1); c10 = MADD(x, b0, c10); c11 = MADD(x, b1, c11);
    x = wasm_v128_load32_splat(a2); c20 = MADD(x, b0, c20); c21 = MADD(x, b1, c21);
    x = wasm_v128_load32_splat(a3); c30 = MADD(x, b0, c30); c31 = MADD(x, b1, c31);
    x = wasm_v128_load32_splat(a4); c40 = MADD(x, b0, c40); c41 = MADD(x, b1, c41);
    x = wasm_v128_load32_splat(a5); c50 = MADD(x, b0, c50); c51 = MADD(x, b1, c51);
    a0 += ak; a1 += ak; a2 += ak; a3 += ak; a4 += ak; a5 += ak;
  }
  store_row(C, bias, c00, c01, cols, accumulate, gelu);
  if (rows > 1) store_row(C + ldc, bias, c10, c11, cols, accumulate, gelu);
  if (rows > 2) store_row(C + 2 * ldc, bias, c20, c21, cols, accumulate, gelu);
  if (rows > 3) store_row(C + 3 * ldc, bias, c30, c31, cols, accumulate, gelu);
  if (rows > 4) store_row(C + 4 * ldc, bias, c40, c41, cols, accumulate, gelu);
  if (rows > 5) store_row(C + 5 * ldc, bias, c50, c51, cols, accumulate, gelu);
}

/**
 * Rows [row0, row1) of C (M × N, row-major) = A · B + bias, then GELU when `gelu`: A(m, k) = A[m·am + k·ak] (M × K), or, with
 * am = ak = 0, A packed by gemm_pack_a (row0 a multiple of 6); B packed by gemm_pack_b; bias N floats or 0.
 * Depth blocks of KC, column blocks of NC: a block of B stays in cache while every 6-row block of A passes.
 */
INLINE void gemm_rows(const float* A, int am, int ak, const float* Bp, float* C, const float* bias, int K, int N, int row0, int row1, int gelu) {
  const int packed = am == 0 && ak == 0;
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = K - k0 < KC ? K - k0 : KC;
    for (int n0 = 0; n0 < N; n0 += NC) {
      const int n1 = N - n0 < NC ? N : n0 + NC;
      for (int m = row0; m < row1; m += MR) {
        const int rows = row1 - m < MR ? row1 - m : MR;
        const float* a = packed ? A + (long)m * K + (long)k0 * MR : A + (long)m * am + (long)k0 * ak;
        const int sm = packed ? 1 : am, sk = packed ? MR : ak;
        for (int n = n0; n < n1; n += NR) {
          const int cols = n1 - n < NR ? n1 - n : NR;
          kernel6x8(a, sm, sk, Bp + (long)n * K + (long)k0 * NR, C + (long)m * N + n, N, bias ? bias + n : 0, kc, rows, cols, k0 > 0, gelu && k0 + kc == K);
        }
      }
    }
  }
}

__attribute__((export_name("gemm_pack_b")))
void gemm_pack_b(const float* B, float* Bp, int K, int N, int bk, int bn) { pack_b(B, Bp, K, N, bk, bn); }

__attribute__((export_name("gemm_pack_a")))
void gemm_pack_a(const float* A, float* Ap, int M, int K, int am, int ak) { pack_a(A, Ap, M, K, am, ak); }

__attribute__((export_name("gemm")))
void gemm(const float* A, int am, int ak, const float* Bp, float* C, const float* bias, int M, int K, int N, int row0, int row1, int gelu) {
  (void)M;
  gemm_rows(A, am, ak, Bp, C, bias, K, N, row0, row1, gelu);
}

/** Floats of scratch one thread of batch_gemm needs: a packed B, and a packed A when A is transposed. */
__attribute__((export_name("batch_gemm_scratch_floats")))
int batch_gemm_scratch_floats(int M, int K, int N, int ta) {
  return packed_b_floats(K, N) + (ta ? packed_a_floats(M, K) : 0);
}

/**
 * Slices [first, last) of C (S × M × N) = op(A) · op(B) per slice: A slice s is M × K, or K × M when ta; B slice
 * s is K × N, or N × K when tb. Each slice packs B (and a transposed A) into this thread's scratch
 * (batch_gemm_scratch_floats), then runs as gemm: slices, not rows, are what threads share.
 */
__attribute__((export_name("batch_gemm")))
void batch_gemm(const float* A, const float* B, float* C, int M, int K, int N, int ta, int tb, float* scratch, int first, int last) {
  float* Bp = scratch;
  float* Ap = scratch + packed_b_floats(K, N);
  for (int s = first; s < last; s++) {
    const float* As = A + (long)s * M * K;
    pack_b(B + (long)s * K * N, Bp, K, N, tb ? 1 : N, tb ? K : 1);
    if (ta) pack_a(As, Ap, M, K, 1, M);
    gemm_rows(ta ? Ap : As, ta ? 0 : K, ta ? 0 : 1, Bp, C + (long)s * M * N, 0, K, N, 0, M, 0);
  }
}
