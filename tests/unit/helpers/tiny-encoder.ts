// A small stand-in for the BERT encoder in training tests: hashed word ids → embedding (tanh) →
// cls or masked-mean pooling → linear layer → optional L2 norm. It implements the same `Encoder`
// contract, is differentiable through tf.variableGrads, and is cheap enough for 2 shared CPU cores.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import type { Encoder, EncoderSettings, TextKind, TokenizedBatch } from '../../../src/encoder/types.ts';
import { createRng } from '../../../src/util/random.ts';

export const PAD = 0;
export const CLS = 1;
export const SEP = 2;

export interface TinyEncoderOptions {
  vocab?: number;
  hidden?: number;
  dim?: number;
  /** Weight initialisation seed. */
  seed?: number;
  /** Dropout rate on the pooled vector when training (0 = none). */
  dropout?: number;
  settings?: Partial<EncoderSettings>;
}

export const TINY_SETTINGS: EncoderSettings = {
  pooling: 'mean',
  normalize: false,
  queryPrefix: '',
  docPrefix: '',
  maxLength: 32,
  similarity: 'dot',
};

/** FNV-1a over UTF-16 code units: a stable word → id map without a vocabulary file. */
function hashWord(w: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export async function useCpuBackend(): Promise<void> {
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
}

export function tinyEncoder(opts: TinyEncoderOptions = {}): Encoder {
  const vocab = opts.vocab ?? 97;
  const hidden = opts.hidden ?? 16;
  const dim = opts.dim ?? 8;
  const rate = opts.dropout ?? 0;
  const settings: EncoderSettings = { ...TINY_SETTINGS, ...opts.settings };
  const rng = createRng(opts.seed ?? 1);
  const init = (n: number, scale: number) => Float32Array.from({ length: n }, () => rng.normal() * scale);
  const variable = (data: Float32Array, shape: number[]) => tf.tidy(() => tf.variable(tf.tensor(data, shape)));
  const emb = variable(init(vocab * hidden, 0.5), [vocab, hidden]); // [V, H]
  const w = variable(init(hidden * dim, 0.3), [hidden, dim]); // [H, D]
  const b = variable(init(dim, 0.1), [dim]); // [D]
  const variables = [emb, w, b];

  const tokenize = (texts: string[], kind: TextKind): TokenizedBatch => {
    const prefix = kind === 'query' ? settings.queryPrefix : settings.docPrefix;
    const rows = texts.map((t) => {
      const words = (prefix + t).toLowerCase().match(/[a-z0-9]+/g) ?? [];
      const ids = words.slice(0, settings.maxLength - 2).map((x) => 3 + (hashWord(x) % (vocab - 3)));
      return [CLS, ...ids, SEP];
    });
    const seqLen = Math.max(1, ...rows.map((r) => r.length));
    const inputIds = new Int32Array(texts.length * seqLen);
    const attentionMask = new Int32Array(texts.length * seqLen);
    rows.forEach((r, i) => {
      inputIds.set(r, i * seqLen);
      attentionMask.fill(1, i * seqLen, i * seqLen + r.length);
    });
    return { batch: texts.length, seqLen, inputIds, attentionMask, tokenTypeIds: new Int32Array(texts.length * seqLen) };
  };

  const embed = (batch: TokenizedBatch, o: { training?: boolean; seed?: number } = {}): tf.Tensor2D =>
    tf.tidy(() => {
      const { batch: B, seqLen: T } = batch;
      const ids = tf.tensor1d(batch.inputIds, 'int32');
      // One-hot × table rather than gather: gather's gradient (UnsortedSegmentSum) is very slow on cpu.
      const rows = tf.matMul(tf.oneHot(ids, vocab), emb); // [B·T, H]
      const h = tf.reshape(tf.tanh(rows), [B, T, hidden]); // [B, T, H]
      let pooled: tf.Tensor2D;
      if (settings.pooling === 'cls') {
        pooled = tf.reshape(tf.slice(h, [0, 0, 0], [B, 1, hidden]), [B, hidden]);
      } else {
        const mask = tf.tensor3d(Float32Array.from(batch.attentionMask), [B, T, 1]); // [B, T, 1]
        pooled = tf.div(tf.sum(tf.mul(h, mask), 1), tf.sum(mask, 1)) as tf.Tensor2D; // [B, H]
      }
      if (o.training && rate > 0) pooled = tf.dropout(pooled, rate, undefined, o.seed ?? 0) as tf.Tensor2D;
      let out = tf.add(tf.matMul(pooled, w), b) as tf.Tensor2D; // [B, D]
      if (settings.normalize) out = tf.div(out, tf.maximum(tf.norm(out, 2, 1, true), 1e-12)) as tf.Tensor2D;
      return out;
    });

  const encode = async (texts: string[], kind: TextKind, o: { batchSize?: number } = {}): Promise<Float32Array> => {
    const bs = o.batchSize ?? 32;
    const out = new Float32Array(texts.length * dim);
    for (let i = 0; i < texts.length; i += bs) {
      const e = embed(tokenize(texts.slice(i, i + bs), kind));
      out.set(await e.data(), i * dim);
      e.dispose();
    }
    return out;
  };

  return { settings, dim, variables, tokenize, embed, encode, dispose: () => variables.forEach((v) => v.dispose()) };
}
