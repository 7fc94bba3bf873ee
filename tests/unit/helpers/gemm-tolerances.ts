// Tolerances of the compiled GEMM's tests (wasm-gemm, wasm-batch-gemm, wasm-helper-threads) against float32
// tf.matMul on cpu.

/**
 * |Δ|: sums of ≤ 300 products of values in [−1, 1] (|sum| ≲ 20) in another order, and fused multiply-adds
 * rounding once where cpu rounds twice: a few ulp of 20, with margin.
 */
export const GEMM_TOL = 2e-5;
/** Gradients: the same sums, through one more product. */
export const GRAD_TOL = 1e-4;
