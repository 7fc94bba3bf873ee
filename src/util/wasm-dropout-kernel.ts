// Dropout on tfjs-backend-wasm with tf.dropout's exact masks, faster: tf.dropout(x, rate, _, seed) is
// x · floor(u + keep) / keep with u = tf.randomUniform(shape, 0, 1, 'float32', seed), whose draws come one by one
// from seedrandom's Alea in JavaScript (~50 ms of the ~80 ms per (8, 12, 256, 256) attention dropout of a MiniLM
// training step). Here the multiplier is one compiled pass (src/util/wasm-dropout-kernel.c, kernel
// WASM_DROPOUT_MULTIPLIER) running the same generator from the state seedrandom's own Mash gives the seed, so
// masks, values and gradients are tf.dropout's bit for bit (tests/unit/wasm-dropout.test.ts) and a seeded
// training step stays the same on every backend. Elsewhere, or with the kernels off, tf.dropout itself.
import * as tf from '@tensorflow/tfjs-core';
import * as seedrandomModule from 'seedrandom';
import { registerKernelOnce } from './register-kernel-once.ts';
import { wasmKernelsAvailable, wasmKernelsOf } from './wasm-kernel-module.ts';
import { wasmKernelSwitches } from './wasm-kernel-internals.ts';

export const WASM_DROPOUT_MULTIPLIER = 'ExpandrWasmDropoutMultiplier';

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

function dropoutMultiplierKernel({ backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const { shape, keep, seed } = attrs as { shape: number[]; keep: number; seed: string };
  const { be, mod, kernels, at } = wasmKernelsOf(backend);
  const out = be.makeOutput(shape, 'float32');
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return out;
  // tfjs' UniformRandom: seedrandom.alea(String(seed)); its state after seeding is where the kernel starts.
  const s = alea(seed, { state: true }).state();
  const state = mod._malloc(32);
  try {
    new Float64Array(be.wasm.HEAPF32.buffer, state, 4).set([s.s0, s.s1, s.s2, s.c]);
    kernels.dropout_multiplier(at(out), n, state, keep);
  } finally {
    mod._free(state);
  }
  return out;
}

/** Registers WASM_DROPOUT_MULTIPLIER for the wasm backend (idempotent). */
export function registerWasmDropout(): void {
  registerKernelOnce(WASM_DROPOUT_MULTIPLIER, 'wasm', dropoutMultiplierKernel);
}

/** tf.dropout's multiplier for `shape`, rate and seed: floor(u + keep) / keep in float32 (0 or 1/keep). Wasm only. */
export function wasmDropoutMultiplier(shape: number[], rate: number, seed: number | string): tf.Tensor {
  registerWasmDropout();
  // tf.dropout adds and divides by keep as a float32 scalar tensor.
  const attrs = { shape, keep: Math.fround(1 - rate), seed: String(seed) };
  return tf.engine().runKernel(WASM_DROPOUT_MULTIPLIER, {}, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** tf.dropout(x, rate, undefined, seed), bit for bit; on wasm with the compiled multiplier. Differentiable (through the product). */
export function seededDropout<T extends tf.Tensor>(x: T, rate: number, seed: number): T {
  if (rate === 0 || !wasmKernelSwitches.dropout || tf.getBackend() !== 'wasm' || x.dtype !== 'float32' || !wasmKernelsAvailable()) {
    return tf.dropout(x, rate, undefined, seed) as T;
  }
  if (!(rate > 0 && rate < 1)) throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`);
  return tf.tidy(() => tf.mul(x, wasmDropoutMultiplier(x.shape, rate, seed))) as T;
}
