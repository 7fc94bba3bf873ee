// AdamW with decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay
// Regularization"), step for step as torch.optim.AdamW (torch 1.13 _single_tensor_adamw):
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
// Scalars are computed in float64 as Python does, tensors in float32. A variable whose gradient is
// missing (not on the loss path, e.g. BERT's pooler under mean pooling) is skipped entirely, as torch
// skips parameters with grad None. Plus gradient accumulation and torch's clip_grad_norm_.
import * as tf from '@tensorflow/tfjs-core';

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

/** tidy so that the initial value's tensor handle is released (tidy never disposes variables). */
const zerosVariable = (p: tf.Variable) => tf.tidy(() => tf.variable(tf.zerosLike(p), false));

export class AdamW {
  readonly config: AdamWConfig;
  private steps: number[];
  private m: (tf.Variable | null)[];
  private v: (tf.Variable | null)[];

  constructor(
    readonly variables: readonly tf.Variable[],
    config: Partial<AdamWConfig> = {},
  ) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
    this.steps = variables.map(() => 0);
    this.m = variables.map(() => null);
    this.v = variables.map(() => null);
  }

  /** Applies one update with learning rate `lr`; grads[i] belongs to variables[i] (null: skip). Grads are not disposed. */
  step(grads: Grads, lr: number): void {
    if (grads.length !== this.variables.length) throw new RangeError(`AdamW: ${grads.length} gradients for ${this.variables.length} variables`);
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.variables.forEach((p, i) => {
      const g = grads[i];
      if (!g) return;
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

  async getState(): Promise<AdamWState> {
    const read = async (x: tf.Variable | null) => (x ? new Float32Array(await x.data()) : null);
    return { steps: [...this.steps], m: await Promise.all(this.m.map(read)), v: await Promise.all(this.v.map(read)) };
  }

  setState(s: AdamWState): void {
    if (s.steps.length !== this.variables.length) throw new RangeError(`AdamW state holds ${s.steps.length} variables, the model has ${this.variables.length}`);
    this.disposeMoments();
    this.steps = [...s.steps];
    const load = (data: Float32Array | null, i: number) => {
      if (!data) return null;
      const p = this.variables[i];
      if (data.length !== p.size) throw new RangeError(`AdamW state: variable ${i} has ${p.size} values, the state ${data.length}`);
      return tf.tidy(() => tf.variable(tf.tensor(data, p.shape), false));
    };
    this.m = s.m.map(load);
    this.v = s.v.map(load);
  }

  private disposeMoments(): void {
    for (const x of [...this.m, ...this.v]) x?.dispose();
  }

  dispose(): void {
    this.disposeMoments();
    this.m = this.variables.map(() => null);
    this.v = this.variables.map(() => null);
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
