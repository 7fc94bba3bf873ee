// A small BERT encoder made from nothing but a corpus: a WordPiece vocabulary built from its texts
// (vocab-builder.ts), a BertModel config, and seeded random weights as transformers initialises them —
// written as a sentence-transformers folder (st-folder.ts) that loadBertEncoder, train-retriever
// and Python's SentenceTransformer(DIR) all read. The starting point when no pretrained encoder can be
// downloaded: train it with corpus pretraining and the train split, and compare against itself untrained.
// The weights are plain Float32Arrays (randomBertWeights, as BertModel.random uses): no tfjs tensors, no backend.
import { randomBertWeights } from './bert-weights.ts';
import { bertConfigToHf, parseBertConfig, type BertConfig } from './config.ts';
import { exportSentenceTransformers } from './st-folder.ts';
import { tokenizerJsonFromVocab } from './tokenizer.ts';
import type { EncoderSettings, Pooling } from './types.ts';
import { buildWordPieceVocab, VOCAB_DEFAULTS, VOCAB_SPECIAL_TOKENS, type VocabOptions, type VocabResult } from './vocab-builder.ts';

export interface InitEncoderOptions {
  vocab: Partial<VocabOptions>;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  /** Position table size (max_position_embeddings). */
  maxPositions: number;
  /** Tokens per text when encoding (sentence_bert_config.json max_seq_length), ≤ maxPositions. */
  maxLength: number;
  /** Seeds the weights. */
  seed: number;
  pooling: Pooling;
  /** Add a Normalize module (cosine scores); off: dot product, as Contriever. */
  normalize: boolean;
}

export const INIT_ENCODER_DEFAULTS: Readonly<InitEncoderOptions> = Object.freeze({
  vocab: { vocabSize: VOCAB_DEFAULTS.vocabSize },
  hidden: 128, // BERT-tiny's width (Turc et al. 2019): trains in minutes on two CPU cores
  layers: 2,
  heads: 4, // 32 dims per head
  intermediate: 512, // 4 × hidden, as BERT
  maxPositions: 512, // BERT's table, so a later run may encode longer texts
  maxLength: 128, // encoding length: SciFact abstracts are ~270 tokens, 128 keeps title + opening
  seed: 42,
  pooling: 'mean', // Contriever's pooling (the paper's backbone)
  normalize: false,
});

export interface InitEncoderResult {
  /** The sentence-transformers folder: relative path → bytes. */
  files: Map<string, Uint8Array>;
  config: BertConfig;
  settings: EncoderSettings;
  vocab: VocabResult;
  /** Number of weights. */
  parameters: number;
}

const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v, null, 2) + '\n');

/** Builds the vocabulary from `corpus` (texts, or word counts) and a freshly initialised encoder around it. */
export function initEncoder(corpus: Iterable<string> | ReadonlyMap<string, number>, options: Partial<InitEncoderOptions> = {}): InitEncoderResult {
  const o: InitEncoderOptions = { ...INIT_ENCODER_DEFAULTS, ...options, vocab: { ...INIT_ENCODER_DEFAULTS.vocab, ...options.vocab } };
  if (!Number.isInteger(o.maxLength) || o.maxLength < 2 || o.maxLength > o.maxPositions) {
    throw new RangeError(`initEncoder: maxLength must be an integer in [2, maxPositions = ${o.maxPositions}], got ${o.maxLength}`);
  }
  const vocab = buildWordPieceVocab(corpus, o.vocab);
  // Through parseBertConfig: the same checks (integers, hidden a multiple of heads) as a loaded model gets.
  const config = parseBertConfig(
    bertConfigToHf({
      vocabSize: vocab.tokens.length,
      hiddenSize: o.hidden,
      numLayers: o.layers,
      numHeads: o.heads,
      intermediateSize: o.intermediate,
      hiddenAct: 'gelu',
      maxPositions: o.maxPositions,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
      hiddenDropout: 0.1,
      attentionDropout: 0.1,
      initializerRange: 0.02,
    }),
  );
  const weights = randomBertWeights(config, o.seed);
  // transformers' _init_weights zeroes the padding_idx row of nn.Embedding (pad_token_id 0 = [PAD]).
  weights.get('embeddings.word_embeddings.weight')!.data.fill(0, 0, config.hiddenSize);

  const [pad, unk, cls, sep, mask] = VOCAB_SPECIAL_TOKENS;
  const specials = { unk_token: unk, sep_token: sep, pad_token: pad, cls_token: cls, mask_token: mask };
  const tokenizerConfig = {
    ...specials,
    do_lower_case: true,
    strip_accents: null,
    tokenize_chinese_chars: true,
    model_max_length: o.maxLength,
    tokenizer_class: 'BertTokenizer',
    clean_up_tokenization_spaces: true,
  };
  const sourceFiles = new Map<string, Uint8Array>([
    ['vocab.txt', enc.encode(vocab.text)],
    ['tokenizer.json', json(tokenizerJsonFromVocab(vocab.text, tokenizerConfig))],
    ['tokenizer_config.json', json(tokenizerConfig)],
    ['special_tokens_map.json', json(specials)],
  ]);
  const settings: EncoderSettings = {
    pooling: o.pooling,
    normalize: o.normalize,
    queryPrefix: '',
    docPrefix: '',
    maxLength: o.maxLength,
    similarity: o.normalize ? 'cosine' : 'dot',
  };
  const files = exportSentenceTransformers({ config: bertConfigToHf(config), weights, sourceFiles, settings });
  let parameters = 0;
  for (const t of weights.values()) parameters += t.data.length;
  return { files, config, settings, vocab, parameters };
}
