// The key/value cache of incremental decoding: per layer the rotated keys and the values of every
// token so far, plus the bookkeeping that makes left-padded batches exact — which cached keys are real
// (padding is never attended to) and each row's next position (RoPE counts real tokens only, so a padded
// row sees the same positions as it would alone).
import type * as tf from '@tensorflow/tfjs-core';
import { MASKED_SCORE } from './mask.ts';

export class KVCache {
  /** Per layer: k and v (B, nkv, T, hd). Empty before the first step. */
  layers: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
  /** Per row, per cached token: 1 = a real token, 0 = padding. */
  readonly keyMask: number[][];
  /** Per row: the position the next real token gets. */
  readonly nextPos: number[];

  constructor(readonly batch: number) {
    this.keyMask = Array.from({ length: batch }, () => []);
    this.nextPos = new Array(batch).fill(0);
  }

  /** Cached tokens per row (padding included). */
  get length(): number {
    return this.keyMask[0]?.length ?? 0;
  }

  /**
   * Registers S new tokens per row (mask: 1 real, 0 padding) and returns their positions (B·S, row-major)
   * and the additive attention bias (B, 1, S, T) over all T = length + S keys.
   */
  append(mask: number[][], maxSeqLen: number): { positions: number[]; bias: Float32Array } {
    const B = this.batch;
    const S = mask[0].length;
    const past = this.length;
    const T = past + S;
    const positions: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S; s++) {
        const real = mask[b][s] ? 1 : 0;
        this.keyMask[b].push(real);
        positions.push(this.nextPos[b]); // padding borrows the next position; it is masked out anyway
        if (real) this.nextPos[b]++;
      }
      if (this.nextPos[b] > maxSeqLen) {
        throw new RangeError(`Sequence ${b} reached ${this.nextPos[b]} tokens, more than the model's ${maxSeqLen} positions`);
      }
    }
    const bias = new Float32Array(B * S * T);
    for (let b = 0; b < B; b++) {
      const keys = this.keyMask[b];
      for (let i = 0; i < S; i++) {
        const row = (b * S + i) * T;
        for (let j = 0; j < T; j++) if (j > past + i || !keys[j]) bias[row + j] = MASKED_SCORE;
      }
    }
    return { positions, bias };
  }

  /** Swaps in the layers' new keys/values and frees the old ones. */
  replace(layers: { k: tf.Tensor4D; v: tf.Tensor4D }[]): void {
    const old = this.layers;
    this.layers = layers;
    for (const kv of old) {
      kv.k.dispose();
      kv.v.dispose();
    }
  }

  dispose(): void {
    this.replace([]);
  }
}
