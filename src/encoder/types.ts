// The encoder contract shared by the dense index, contrastive training and the pipeline.
// Implementations: the BERT-family encoder in tfjs (bert.ts); tests may use small stand-ins.
import type * as tf from '@tensorflow/tfjs-core';
import type { WorkOptions } from '../util/progress.ts';

export type Pooling = 'cls' | 'mean';
export type TextKind = 'query' | 'doc';

/** How a model turns token states into one vector per text (from its preset or sentence-transformers files). */
export interface EncoderSettings {
  pooling: Pooling;
  /** L2-normalise the pooled vector (sentence-transformers' Normalize module). */
  normalize: boolean;
  /** Prepended to queries / documents before tokenisation, e.g. 'query: ' for e5. */
  queryPrefix: string;
  docPrefix: string;
  /** Tokens per text including special tokens; longer texts are truncated keeping the final [SEP]. */
  maxLength: number;
  /** How scores are computed in retrieval: dot product of the (possibly normalised) vectors. */
  similarity: 'dot' | 'cosine';
}

/** A padded batch of token ids, row-major [batch, seqLen]. */
export interface TokenizedBatch {
  batch: number;
  seqLen: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
}

export interface Encoder {
  readonly settings: EncoderSettings;
  /** Output dimension. */
  readonly dim: number;
  /** Trainable weights, in a stable order. */
  readonly variables: tf.Variable[];
  /** Tokenises with the kind's prefix, truncation to settings.maxLength and padding to the longest text. */
  tokenize(texts: string[], kind: TextKind): TokenizedBatch;
  /**
   * Pooled (and, if settings.normalize, normalised) embeddings [batch, dim]. Differentiable with respect
   * to `variables` when called inside tf.variableGrads; `training` turns dropout on (seeded).
   */
  embed(batch: TokenizedBatch, opts?: { training?: boolean; seed?: number }): tf.Tensor2D;
  /** Encodes many texts in length-grouped batches, returning [texts.length × dim] row-major. */
  encode(texts: string[], kind: TextKind, opts?: WorkOptions & { batchSize?: number }): Promise<Float32Array>;
  dispose(): void;
}
