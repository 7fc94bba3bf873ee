// The tiny-BERT fixture written by tests/reference/gen/tiny_bert.py (PyTorch, float64) and comparisons
// against it, shared by the cpu/wasm, Node-webgpu and Chromium tests.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TokenizedBatch } from '../../../src/encoder/types.ts';

export const FIXTURES = resolve(import.meta.dirname, '../fixtures');
export const TINY_BERT_DIR = resolve(FIXTURES, 'tiny-bert');

/** Max |ours − PyTorch| allowed for hidden states and pooled embeddings (issue 3: 1e-4). */
export const FORWARD_ATOL = 1e-4;

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

export function loadTorchFixture(): TorchFixture {
  return JSON.parse(readFileSync(resolve(FIXTURES, 'tiny-bert-torch.json'), 'utf8')) as TorchFixture;
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
