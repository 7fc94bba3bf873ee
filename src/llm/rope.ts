// Rotary position embeddings (Su et al. 2021, "RoFormer", arXiv:2104.09864): the frequencies, with
// Llama 3.1's rescaling, and cos/sin tables that grow on demand (Llama 3.2 allows 131,072 positions; a
// table that long would be 33 MB per head size, so we only build what a sequence needs).
//
// Every step rounds to float32 (Math.fround) as both references compute in float32: transformers'
// `1 / base ** (arange(0, d, 2).float() / d)` and `inv_freq @ positions`, and llama2.c's
// `1.0f / powf(10000.0f, head_dim / (float)head_size)`, `pos * freq`, `cosf(val)`. That keeps angles at
// large positions bit-close to what the model was trained and published with.
import * as tf from '@tensorflow/tfjs-core';
import type { DecoderConfig, RopeScaling } from './config.ts';

const f = Math.fround;

/** cos and sin of the angles at some positions, (B, T, 1, hd/2) each. */
export interface RopeAngles {
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
}

/** Inverse frequencies θ_i = 1 / base^(2i/d), i < d/2, after the configured rescaling. */
export function ropeInvFreq(headDim: number, base: number, scaling: RopeScaling): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(base ** f((2 * i) / headDim)));
  return scaling.type === 'llama3' ? llama3Scale(inv, scaling) : inv;
}

/**
 * transformers `_compute_llama3_parameters`: low frequencies (wavelength above original_ctx/low) are
 * divided by `factor`, high ones kept, and the band between interpolated smoothly.
 */
function llama3Scale(inv: Float32Array, s: Extract<RopeScaling, { type: 'llama3' }>): Float32Array {
  const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  return inv.map((freq) => {
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highFreqWavelen) return freq;
    if (wavelen > lowFreqWavelen) return freq / s.factor;
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (freq / s.factor) + smooth * freq;
  });
}

/** cos and sin of pos·θ_i for pos in [0, length): row-major [length, headDim/2], float32-rounded. */
export function ropeTable(invFreq: Float32Array, length: number): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(length * half);
  const sin = new Float32Array(length * half);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f(p * invFreq[i]);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Holds the cos/sin tables as tensors [length, headDim/2] and rebuilds them (doubling) when a longer
 * sequence arrives. Applies the rotation to q or k laid out [B, T, nh, hd].
 */
export class Rope {
  private cos: tf.Tensor2D | null = null;
  private sin: tf.Tensor2D | null = null;
  private length = 0;
  private readonly invFreq: Float32Array;
  /** 'interleaved' checkpoints: permute head dims evens-then-odds, turning pairs (2i, 2i+1) into (i, i + hd/2). */
  private readonly interleaved: boolean;

  constructor(private readonly config: DecoderConfig) {
    this.invFreq = ropeInvFreq(config.headDim, config.ropeTheta, config.ropeScaling);
    this.interleaved = config.ropeLayout === 'interleaved';
  }

  /** Makes sure positions < n have table rows (call outside tf.tidy: the tables are kept). */
  ensure(n: number): void {
    if (n <= this.length) return;
    const length = Math.min(Math.max(n, 2 * this.length, 64), Math.max(n, this.config.maxSeqLen));
    const { cos, sin } = ropeTable(this.invFreq, length);
    this.cos?.dispose();
    this.sin?.dispose();
    const half = this.config.headDim / 2;
    this.cos = tf.keep(tf.tensor2d(cos, [length, half]));
    this.sin = tf.keep(tf.tensor2d(sin, [length, half]));
    this.length = length;
  }

  /** cos and sin at positions (B, T) (int32), shaped (B, T, 1, hd/2) to broadcast over heads. Once per forward. */
  at(positions: tf.Tensor2D): RopeAngles {
    if (!this.cos || !this.sin) throw new Error('Rope.at before Rope.ensure');
    return {
      cos: tf.expandDims(tf.gather(this.cos, positions), 2) as tf.Tensor4D, // (B, T, 1, hd/2)
      sin: tf.expandDims(tf.gather(this.sin, positions), 2) as tf.Tensor4D, // (B, T, 1, hd/2)
    };
  }

  /**
   * Rotates x (B, T, nh, hd). For interleaved weights the output comes back in the half layout: q and k
   * are permuted alike, so q·k and the attention are unchanged.
   */
  apply(x: tf.Tensor4D, { cos, sin }: RopeAngles): tf.Tensor4D {
    const half = this.config.headDim / 2;
    // Evens then odds as reshape + transpose, not gather: gather's gradient (UnsortedSegmentSum) does not
    // exist on the wasm backend, and LoRA gradients flow through q here.
    const [B, T, nh, hd] = x.shape;
    const xh = this.interleaved ? tf.reshape(tf.transpose(tf.reshape(x, [B, T, nh, half, 2]), [0, 1, 2, 4, 3]), [B, T, nh, hd]) : x;
    const x1 = tf.slice(xh, [0, 0, 0, 0], [-1, -1, -1, half]); // (B, T, nh, hd/2)
    const x2 = tf.slice(xh, [0, 0, 0, half], [-1, -1, -1, half]); // (B, T, nh, hd/2)
    // x·cos + rotate_half(x)·sin, rotate_half(x) = [-x2, x1]
    return tf.concat([tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))], 3) as tf.Tensor4D;
  }

  dispose(): void {
    this.cos?.dispose();
    this.sin?.dispose();
    this.cos = this.sin = null;
    this.length = 0;
  }
}
