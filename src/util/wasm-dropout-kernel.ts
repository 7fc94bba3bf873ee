// Dropout on tfjs-backend-wasm with tf.dropout's exact masks, faster: tf.dropout(x, rate, _, seed) is
// x · floor(u + keep) / keep with u = tf.randomUniform(shape, 0, 1, 'float32', seed), whose draws come one by one
// from seedrandom's Alea in JavaScript (~50 ms of the ~80 ms per (8, 12, 256, 256) attention dropout of a MiniLM
// training step). Here the multiplier, or x times it, is one compiled pass (src/util/wasm-dropout-kernel.c, kernel
// WASM_DROPOUT) running the same generator from the state seedrandom's own Mash gives the seed, in lanes and
// helper threads that each start where the stream reaches their part (aleaJump), so
// masks, values and gradients are tf.dropout's bit for bit (tests/unit/wasm-dropout.test.ts) and a seeded
// training step stays the same on every backend. Elsewhere, or with the kernels off, tf.dropout itself.
import * as tf from '@tensorflow/tfjs-core';
import * as seedrandomModule from 'seedrandom';
import { registerKernelOnce } from './register-kernel-once.ts';
import { withHeapScratch, wasmKernelsAvailable, wasmKernelsOf } from './wasm-kernel-module.ts';
import { wasmKernelSwitches } from './wasm-kernel-internals.ts';
import { kernelThreads, runParts, splitRange } from './wasm-helper-threads.ts';

export const WASM_DROPOUT = 'ExpandrWasmDropout';

// CommonJS: its exports are the namespace's own (bundlers) or its default (Node's ESM loader).
type Alea = (seed: string, options: { state: true }) => { state(): AleaState };
const seedrandom = seedrandomModule as unknown as { alea?: Alea; default?: { alea: Alea } };
const alea: Alea = seedrandom.alea ?? seedrandom.default!.alea;

interface AleaState {
  s0: number;
  s1: number;
  s2: number;
  c: number;
}

/** Alea as the multiply-with-carry generator it is: x_{n+1} = (a·x_{n−2} + c) mod 2^32, carry c; a = 2091639. */
const ALEA_A = 2091639n;
const B32 = 1n << 32n;
/**
 * Such a lag-3 generator is an LCG in disguise (Couture & L'Ecuyer): W = c·b³ + x_n·b² + x_{n−1}·b + x_{n−2} with
 * b = 2^32 steps as W ← W·b⁻¹ mod M, M = a·b³ − 1 (b·W' − W = M·x_{n−2} exactly), and b⁻¹ = a·b² mod M. So the state
 * k draws ahead is W·(a·b²)^k mod M: what lets lanes and helper threads draw their parts of one stream at once.
 */
const ALEA_M = ALEA_A * B32 ** 3n - 1n;
const ALEA_B_INVERSE = (ALEA_A * B32 * B32) % ALEA_M;

function powMod(x: bigint, e: number): bigint {
  let r = 1n;
  let k = BigInt(e);
  for (let y = x % ALEA_M; k > 0n; k >>= 1n, y = (y * y) % ALEA_M) if (k & 1n) r = (r * y) % ALEA_M;
  return r;
}

/** The state `ahead` draws after `s` (s0, s1, s2 are multiples of 2^-32 below 1, c an integer carry). */
export function aleaJump(s: AleaState, ahead: number): AleaState {
  const x = (v: number) => BigInt(v * 2 ** 32);
  const w = (((BigInt(s.c) * B32 + x(s.s2)) * B32 + x(s.s1)) * B32 + x(s.s0)) % ALEA_M;
  const j = (w * powMod(ALEA_B_INVERSE, ahead)) % ALEA_M;
  const digit = (i: bigint) => Number((j / B32 ** i) % B32) / 2 ** 32;
  return { s0: digit(0n), s1: digit(1n), s2: digit(2n), c: Number(j / B32 ** 3n) };
}

/** The compiled pass's lanes per call (wasm-dropout-kernel.c LANES). */
const LANES = 4;
/** Below this many elements a hand-over to a helper thread costs more than it gains. */
export const DROPOUT_SPLIT_MIN = 1 << 16;
/** Bit of dropout_lanes()'s `keep` argument, its one f32 (runParts' floats). */
const KEEP_ARG_BIT = 1 << 4;

function dropoutKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const { shape, keep, seed } = attrs as { shape: number[]; keep: number; seed: string };
  const { x } = inputs as { x?: tf.TensorInfo };
  if (x && (x.dtype !== 'float32' || x.shape.join() !== shape.join())) throw new Error(`${WASM_DROPOUT}: expects float32 x of shape [${shape}], got ${x.dtype} [${x.shape}]`);
  const { be, mod, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput(shape, 'float32');
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return out;
  // tfjs' UniformRandom: seedrandom.alea(String(seed)); its state after seeding is where the stream starts.
  const start = alea(seed, { state: true }).state();
  const parts = splitRange(n, n < DROPOUT_SPLIT_MIN ? 1 : kernelThreads(), LANES);
  withHeapScratch(mod, parts.length * LANES * 32, (states) => {
    const heap = new Float64Array(be.wasm.HEAPF32.buffer, states, parts.length * LANES * 4);
    parts.forEach(([first, last], p) => {
      const q = Math.floor((last - first) / LANES);
      for (let l = 0; l < LANES; l++) {
        const s = aleaJump(start, first + l * q);
        heap.set([s.s0, s.s1, s.s2, s.c], (p * LANES + l) * 4);
      }
    });
    const args = parts.map(([first, last], p) => [x ? at(x) + 4 * first : 0, at(out) + 4 * first, last - first, states + p * LANES * 32, keep]);
    runParts(kernels, 'dropout_lanes', args, KEEP_ARG_BIT);
  });
  return out;
}

/** Registers WASM_DROPOUT for the wasm backend (idempotent). */
export function registerWasmDropout(): void {
  registerKernelOnce(WASM_DROPOUT, 'wasm', dropoutKernel);
}

// tf.dropout adds and divides by keep as a float32 scalar tensor.
const dropoutAttrs = (shape: number[], rate: number, seed: number | string) => ({ shape, keep: Math.fround(1 - rate), seed: String(seed) }) as unknown as tf.NamedAttrMap;

/** tf.dropout's multiplier for `shape`, rate and seed: floor(u + keep) / keep in float32 (0 or 1/keep). Wasm only. */
export function wasmDropoutMultiplier(shape: number[], rate: number, seed: number | string): tf.Tensor {
  registerWasmDropout();
  return tf.engine().runKernel(WASM_DROPOUT, {}, dropoutAttrs(shape, rate, seed)) as tf.Tensor;
}

/** x times tf.dropout's multiplier in one pass (tf.dropout's values bit for bit), no gradient. Wasm only, float32. */
export function wasmDropoutValues<T extends tf.Tensor>(x: T, rate: number, seed: number | string): T {
  registerWasmDropout();
  return tf.engine().runKernel(WASM_DROPOUT, { x } as unknown as tf.NamedTensorMap, dropoutAttrs(x.shape, rate, seed)) as T;
}

/**
 * tf.dropout(x, rate, undefined, seed), bit for bit; on wasm one compiled pass forward and one backward (dy times the
 * same multiplier, drawn again: cheaper than keeping it), which is the product's gradient tf.dropout has.
 */
export function seededDropout<T extends tf.Tensor>(x: T, rate: number, seed: number): T {
  if (rate === 0 || !wasmKernelSwitches.dropout || x.dtype !== 'float32' || !wasmKernelsAvailable()) {
    return tf.dropout(x, rate, undefined, seed) as T;
  }
  if (!(rate > 0 && rate < 1)) throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: wasmDropoutValues(args[0] as T, rate, seed),
    gradFunc: (dy: tf.Tensor) => wasmDropoutValues(dy, rate, seed),
  }));
  return op(x) as T;
}
