// A tiny deterministic stand-in for the BERT encoder (tests only): hashed bag of words → a seeded random
// table → masked mean → optional L2 normalisation. It honours the Encoder contract (prefixes,
// truncation, padding, batches, progress, cancellation) so the dense index can be tested without a model.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Encoder, EncoderSettings, TextKind, TokenizedBatch } from '../../../src/encoder/types.ts';
import { createRng } from '../../../src/util/random.ts';
import { CancelledError } from '../../../src/errors.ts';

export const HASH_VOCAB = 997;

export interface HashEncoderOptions {
  dim?: number;
  seed?: number;
  settings?: Partial<EncoderSettings>;
  /** Called with each batch of texts before it is embedded (tests count calls or abort from here). */
  onBatch?: (texts: string[]) => void;
}

export const HASH_SETTINGS: EncoderSettings = {
  pooling: 'mean',
  normalize: false,
  queryPrefix: '',
  docPrefix: '',
  maxLength: 64,
  similarity: 'dot',
};

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function hashEncoder(opts: HashEncoderOptions = {}): Encoder & { texts: number } {
  const dim = opts.dim ?? 8;
  const settings: EncoderSettings = { ...HASH_SETTINGS, ...opts.settings };
  const rng = createRng(opts.seed ?? 7);
  const values = new Float32Array((HASH_VOCAB + 1) * dim);
  for (let i = dim; i < values.length; i++) values[i] = rng.normal(); // row 0 (padding) stays zero
  const table = tf.keep(tf.tensor2d(values, [HASH_VOCAB + 1, dim]));

  const tokenize = (texts: string[], kind: TextKind): TokenizedBatch => {
    const prefix = kind === 'query' ? settings.queryPrefix : settings.docPrefix;
    const rows = texts.map((t) =>
      ((prefix + t).toLowerCase().match(/[a-z0-9]+/g) ?? []).slice(0, settings.maxLength).map((w) => 1 + (fnv1a(w) % HASH_VOCAB)),
    );
    const seqLen = Math.max(1, ...rows.map((r) => r.length));
    const inputIds = new Int32Array(texts.length * seqLen);
    const attentionMask = new Int32Array(texts.length * seqLen);
    rows.forEach((r, i) => r.forEach((id, j) => ((inputIds[i * seqLen + j] = id), (attentionMask[i * seqLen + j] = 1))));
    return { batch: texts.length, seqLen, inputIds, attentionMask, tokenTypeIds: new Int32Array(texts.length * seqLen) };
  };

  const embed = (b: TokenizedBatch): tf.Tensor2D =>
    tf.tidy(() => {
      const ids = tf.tensor2d(b.inputIds, [b.batch, b.seqLen], 'int32');
      const mask = tf.expandDims(tf.tensor2d(b.attentionMask, [b.batch, b.seqLen], 'float32'), 2); // [B, T, 1]
      const states = tf.gather(table, ids); // [B, T, dim]
      const pooled = tf.div(tf.sum(tf.mul(states, mask), 1), tf.maximum(tf.sum(mask, 1), 1)) as tf.Tensor2D; // [B, dim]
      return settings.normalize ? (tf.div(pooled, tf.maximum(tf.norm(pooled, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D) : pooled;
    });

  const enc = {
    settings,
    dim,
    variables: [] as tf.Variable[],
    texts: 0,
    tokenize,
    embed,
    async encode(texts: string[], kind: TextKind, o: { batchSize?: number; signal?: AbortSignal; onProgress?: (p: { stage: string; done: number; total: number; unit: string }) => void } = {}) {
      const out = new Float32Array(texts.length * dim);
      const bs = o.batchSize ?? 16;
      for (let i = 0; i < texts.length; i += bs) {
        if (o.signal?.aborted) throw new CancelledError('Encoding');
        const batch = texts.slice(i, i + bs);
        opts.onBatch?.(batch);
        if (o.signal?.aborted) throw new CancelledError('Encoding');
        const e = embed(tokenize(batch, kind));
        out.set(await e.data(), i * dim);
        e.dispose();
        enc.texts += batch.length;
        o.onProgress?.({ stage: 'encode', done: Math.min(texts.length, i + bs), total: texts.length, unit: 'texts' });
      }
      return out;
    },
    dispose: () => table.dispose(),
  };
  return enc;
}
