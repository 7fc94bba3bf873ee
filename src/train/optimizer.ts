// AdamW with decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay
// Regularization"), step for step as torch.optim.AdamW (torch 1.13 _single_tensor_adamw):
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
// Scalars are computed in float64 as Python does, tensors in float32. A variable whose gradient is
// missing (not on the loss path, e.g. BERT's pooler under mean pooling) is skipped entirely, as torch
// skips parameters with grad None. Plus gradient accumulation and torch's clip_grad_norm_.
// Moments live as tensors on the backend, updated by tfjs ops; or — on wasm, the host path — each variable's
// update is one compiled pass (src/util/wasm-adamw-kernel.ts) that reads p, g and the moments (float32 tensors
// in the heap, updated in place) once. A model whose moments would take more than HEAP_MOMENTS_MAX_FLOATS of the
// heap (BERT-base: 836 MB, which its activations need; MiniLM: 182 MB stays) keeps them as host Float32Arrays, and
// each variable's pair is copied into the heap for its compiled pass and back: the heap holds at most the largest
// variable's moments. Where the kernel does not run (wasmKernelSwitches.adamw off, kernels not started) the host
// arrays are updated in a JavaScript loop, ~10 × the compiled pass's time (bench/wasm-adamw.bench.ts). Every host
// form rounds each operation to float32 as the tensor path's kernels do, and they equal each other and the
// tensor path on cpu bit for bit (tests/unit/wasm-adamw.test.ts).
import * as tf from '@tensorflow/tfjs-core';
import { wasmAdamW, wasmAdamWHostMoments, wasmAdamWUsable, type AdamWStepConstants } from '../util/wasm-adamw-kernel.ts';
import { disposeMoment, momentArray, momentCopy, momentTensor, type HostMoment } from './host-moments.ts';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay λ (multiplied by the current lr). */
  weightDecay: number;
}

export const ADAMW_DEFAULTS: Readonly<AdamWConfig> = Object.freeze({
  beta1: 0.9, // torch / HF default
  beta2: 0.999, // torch / HF default
  eps: 1e-8, // torch / HF default
  weightDecay: 0, // HF TrainingArguments default, which the reference code keeps
});

/** Optimizer state as plain arrays (checkpointable, structured-cloneable). null: never updated. */
export interface AdamWState {
  /** Updates applied per variable (torch keeps a step per parameter). */
  steps: number[];
  m: (Float32Array | null)[];
  v: (Float32Array | null)[];
}

export type Grads = (tf.Tensor | null)[];

/** Where the first and second moments are kept; 'auto' = host on wasm, tensors elsewhere (see above). */
export type MomentsPlace = 'tensor' | 'host' | 'auto';

/**
 * Moments (m and v together) of at most this many floats go into the wasm heap for the compiled pass: 64 M floats
 * = 256 MB, MiniLM's 45 M and any LoRA adapter; BERT-base's 218 M stay on the host, out of the heap its
 * activations fill (bench/RESULTS-wasm-training.md §5).
 */
export const HEAP_MOMENTS_MAX_FLOATS = 64 * 2 ** 20;

/** Whether the moments of these variables fit `maxFloats` (HEAP_MOMENTS_MAX_FLOATS). */
export const heapMomentsFit = (variables: readonly { size: number }[], maxFloats = HEAP_MOMENTS_MAX_FLOATS) => 2 * variables.reduce((n, v) => n + v.size, 0) <= maxFloats;

/** tidy so that the initial value's tensor handle is released (tidy never disposes variables). */
const zerosVariable = (p: tf.Variable) => tf.tidy(() => tf.variable(tf.zerosLike(p), false));

export class AdamW {
  readonly config: AdamWConfig;
  /** The host path (hostStep: the compiled kernel on wasm, else the JavaScript loop) rather than tfjs ops. */
  readonly onHost: boolean;
  /** On the host path, whether the moments live in the wasm heap (else host arrays, copied in per variable for the compiled pass). */
  private readonly heapMoments: boolean;
  private steps: number[];
  private m: (tf.Variable | null)[];
  private v: (tf.Variable | null)[];
  private hostM: HostMoment[];
  private hostV: HostMoment[];

  constructor(
    readonly variables: readonly tf.Variable[],
    config: Partial<AdamWConfig> = {},
    moments: MomentsPlace = 'auto',
    /** Moments kept in the wasm heap up to this many floats (tests set it low to take the copied path). */
    heapMomentsMaxFloats = HEAP_MOMENTS_MAX_FLOATS,
  ) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
    this.onHost = moments === 'host' || (moments === 'auto' && tf.getBackend() === 'wasm');
    this.heapMoments = heapMomentsFit(variables, heapMomentsMaxFloats);
    this.steps = variables.map(() => 0);
    this.m = variables.map(() => null);
    this.v = variables.map(() => null);
    this.hostM = variables.map(() => null);
    this.hostV = variables.map(() => null);
  }

  /** Applies one update with learning rate `lr`; grads[i] belongs to variables[i] (null: skip). Grads are not disposed. */
  step(grads: Grads, lr: number): void {
    if (grads.length !== this.variables.length) throw new RangeError(`AdamW: ${grads.length} gradients for ${this.variables.length} variables`);
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.variables.forEach((p, i) => {
      const g = grads[i];
      if (!g) return;
      if (this.onHost) return this.hostStep(i, g, lr);
      const t = ++this.steps[i];
      const m0 = (this.m[i] ??= zerosVariable(p));
      const v0 = (this.v[i] ??= zerosVariable(p));
      const bc1 = 1 - beta1 ** t;
      const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
      const stepSize = lr / bc1;
      tf.tidy(() => {
        const decayed = weightDecay ? tf.mul(p, 1 - lr * weightDecay) : p;
        const m = tf.add(tf.mul(m0, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(v0, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
        m0.assign(m);
        v0.assign(v);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
      });
    });
  }

  /**
   * The same update with every operation rounded to float32 as the tensor path's kernels do (tf.mul(x, c)
   * multiplies by c rounded to float32, as torch does for a Python scalar; √v is rounded before its division,
   * as tf.sqrt's and torch's sqrt() output is): one compiled pass on wasm, else a JS loop over host moments.
   */
  private hostStep(i: number, g: tf.Tensor, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.config;
    const p = this.variables[i];
    const t = ++this.steps[i];
    const f = Math.fround;
    // decay is 1 when weightDecay is 0: no decay (the kernel skips it then, as the loop does).
    const c: AdamWStepConstants = {
      decay: f(1 - lr * weightDecay), b1: f(beta1), c1: f(1 - beta1), b2: f(beta2), c2: f(1 - beta2),
      bc2Sqrt: f(Math.sqrt(1 - beta2 ** t)), eps: f(eps), stepSize: f(lr / (1 - beta1 ** t)),
    };
    if (this.heapMoments && wasmAdamWUsable(p, g)) {
      const m = (this.hostM[i] = momentTensor(this.hostM[i], p.shape));
      const v = (this.hostV[i] = momentTensor(this.hostV[i], p.shape));
      tf.tidy(() => p.assign(wasmAdamW(p, g, m, v, c)));
      return;
    }
    const m = (this.hostM[i] = momentArray(this.hostM[i], p.size));
    const v = (this.hostV[i] = momentArray(this.hostV[i], p.size));
    if (wasmAdamWUsable(p, g)) {
      // Moments too large for the heap as a whole: this variable's pair copied in for the compiled pass, then back.
      tf.tidy(() => p.assign(wasmAdamWHostMoments(p, g, m, v, c)));
      return;
    }
    const { decay, b1, c1, b2, c2, bc2Sqrt, eps: epsF, stepSize } = c;
    const gd = g.dataSync() as Float32Array;
    const pd = (p.dataSync() as Float32Array).slice();
    for (let k = 0; k < pd.length; k++) {
      const gk = gd[k];
      const decayed = weightDecay ? f(pd[k] * decay) : pd[k];
      const mk = f(f(m[k] * b1) + f(gk * c1));
      const vk = f(f(v[k] * b2) + f(f(gk * gk) * c2));
      const denom = f(f(f(Math.sqrt(vk)) / bc2Sqrt) + epsF);
      m[k] = mk;
      v[k] = vk;
      pd[k] = f(decayed - f(f(mk / denom) * stepSize));
    }
    tf.tidy(() => p.assign(tf.tensor(pd, p.shape, 'float32')));
  }

  async getState(): Promise<AdamWState> {
    if (this.onHost) return { steps: [...this.steps], m: await Promise.all(this.hostM.map(momentCopy)), v: await Promise.all(this.hostV.map(momentCopy)) };
    const read = async (x: tf.Variable | null) => (x ? new Float32Array(await x.data()) : null);
    return { steps: [...this.steps], m: await Promise.all(this.m.map(read)), v: await Promise.all(this.v.map(read)) };
  }

  setState(state: AdamWState): void {
    if (state.steps.length !== this.variables.length) throw new RangeError(`AdamW state holds ${state.steps.length} variables, the model has ${this.variables.length}`);
    this.disposeMoments();
    this.steps = [...state.steps];
    const check = (data: Float32Array | null, i: number) => {
      const p = this.variables[i];
      if (data && data.length !== p.size) throw new RangeError(`AdamW state: variable ${i} has ${p.size} values, the state ${data.length}`);
      return data;
    };
    [...state.m, ...state.v].forEach((d, j) => check(d, j % this.variables.length));
    if (this.onHost) {
      // Copies, as heap tensors where the compiled kernel will update them.
      const load = (d: Float32Array | null, i: number) => (!d ? null : this.heapMoments && wasmAdamWUsable(this.variables[i]) ? momentTensor(d, this.variables[i].shape) : d.slice());
      this.hostM = state.m.map(load);
      this.hostV = state.v.map(load);
      return;
    }
    const load = (data: Float32Array | null, i: number) => (data ? tf.tidy(() => tf.variable(tf.tensor(data, this.variables[i].shape), false)) : null);
    this.m = state.m.map(load);
    this.v = state.v.map(load);
  }

  private disposeMoments(): void {
    for (const x of [...this.m, ...this.v]) x?.dispose();
    for (const x of [...this.hostM, ...this.hostV]) disposeMoment(x);
  }

  dispose(): void {
    this.disposeMoments();
    this.m = this.variables.map(() => null);
    this.v = this.variables.map(() => null);
    this.hostM = this.variables.map(() => null);
    this.hostV = this.variables.map(() => null);
  }
}

/** Sums gradients over micro-batches (gradient accumulation); `mean()` hands back sum / count. */
export class GradAccumulator {
  private sums: Grads;
  private count = 0;

  constructor(size: number) {
    this.sums = new Array<tf.Tensor | null>(size).fill(null);
  }

  /** Adds one micro-batch's gradients and disposes them. */
  add(grads: Grads): void {
    grads.forEach((g, i) => {
      if (!g) return;
      const s = this.sums[i];
      if (s) {
        this.sums[i] = tf.add(s, g);
        s.dispose();
        g.dispose();
      } else this.sums[i] = g;
    });
    this.count++;
  }

  /** The mean gradient (caller owns the tensors) and a reset. */
  mean(): Grads {
    const n = this.count;
    const out = this.sums.map((s) => {
      if (!s || n === 1) return s;
      const m = tf.div(s, n);
      s.dispose();
      return m;
    });
    this.sums = this.sums.map(() => null);
    this.count = 0;
    return out;
  }
}

/**
 * torch.nn.utils.clip_grad_norm_ (p = 2): total = ‖(‖g₁‖, …, ‖gₖ‖)‖, every gradient scaled by
 * min(1, maxNorm / (total + 1e-6)). Returns the scaled gradients (inputs disposed) and the norm before clipping.
 */
export async function clipGradNorm(grads: Grads, maxNorm: number): Promise<{ grads: Grads; norm: number }> {
  const present = grads.filter((g): g is tf.Tensor => g !== null);
  if (present.length === 0) return { grads, norm: 0 };
  const total = tf.tidy(() => tf.norm(tf.stack(present.map((g) => tf.norm(g)))));
  // The scale stays on the device; the norm is read back asynchronously (no blocking read on WebGPU).
  const coef = tf.tidy(() => tf.minimum(tf.div(maxNorm, tf.add(total, 1e-6)), 1));
  const norm = (await total.data())[0];
  total.dispose();
  const out = grads.map((g) => {
    if (!g) return null;
    const c = tf.mul(g, coef);
    g.dispose();
    return c;
  });
  coef.dispose();
  return { grads: out, norm };
}
