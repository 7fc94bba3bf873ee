// The Encoder (types.ts) for BertModel-architecture checkpoints: tokenizer + BertModel + pooling, loaded
// from the files of a Hugging Face / sentence-transformers folder. Runs on whatever tfjs backend is active.
import * as tf from '@tensorflow/tfjs-core';
import { ModelFormatError, throwIfAborted } from '../errors.ts';
import { readSafetensors, type SafetensorsFile } from '../model/safetensors.ts';
import { throttledProgress, type WorkOptions } from '../util/progress.ts';
import { BertModel, type ForwardOptions } from './bert.ts';
import { bertWeightsFromSafetensors } from './bert-weights.ts';
import { parseBertConfig, type BertConfig } from './config.ts';
import { modelFolder, type ModelFiles, type ModelFolder } from './files.ts';
import { l2Normalize, maskTensor, pool } from './pooling.ts';
import { DEFAULT_ENCODER_SETTINGS, getEncoderPreset, mergeSettings, type EncoderPreset } from './presets.ts';
import { sentenceTransformersSettings } from './st-settings.ts';
import { loadTokenizer, type WordPieceTokenizer } from './tokenizer.ts';
import type { Encoder, EncoderSettings, TextKind, TokenizedBatch } from './types.ts';

/** Texts per forward pass in encode(): large enough to keep matMuls efficient, small enough for memory. */
export const DEFAULT_ENCODE_BATCH = 32;
/** Attention-score elements per forward pass that encode() keeps under (see #batchFor). */
export const MAX_ATTENTION_ELEMENTS = 1 << 23;
/** encode() gives the event loop a turn at least this often, so cancellation and progress get through. */
const YIELD_EVERY_MS = 50;

export class BertEncoder implements Encoder {
  readonly settings: EncoderSettings;
  readonly dim: number;
  readonly model: BertModel;
  readonly tokenizer: WordPieceTokenizer;
  /** config.json as it was loaded (unknown fields included), for checkpoint export. */
  readonly configJson: Record<string, unknown>;
  /** Attention-score elements per forward pass that encode() keeps under (see #batchFor); tests lower it. */
  maxAttentionElements = MAX_ATTENTION_ELEMENTS;

  constructor(model: BertModel, tokenizer: WordPieceTokenizer, settings: EncoderSettings, configJson: Record<string, unknown> = {}) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.configJson = configJson;
    this.dim = model.config.hiddenSize;
    // A preset's 512 cannot exceed a smaller model's position table.
    this.settings = Object.freeze({ ...settings, maxLength: Math.min(settings.maxLength, model.config.maxPositions) });
  }

  /**
   * What computes its vectors, for a result row to record: the active tfjs backend, in float32 (tfjs keeps
   * weights and activations in float32 on every backend, WebGPU included).
   */
  get engine(): { engine: string; precision: string } {
    return { engine: `tfjs-${tf.getBackend()}`, precision: 'float32' };
  }

  get variables(): tf.Variable[] {
    return this.model.variables;
  }

  get config(): BertConfig {
    return this.model.config;
  }

  /** Ids with special tokens for one text of this kind (prefix added, truncated to maxLength). */
  tokenIds(text: string, kind: TextKind): number[] {
    return this.tokenizer.encode(this.prefixed(text, kind), this.settings.maxLength);
  }

  tokenize(texts: string[], kind: TextKind): TokenizedBatch {
    return this.tokenizer.pad(texts.map((t) => this.tokenIds(t, kind)));
  }

  /** Pooled (and, if settings.normalize, L2-normalised) embeddings (B, dim); the caller disposes them. */
  embed(batch: TokenizedBatch, opts: ForwardOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const hidden = this.model.forward(batch, { skipPadding: true, ...opts }); // (B, T, dim); padding states zero where skipped
      const mask = maskTensor(batch.attentionMask, batch.batch, batch.seqLen); // (B, T) float 0/1
      const pooled = pool(this.settings.pooling, hidden, mask); // (B, dim)
      return this.settings.normalize ? l2Normalize(pooled) : pooled;
    });
  }

  /**
   * Embeds many texts in batches of similar length (sorted by token count, longest first so memory
   * problems show at once), returning row i = texts[i] in a (texts.length × dim) Float32Array.
   */
  async encode(texts: string[], kind: TextKind, opts: WorkOptions & { batchSize?: number } = {}): Promise<Float32Array> {
    const batchSize = opts.batchSize ?? DEFAULT_ENCODE_BATCH;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const n = texts.length;
    const report = throttledProgress(opts.onProgress);
    const ids = texts.map((t) => this.tokenIds(t, kind));
    const order = ids.map((_, i) => i).sort((a, b) => ids[b].length - ids[a].length || a - b);
    const out = new Float32Array(n * this.dim);
    let lastYield = Date.now();
    report({ stage: 'encode', done: 0, total: n, unit: 'texts' }, true);
    for (let start = 0; start < n; ) {
      throwIfAborted(opts.signal, 'Encoding');
      const rows = order.slice(start, start + this.#batchFor(ids[order[start]].length, batchSize));
      start += rows.length;
      const emb = this.embed(this.tokenizer.pad(rows.map((i) => ids[i])));
      let values: Float32Array;
      try {
        values = (await emb.data()) as Float32Array;
      } finally {
        emb.dispose();
      }
      rows.forEach((textIndex, r) => out.set(values.subarray(r * this.dim, (r + 1) * this.dim), textIndex * this.dim));
      const done = start;
      report({ stage: 'encode', done, total: n, unit: 'texts', text: `${done.toLocaleString('en')} of ${n.toLocaleString('en')} texts` }, done === n);
      if (Date.now() - lastYield >= YIELD_EVERY_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYield = Date.now();
      }
    }
    throwIfAborted(opts.signal, 'Encoding');
    return out;
  }

  /**
   * Rows per batch for texts of `len` tokens (the longest first): at most `batchSize`, and few enough that
   * one layer's attention scores (B × heads × len × len floats) stay under maxAttentionElements.
   * tfjs-wasm aborts with a corrupted heap well before its 4 GiB limit when they grow past ~2.5e7
   * (MiniLM: batch 32 at 256 tokens, batch 16 at 512).
   */
  #batchFor(len: number, batchSize: number): number {
    const perRow = this.model.config.numHeads * len * len;
    return Math.max(1, Math.min(batchSize, Math.floor(this.maxAttentionElements / perRow)));
  }

  dispose(): void {
    this.model.dispose();
  }

  private prefixed(text: string, kind: TextKind): string {
    return (kind === 'query' ? this.settings.queryPrefix : this.settings.docPrefix) + text;
  }
}

export interface LoadEncoderOptions {
  /** A preset id from presets.ts (or the preset itself): its settings apply unless the folder's own files say otherwise. */
  preset?: string | EncoderPreset;
  /** Explicit settings, applied last (over the preset and the sentence-transformers files). */
  settings?: Partial<EncoderSettings>;
  /** Seeds the dropout stream used in training mode when embed() gets no seed. */
  seed?: number;
}

/**
 * Builds an encoder from a model folder held in memory (relative name → bytes): config.json,
 * model.safetensors (or shards listed in model.safetensors.index.json), tokenizer.json or vocab.txt, and
 * optionally the sentence-transformers files. Settings: defaults ← preset ← sentence-transformers files ← opts.settings.
 */
export async function loadBertEncoder(files: ModelFiles, opts: LoadEncoderOptions = {}): Promise<BertEncoder> {
  const folder = modelFolder(files);
  const configJson = JSON.parse(folder.text('config.json')!) as unknown;
  const config = parseBertConfig(configJson);
  const { files: weightFiles, name } = readWeights(folder);
  const { params, extras } = bertWeightsFromSafetensors(config, weightFiles, name);
  const tokenizer = loadTokenizer(folder.text);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new ModelFormatError('tokenizer.json', `the tokenizer has ${tokenizer.vocabSize} tokens but config.json vocab_size is ${config.vocabSize}`, 'The tokenizer does not belong to this model: use the files of one model');
  }
  const preset = typeof opts.preset === 'string' ? getEncoderPreset(opts.preset) : opts.preset;
  const fromPreset = preset?.settings ?? DEFAULT_ENCODER_SETTINGS;
  const settings = mergeSettings(mergeSettings(fromPreset, sentenceTransformersSettings(folder.text)), opts.settings);
  const model = new BertModel(config, params, extras, opts.seed ?? 0);
  return new BertEncoder(model, tokenizer, settings, configJson as Record<string, unknown>);
}

/** model.safetensors, or every shard named in model.safetensors.index.json. */
function readWeights(folder: ModelFolder): { files: SafetensorsFile[]; name: string } {
  const single = folder.bytes('model.safetensors');
  if (single) return { files: [readSafetensors(single, 'model.safetensors')], name: 'model.safetensors' };
  const indexText = folder.text('model.safetensors.index.json');
  if (indexText !== undefined) {
    let shards: string[];
    try {
      shards = [...new Set(Object.values((JSON.parse(indexText) as { weight_map: Record<string, string> }).weight_map))];
    } catch {
      throw new ModelFormatError('model.safetensors.index.json', 'has no readable weight_map', 'Re-download the model files');
    }
    return {
      name: shards.join(', '),
      files: shards.map((s) => {
        const b = folder.bytes(s);
        if (!b) throw new ModelFormatError(s, 'missing (listed in model.safetensors.index.json)', 'Include every shard of the model');
        return readSafetensors(b, s);
      }),
    };
  }
  const hasBin = folder.bytes('pytorch_model.bin') !== undefined;
  throw new ModelFormatError(
    'model.safetensors',
    hasBin ? 'missing: the folder has only pytorch_model.bin (a pickle, which a browser cannot read safely)' : 'missing',
    hasBin ? 'Convert it in Python: model.save_pretrained(dir, safe_serialization=True)' : 'Include model.safetensors with the model files',
  );
}
