// llama2.c's tokenizer on the shipped tok512.bin (encode/decode round trips, byte fallback, the
// space-after-BOS rule) and the llama2.c file readers' errors.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { readLlama2c } from '../../src/llm/llama2c.ts';
import { Llama2cTokenizer } from '../../src/llm/llama2c-tokenizer.ts';

const DIR = new URL('../../../shared/models/stories260K/', import.meta.url);
const TOK_BYTES = new Uint8Array(readFileSync(new URL('tok512.bin', DIR)));
const tok = Llama2cTokenizer.read(TOK_BYTES, 512, 'tok512.bin');

describe('tok512 encode/decode', () => {
  test('file facts: 512 pieces, specials first, byte fallback at 3..258', () => {
    expect(tok.vocabSize).toBe(512);
    expect(tok.pieces[1]).toBe('\n<s>\n');
    expect(tok.pieces[3]).toBe('<0x00>');
    expect(tok.pieces[258]).toBe('<0xFF>');
  });

  test.each([
    'Once upon a time, there was a little girl named Lily.',
    'Tom said: "Let\'s go!"\nThey ran   to the park.',
    'héllo wörld ☃ 🙂 — ÅÄÖ',
    'x',
    '   ',
  ])('round trip: decode(encode(%j)) gives the text back', (text) => {
    const ids = tok.encode(text); // BOS, the dummy-prefix space merged into the first piece, …
    expect(ids[0]).toBe(1);
    expect(tok.decode(ids.slice(1), { previous: 1 })).toBe(text); // … which decode drops after BOS
    expect(tok.encode(text, { addSpecialTokens: false })[0]).not.toBe(1);
  });

  test('empty text: BOS only (run.c adds no dummy prefix)', () => {
    expect(tok.encode('')).toEqual([1]);
    expect(tok.encode('', { addSpecialTokens: false })).toEqual([]);
  });

  test('code points outside the vocabulary fall back to their UTF-8 bytes (+3)', () => {
    const snowman = [...new TextEncoder().encode('☃')].map((b) => b + 3);
    const ids = tok.encode('☃', { addSpecialTokens: false });
    expect(ids.slice(-3)).toEqual(snowman);
  });

  test('merges pick the best-scoring pair first: common words become one piece', () => {
    const ids = tok.encode('Once', { addSpecialTokens: false });
    expect(ids.length).toBe(1);
    expect(tok.pieces[ids[0]]).toBe(' Once');
  });

  test('decode keeps the space when the previous token is not BOS; skips BOS/EOS', () => {
    const [, once] = tok.encode('Once');
    expect(tok.decode([once], { previous: 5 })).toBe(' Once');
    expect(tok.decode([1, once, 2])).toBe('Once');
  });

  test('a truncated or mismatched file is a ModelFormatError', () => {
    expect(() => Llama2cTokenizer.read(TOK_BYTES.subarray(0, 1000), 512)).toThrow(/ends after/);
    expect(() => Llama2cTokenizer.read(TOK_BYTES, 500)).toThrow(/larger vocabulary/);
    expect(() => Llama2cTokenizer.read(new Uint8Array(2), 512)).toThrow(ModelFormatError);
  });
});

describe('readLlama2c', () => {
  const header = (ints: number[]) => new Uint8Array(new Int32Array(ints).buffer);

  test('stories260K header: shared classifier, interleaved RoPE, run.c constants', () => {
    const { config, weights } = readLlama2c(new Uint8Array(readFileSync(new URL('stories260K.bin', DIR))));
    expect(config).toMatchObject({ dim: 64, hidden: 172, layers: 5, heads: 8, kvHeads: 4, headDim: 8, vocab: 512, maxSeqLen: 512 });
    expect(config).toMatchObject({ tiedEmbeddings: true, ropeLayout: 'interleaved', normEps: 1e-5, bosId: 1 });
    expect(weights.get('model.layers.4.self_attn.k_proj.weight')!.shape).toEqual([32, 64]);
    expect(weights.has('lm_head.weight')).toBe(false);
  });

  test('errors: short header, zero fields, truncated floats, the newer "ak42" format', () => {
    expect(() => readLlama2c(new Uint8Array(10))).toThrow(/28-byte header/);
    expect(() => readLlama2c(header([64, 172, 0, 8, 4, 512, 512]))).toThrow(/n_layers|layers = 0/);
    expect(() => readLlama2c(header([64, 172, 5, 8, 4, 512, 512]))).toThrow(/truncated/);
    expect(() => readLlama2c(header([0x616b3432, 1, 0, 0, 0, 0, 0]))).toThrow(/ak42/);
    expect(() => readLlama2c(header([64, 172, 5, 8, 3, 512, 512]))).toThrow(ModelFormatError);
  });
});
