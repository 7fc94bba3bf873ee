// config.json parsing, presets and sentence-transformers settings: what each file says, and a clear
// error for what we do not support.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { bertConfigToHf, parseBertConfig } from '../../src/encoder/config.ts';
import { DEFAULT_ENCODER_SETTINGS, ENCODER_PRESETS, getEncoderPreset, mergeSettings } from '../../src/encoder/presets.ts';
import { sentenceTransformersSettings } from '../../src/encoder/st-settings.ts';

const TINY = JSON.parse(readFileSync(resolve(import.meta.dirname, '../reference/fixtures/tiny-bert/config.json'), 'utf8')) as Record<string, unknown>;
const without = (key: string) => Object.fromEntries(Object.entries(TINY).filter(([k]) => k !== key));

describe('parseBertConfig', () => {
  it('reads a BertModel config.json', () => {
    expect(parseBertConfig(JSON.stringify(TINY))).toEqual({
      vocabSize: TINY.vocab_size,
      hiddenSize: 32,
      numLayers: 2,
      numHeads: 4,
      intermediateSize: 64,
      hiddenAct: 'gelu',
      maxPositions: 64,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
      hiddenDropout: 0.1,
      attentionDropout: 0.1,
      initializerRange: 0.02,
    });
  });

  it("fills transformers' defaults for optional fields", () => {
    const c = parseBertConfig({ ...without('layer_norm_eps'), hidden_dropout_prob: undefined });
    expect(c.layerNormEps).toBe(1e-12);
    expect(c.hiddenDropout).toBe(0.1);
  });

  it('round-trips through bertConfigToHf', () => {
    const c = parseBertConfig(TINY);
    expect(parseBertConfig(bertConfigToHf(c))).toEqual(c);
  });

  const cases: [string, unknown, RegExp][] = [
    ['not JSON', '{"model_type": ', /config\.json: not valid JSON/],
    ['an array', [], /not a JSON object/],
    ['another architecture', { ...TINY, model_type: 'roberta' }, /model_type "roberta" is not supported .*Only BertModel-architecture/],
    ['no model_type', without('model_type'), /missing "model_type".*Only BertModel-architecture/],
    ['a missing structural field', without('num_attention_heads'), /missing "num_attention_heads"/],
    ['a non-integer size', { ...TINY, hidden_size: 32.5 }, /"hidden_size" must be an integer ≥ 1, got 32.5/],
    ['a string size', { ...TINY, vocab_size: '300' }, /"vocab_size" must be an integer/],
    ['another activation', { ...TINY, hidden_act: 'relu' }, /hidden_act "relu" is not supported/],
    ['the tanh GELU', { ...TINY, hidden_act: 'gelu_new' }, /hidden_act "gelu_new"/],
    ['relative positions', { ...TINY, position_embedding_type: 'relative_key' }, /position_embedding_type "relative_key"/],
    ['heads not dividing the width', { ...TINY, num_attention_heads: 5 }, /hidden_size 32 is not a multiple of num_attention_heads 5/],
    ['a bad epsilon', { ...TINY, layer_norm_eps: -1 }, /"layer_norm_eps" must be a number in \[0, 1\]/],
  ];
  it.each(cases)('rejects %s with a ModelFormatError', (_, input, pattern) => {
    expect(() => parseBertConfig(input)).toThrow(ModelFormatError);
    expect(() => parseBertConfig(input)).toThrow(pattern);
  });
});

describe('presets', () => {
  it('holds the six models of the issue, frozen, each with a reason', () => {
    expect(ENCODER_PRESETS.map((p) => p.id)).toEqual([
      'facebook/contriever',
      'facebook/contriever-msmarco',
      'BAAI/bge-small-en-v1.5',
      'intfloat/e5-small-v2',
      'sentence-transformers/all-MiniLM-L6-v2',
      'bert-base-uncased',
    ]);
    for (const p of ENCODER_PRESETS) {
      expect(Object.isFrozen(p) && Object.isFrozen(p.settings)).toBe(true);
      expect(p.reason.length).toBeGreaterThan(20);
      expect(p.settings.similarity).toBe(p.settings.normalize ? 'cosine' : 'dot');
    }
    expect(getEncoderPreset('facebook/contriever').settings).toMatchObject({ pooling: 'mean', normalize: false, similarity: 'dot' });
    expect(getEncoderPreset('BAAI/bge-small-en-v1.5').settings).toMatchObject({ pooling: 'cls', normalize: true, queryPrefix: 'Represent this sentence for searching relevant passages: ', docPrefix: '' });
    expect(getEncoderPreset('intfloat/e5-small-v2').settings).toMatchObject({ pooling: 'mean', queryPrefix: 'query: ', docPrefix: 'passage: ' });
    expect(getEncoderPreset('sentence-transformers/all-MiniLM-L6-v2').settings.maxLength).toBe(256);
  });

  it('throws on an unknown preset, listing the known ones', () => {
    expect(() => getEncoderPreset('bert-large')).toThrow(/Unknown encoder preset "bert-large": use one of facebook\/contriever/);
  });

  it('mergeSettings overrides, and throws on an unknown key or a bad maxLength', () => {
    expect(mergeSettings(DEFAULT_ENCODER_SETTINGS, { pooling: 'cls', maxLength: 128 })).toMatchObject({ pooling: 'cls', maxLength: 128, normalize: false });
    expect(() => mergeSettings(DEFAULT_ENCODER_SETTINGS, { pooling: 'cls', normalise: true } as never)).toThrow(/Unknown encoder setting "normalise"/);
    expect(() => mergeSettings(DEFAULT_ENCODER_SETTINGS, { maxLength: 1 })).toThrow(/maxLength/);
  });
});

describe('sentence-transformers files', () => {
  const folder = (files: Record<string, unknown>) => (name: string) => (name in files ? JSON.stringify(files[name]) : undefined);
  const TRANSFORMER = { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' };
  const POOLING = { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' };
  const NORMALIZE = { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' };

  it('reads all-MiniLM-L6-v2-style files: mean pooling, Normalize, max_seq_length', () => {
    const s = sentenceTransformersSettings(
      folder({
        'modules.json': [TRANSFORMER, POOLING, NORMALIZE],
        '1_Pooling/config.json': { word_embedding_dimension: 384, pooling_mode_cls_token: false, pooling_mode_mean_tokens: true },
        'sentence_bert_config.json': { max_seq_length: 256, do_lower_case: false },
      }),
    );
    expect(s).toEqual({ pooling: 'mean', normalize: true, maxLength: 256, similarity: 'cosine' });
  });

  it('reads CLS pooling without Normalize, the newer pooling_mode field and prompts', () => {
    const s = sentenceTransformersSettings(
      folder({
        'modules.json': [TRANSFORMER, POOLING],
        '1_Pooling/config.json': { pooling_mode: 'cls' },
        'config_sentence_transformers.json': { prompts: { query: 'q: ', document: 'd: ' } },
      }),
    );
    expect(s).toEqual({ pooling: 'cls', normalize: false, queryPrefix: 'q: ', docPrefix: 'd: ', similarity: 'dot' });
  });

  it('is empty for a plain Hugging Face folder', () => {
    expect(sentenceTransformersSettings(folder({}))).toEqual({});
  });

  it('rejects modules and poolings it cannot reproduce', () => {
    const dense = { idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' };
    expect(() => sentenceTransformersSettings(folder({ 'modules.json': [TRANSFORMER, POOLING, dense] }))).toThrow(/module "sentence_transformers\.models\.Dense" is not supported/);
    expect(() =>
      sentenceTransformersSettings(folder({ 'modules.json': [TRANSFORMER, POOLING], '1_Pooling/config.json': { pooling_mode_max_tokens: true } })),
    ).toThrow(/1_Pooling\/config\.json: pooling max is not supported/);
    expect(() => sentenceTransformersSettings(folder({ 'modules.json': [TRANSFORMER, POOLING] }))).toThrow(/1_Pooling\/config\.json: missing/);
  });
});
