// The corpus WordPiece vocabulary (vocab-builder.ts) and the random small encoder around it
// (init-encoder.ts, `expandr init-encoder`): a hand-checked vocabulary, agreement with the tokenizer's own
// word splitting, no [UNK] for ASCII, and a folder that loadBertEncoder reads and encodes with.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initEncoderCommand } from '../../src/cli/init-encoder-command.ts';
import { loadBertEncoder } from '../../src/encoder/encoder.ts';
import { initEncoder } from '../../src/encoder/init-encoder.ts';
import { readModelDir } from '../../src/encoder/node-files.ts';
import { tokenizerJsonFromVocab, WordPieceTokenizer } from '../../src/encoder/tokenizer.ts';
import { bertBasicTokenize, buildWordPieceVocab, VOCAB_SPECIAL_TOKENS } from '../../src/encoder/vocab-builder.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { createRng } from '../../src/util/random.ts';
import { tinyFiles } from './helpers/beir-files.ts';

const tokenizerFor = (vocabText: string) => new WordPieceTokenizer(tokenizerJsonFromVocab(vocabText, {}), {});
/** Printable ASCII except upper case, in code order: what every vocabulary starts its characters with. */
const ASCII = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter((c) => c < 'A' || c > 'Z');

describe('bertBasicTokenize', () => {
  it('lowercases, strips accents, splits whitespace and each punctuation mark, spaces CJK', () => {
    expect(bertBasicTokenize('  Naïve CAFÉ-au-lait, (n=12)\t3.5%\u00a0中文 β-cells\u0000!')).toEqual([
      'naive', 'cafe', '-', 'au', '-', 'lait', ',', '(', 'n', '=', '12', ')', '3', '.', '5', '%', '中', '文', 'β', '-', 'cells', '!',
    ]);
    expect(bertBasicTokenize('')).toEqual([]);
  });

  it('cuts words exactly where the tokenizer (transformers.js BertNormalizer + BertPreTokenizer) does', () => {
    const texts = [
      'Héllo, WORLD! naïve café — 3.5% of β-cells (n=12) 中文 Ｆｕｌｌ ﬁne İstanbul Σίσυφος ＄5 ½ 한국어',
      "Don't stop: e.g. IL-6/STAT3 ... [1–3] <p> a_b #tag @user ~x `y` {z} |w| ^v",
    ];
    for (const t of texts) {
      // With every word in the vocabulary WordPiece keeps each word whole: its tokens are the pre-tokens.
      const tok = tokenizerFor(buildWordPieceVocab([t], { minWordCount: 1, suffixSlots: 0, vocabSize: 10_000 }).text);
      expect(tok.idsToTokens(tok.contentIds(t))).toEqual(bertBasicTokenize(t));
    }
  });
});

describe('buildWordPieceVocab', () => {
  const corpus = ['Cells grow. Cells divide!', 'the cell grows'];
  const options = { vocabSize: 145, minWordCount: 1, suffixSlots: 2, maxSuffixLength: 3, minSuffixCount: 1 };

  it('a hand example: specials 0–4, ASCII characters and their ## forms, words by count, endings of the rest', () => {
    const v = buildWordPieceVocab(corpus, options);
    expect(v.tokens.slice(0, 5)).toEqual([...VOCAB_SPECIAL_TOKENS]);
    expect(v.tokens.slice(5, 5 + ASCII.length)).toEqual(ASCII); // 68 characters, no A–Z (lowercased)
    expect(v.tokens.slice(5 + ASCII.length, 5 + 2 * ASCII.length)).toEqual(ASCII.map((c) => `##${c}`));
    // cells ×2 first, then the count-1 words by string order: only 'cell' fits before the 2 ending slots.
    // Endings of the words left out (divide, grow, grows, the), count 1 each: ##de, ##he, ##ide, ##ow, …
    expect(v.tokens.slice(141)).toEqual(['cells', 'cell', '##de', '##he']);
    expect(v.text).toBe(v.tokens.join('\n') + '\n');
    expect(v.stats).toEqual({ specials: 5, characters: 136, words: 2, suffixes: 2, distinctWords: 8, wordOccurrences: 9 });

    const tok = tokenizerFor(v.text);
    expect(tok.idsToTokens(tok.contentIds('Cells grow; the cell divides'))).toEqual(
      ['cells', 'g', '##r', '##o', '##w', ';', 't', '##he', 'cell', 'd', '##i', '##v', '##i', '##de', '##s'],
    );
    expect(tok.encode('cell', 8)).toEqual([2, 142, 3]); // [CLS] cell [SEP]
    expect(tok.padId).toBe(0);
  });

  it('leftover room goes to more words; minWordCount and vocabSize bound the words', () => {
    const v = buildWordPieceVocab(corpus, { ...options, vocabSize: 150, suffixSlots: 0, minSuffixCount: 100 });
    expect(v.tokens.slice(141)).toEqual(['cells', 'cell', 'divide', 'grow', 'grows', 'the']);
    // Only 'cells' is seen twice; the endings then take the room the words leave ('##ell' from cell's ending).
    expect(buildWordPieceVocab(corpus, { ...options, minWordCount: 2, suffixSlots: 0 }).tokens.slice(141)).toEqual(['cells', '##de', '##ell', '##he']);
    expect(() => buildWordPieceVocab(corpus, { vocabSize: 100 })).toThrow(/below the 141 special tokens and characters/);
  });

  it('is deterministic and the same from texts or from word counts', () => {
    const a = buildWordPieceVocab(corpus, options);
    expect(buildWordPieceVocab([...corpus], options).text).toBe(a.text);
    const counts = new Map<string, number>();
    for (const t of corpus) for (const w of bertBasicTokenize(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
    expect(buildWordPieceVocab(counts, options).text).toBe(a.text);
  });

  it('keeps characters seen beyond ASCII; any ASCII text tokenizes without [UNK]', () => {
    const v = buildWordPieceVocab(['Naïve café, β-cells and 中 ½'], { vocabSize: 400, minWordCount: 1 });
    for (const t of ['naive', 'β', '##β', '中', '½', '##½']) expect(v.tokens).toContain(t);
    const tok = tokenizerFor(v.text);
    const rng = createRng(7);
    for (let i = 0; i < 50; i++) {
      const text = Array.from({ length: 200 }, () => (rng.int(6) === 0 ? ' ' : String.fromCharCode(33 + rng.int(94)))).join('');
      expect(tok.contentIds(text)).not.toContain(1); // [UNK]
    }
    expect(tok.contentIds('β-cells naïve ½')).not.toContain(1);
  });
});

describe('initEncoder / expandr init-encoder', () => {
  const corpus = ['Cells grow and divide.', 'The cell cycle controls growth.', 'Tumour cells divide quickly.'];
  const small = { hidden: 16, layers: 1, heads: 2, intermediate: 32, maxPositions: 32, maxLength: 16, vocab: { vocabSize: 200 } };
  const tmp = mkdtempSync(join(tmpdir(), 'expandr-init-encoder-'));

  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes a sentence-transformers folder that loadBertEncoder reads and encodes with', async () => {
    const r = initEncoder(corpus, { ...small, seed: 3 });
    expect([...r.files.keys()].sort()).toEqual([
      '1_Pooling/config.json', 'config.json', 'config_sentence_transformers.json', 'model.safetensors', 'modules.json',
      'sentence_bert_config.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt',
    ]);
    expect(r.config).toMatchObject({ vocabSize: r.vocab.tokens.length, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 32 });
    const st = readSafetensors(r.files.get('model.safetensors')!);
    const word = st.getFloat32('embeddings.word_embeddings.weight');
    expect(word.length).toBe(r.vocab.tokens.length * 16);
    expect([...word.subarray(0, 16)].every((x) => x === 0)).toBe(true); // [PAD] row zeroed, as transformers does
    const rest = word.subarray(16);
    const std = Math.sqrt(rest.reduce((s, x) => s + x * x, 0) / rest.length);
    expect(std).toBeGreaterThan(0.017);
    expect(std).toBeLessThan(0.023); // BERT's initializer_range 0.02

    const encoder = await loadBertEncoder(r.files);
    try {
      expect(encoder.settings).toEqual({ pooling: 'mean', normalize: false, queryPrefix: '', docPrefix: '', maxLength: 16, similarity: 'dot' });
      expect(encoder.tokenizer.vocabSize).toBe(r.config.vocabSize);
      expect(encoder.tokenizer.idsToTokens(encoder.tokenIds('Cells divide', 'doc'))).toEqual(['[CLS]', 'cells', 'divide', '[SEP]']);
      const v = await encoder.encode(['cells grow', 'a much longer text about the cell cycle and growth of tumour cells that gets truncated'], 'doc');
      expect(v.length).toBe(2 * 16);
      expect(v.every(Number.isFinite)).toBe(true);
    } finally {
      encoder.dispose();
    }
    // Same seed, same bytes; another seed, other weights.
    expect(initEncoder(corpus, { ...small, seed: 3 }).files.get('model.safetensors')).toEqual(r.files.get('model.safetensors'));
    expect(initEncoder(corpus, { ...small, seed: 4 }).files.get('model.safetensors')).not.toEqual(r.files.get('model.safetensors'));
    expect(() => initEncoder(corpus, { ...small, maxLength: 64 })).toThrow(/maxLength/);
  });

  it('the command reads a BEIR corpus and writes the folder (--json)', async () => {
    const data = join(tmp, 'tiny');
    for (const [name, text] of Object.entries(tinyFiles(''))) {
      mkdirSync(join(data, name, '..'), { recursive: true });
      writeFileSync(join(data, name), text);
    }
    const out = join(tmp, 'enc');
    const args = ['--data', data, '--out', out, '--vocab-size', '300', '--hidden', '16', '--layers', '1', '--heads', '2', '--intermediate', '32'];
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await initEncoderCommand([...args, '--max-length', '24', '--pooling', 'cls', '--normalize', '--min-count', '1', '--quiet', '--json'], new AbortController().signal);
      const json = JSON.parse(String(log.mock.calls.at(-1)![0]));
      expect(json).toMatchObject({ out, docs: 4, config: { hidden: 16, layers: 1, maxPositions: 512 }, settings: { pooling: 'cls', normalize: true, maxLength: 24 } });
      await expect(initEncoderCommand([...args, '--heads', '3', '--quiet'], new AbortController().signal)).rejects.toThrow(/multiple of --heads/);
      await expect(initEncoderCommand([...args, '--pooling', 'max', '--quiet'], new AbortController().signal)).rejects.toThrow(/--pooling/);
    } finally {
      log.mockRestore();
    }
    expect(readFileSync(join(out, 'vocab.txt'), 'utf8')).toMatch(/^\[PAD\]\n\[UNK\]\n\[CLS\]\n\[SEP\]\n\[MASK\]\n/);
    const encoder = await loadBertEncoder(await readModelDir(out));
    try {
      expect(encoder.settings).toMatchObject({ pooling: 'cls', normalize: true, maxLength: 24, similarity: 'cosine' });
      expect(encoder.tokenizer.idsToTokens(encoder.tokenIds('Kittens purr', 'query'))).toEqual(['[CLS]', 'kittens', 'purr', '[SEP]']);
      const v = await encoder.encode(['young cats purr'], 'query');
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    } finally {
      encoder.dispose();
    }
  });
});
