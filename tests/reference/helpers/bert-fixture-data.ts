// The tiny-BERT fixture's format (tests/reference/gen/tiny_bert.py) and comparisons; no Node or DOM APIs.
import type { TokenizedBatch } from '../../../src/encoder/types.ts';

/** Max |ours − PyTorch| allowed for hidden states and pooled embeddings (issue 3: 1e-4). */
export const FORWARD_ATOL = 1e-4;
/** Max |ours − autograd| per weight, relative to that weight's largest |gradient| (float32 vs float64). */
export const GRAD_RTOL = 1e-4;
/** |our InfoNCE loss − PyTorch's|. */
export const LOSS_ATOL = 1e-5;

export interface TorchGrad {
  shape: number[];
  data: number[];
}

export interface TorchFixture {
  maxLength: number;
  texts: string[];
  inputIds: number[][];
  attentionMask: number[][];
  tokenTypeIds: number[][];
  /** [batch, seqLen, hidden] */
  shape: [number, number, number];
  lastHiddenState: number[];
  meanPooled: number[];
  clsPooled: number[];
  infonce: {
    queries: string[];
    docs: string[];
    temperature: number;
    loss: number;
    grads: Record<string, TorchGrad>;
  };
}

/** The fixture's padded batch (ids from the Python tokenizer) as our TokenizedBatch. */
export function fixtureBatch(fx: TorchFixture): TokenizedBatch {
  const [batch, seqLen] = fx.shape;
  return {
    batch,
    seqLen,
    inputIds: Int32Array.from(fx.inputIds.flat()),
    attentionMask: Int32Array.from(fx.attentionMask.flat()),
    tokenTypeIds: Int32Array.from(fx.tokenTypeIds.flat()),
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
