// GGUF → decoder on cases checkable by hand: llama.cpp tensor names → HF names, the q/k row un-permutation,
// config from metadata, Llama 3.1 rope_freqs, the tokenizer built from metadata (each llama.cpp pre-tokenizer
// on a toy vocabulary, control tokens, add_bos, end-of-generation ids) and the errors that name the file and
// the fix. The real SmolLM2 file against transformers and llama.cpp: tests/reference/gguf-smollm2.test.ts.
import { describe, expect, test } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { fromBytes } from '../../src/data/source.ts';
import { modelFilesFromBytes, modelFilesFromSources } from '../../src/llm/files.ts';
import { ggufDecoderConfig, hfWeightName, llama3ScalingFromFreqs, unpermuteRows } from '../../src/llm/gguf/decoder.ts';
import type { GgufFile, GgufTensorInfo } from '../../src/llm/gguf/reader.ts';
import { ggufTokenizerFiles, SUPPORTED_PRE_TOKENIZERS } from '../../src/llm/gguf/tokenizer-json.ts';
import { HfTokenizer } from '../../src/llm/hf-tokenizer.ts';
import { detectFormat, loadDecoderFiles } from '../../src/llm/load.ts';

const tensor = (name: string, dims: number[]): GgufTensorInfo => ({ name, dims, type: 0, offset: 0, byteLength: 0, elements: dims.reduce((a, b) => a * b, 1) });

/** A SmolLM2-shaped header (2 layers), tied: no output.weight. */
function smolFile(over: Record<string, unknown> = {}, tensors: GgufTensorInfo[] = [tensor('token_embd.weight', [8, 10])]): GgufFile {
  const meta: Record<string, unknown> = {
    'general.architecture': 'llama',
    'llama.block_count': 2,
    'llama.context_length': 8192,
    'llama.embedding_length': 8,
    'llama.feed_forward_length': 16,
    'llama.attention.head_count': 2,
    'llama.attention.head_count_kv': 1,
    'llama.rope.freq_base': 100000,
    'llama.attention.layer_norm_rms_epsilon': 1e-5,
    'llama.rope.dimension_count': 4,
    'tokenizer.ggml.tokens': Array.from({ length: 10 }, (_, i) => `t${i}`),
    ...over,
  };
  for (const [k, v] of Object.entries(meta)) if (v === undefined) delete meta[k];
  return { version: 3, alignment: 32, dataOffset: 0, metadata: new Map(Object.entries(meta)) as GgufFile['metadata'], metadataEntries: [], tensors };
}

describe('tensor names and the q/k permutation', () => {
  test('llama.cpp names map to Hugging Face names (transformers GGUF_TO_TRANSFORMERS_MAPPING)', () => {
    expect(hfWeightName('token_embd.weight')).toBe('model.embed_tokens.weight');
    expect(hfWeightName('output_norm.weight')).toBe('model.norm.weight');
    expect(hfWeightName('output.weight')).toBe('lm_head.weight');
    expect(hfWeightName('blk.12.attn_q.weight')).toBe('model.layers.12.self_attn.q_proj.weight');
    expect(hfWeightName('blk.0.attn_k.bias')).toBe('model.layers.0.self_attn.k_proj.bias');
    expect(hfWeightName('blk.3.attn_output.weight')).toBe('model.layers.3.self_attn.o_proj.weight');
    expect(hfWeightName('blk.3.attn_norm.weight')).toBe('model.layers.3.input_layernorm.weight');
    expect(hfWeightName('blk.3.ffn_norm.weight')).toBe('model.layers.3.post_attention_layernorm.weight');
    expect(hfWeightName('blk.3.ffn_gate.weight')).toBe('model.layers.3.mlp.gate_proj.weight');
    expect(hfWeightName('blk.3.ffn_up.weight')).toBe('model.layers.3.mlp.up_proj.weight');
    expect(hfWeightName('blk.3.ffn_down.weight')).toBe('model.layers.3.mlp.down_proj.weight');
    expect(hfWeightName('rope_freqs.weight')).toBeNull();
    expect(hfWeightName('blk.3.attn_rot_embd')).toBeNull();
  });

  test('within each head, HF row a·hd/2 + i is GGUF row 2i + a (FACTS.md), whole rows moved', () => {
    // 2 heads of 4 rows, 2 columns: GGUF rows hold (head, i, a) interleaved; value = 10·row + column.
    const gguf = Float32Array.from({ length: 16 }, (_, k) => 10 * Math.floor(k / 2) + (k % 2));
    const hf = unpermuteRows(gguf, 2, 4, 2);
    // head 0: GGUF rows 0 (i0,a0) 1 (i0,a1) 2 (i1,a0) 3 (i1,a1) → HF order a0i0, a0i1, a1i0, a1i1 = 0, 2, 1, 3.
    expect(Array.from(hf)).toEqual([0, 1, 20, 21, 10, 11, 30, 31, 40, 41, 60, 61, 50, 51, 70, 71]);
    expect(Array.from(unpermuteRows(Float32Array.from([0, 1, 2, 3]), 1, 4, 1))).toEqual([0, 2, 1, 3]); // a bias
  });
});

describe('config from metadata', () => {
  test('SmolLM2-shaped metadata: heads, kv heads, head_dim from rope.dimension_count, tied without output.weight', () => {
    const c = ggufDecoderConfig(smolFile(), 'x.gguf', { bosId: 1, stopIds: [2, 0] });
    expect(c).toMatchObject({ arch: 'llama', dim: 8, layers: 2, heads: 2, kvHeads: 1, headDim: 4, hidden: 16, vocab: 10, normEps: 1e-5 });
    expect(c).toMatchObject({ ropeTheta: 100000, ropeScaling: { type: 'none' }, ropeLayout: 'half', attentionBias: false, tiedEmbeddings: true, maxSeqLen: 8192, bosId: 1, eosIds: [2, 0] });
    expect(ggufDecoderConfig(smolFile({}, [tensor('output.weight', [8, 10])]), 'x.gguf').tiedEmbeddings).toBe(false);
  });

  test('qwen2: q/k/v biases, head_dim = hidden / heads; defaults for kv heads and rope base', () => {
    const qwen = Object.fromEntries(
      [...smolFile().metadata].map(([k, v]) => [k.replace(/^llama\./, 'qwen2.'), v]).filter(([k]) => !['qwen2.attention.head_count_kv', 'qwen2.rope.freq_base'].includes(k as string)),
    );
    const c = ggufDecoderConfig(smolFile({ ...qwen, 'general.architecture': 'qwen2' }), 'q.gguf');
    expect(c).toMatchObject({ arch: 'qwen2', attentionBias: true, headDim: 4, kvHeads: 2, ropeTheta: 10000 });
  });

  test('errors name the file, the problem and what to do', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ModelFormatError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(err(() => ggufDecoderConfig(smolFile({ 'general.architecture': 'gemma2' }), 'g.gguf'))).toMatch(/^g\.gguf: architecture "gemma2" is not supported\. .*llama, qwen2/);
    expect(err(() => ggufDecoderConfig(smolFile({ 'llama.block_count': undefined }), 'x.gguf'))).toMatch(/x\.gguf: no llama\.block_count/);
    expect(err(() => ggufDecoderConfig(smolFile({ 'llama.attention.head_count_kv': Int32Array.from([1, 1]) }), 'x.gguf'))).toMatch(/Per-layer values are not supported/);
    expect(err(() => ggufDecoderConfig(smolFile({ 'llama.rope.scaling.type': 'yarn' }), 'x.gguf'))).toMatch(/rope\.scaling\.type "yarn" is not supported/);
    expect(err(() => ggufDecoderConfig(smolFile({}, [tensor('blk.0.attn_q.bias', [8])]), 'x.gguf'))).toMatch(/q\/k\/v biases/);
  });

  test("Llama 3.1's rope_freqs (llama.cpp's converter rule, factor 32) become the llama3 rope scaling; others are refused", () => {
    const c = ggufDecoderConfig(smolFile({ 'llama.embedding_length': 128, 'llama.attention.head_count': 2, 'llama.rope.dimension_count': 64, 'llama.rope.freq_base': 500000 }), 'l.gguf');
    // convert_hf_to_gguf.py LlamaModel.generate_extra_tensors, with Llama 3.2's rope_scaling.
    const [factor, low, high, old] = [32, 1, 4, 8192];
    const freqs = Float32Array.from({ length: 32 }, (_, i) => {
      const wavelen = (2 * Math.PI) / (1 / 500000 ** ((2 * i) / 64));
      if (wavelen < old / high) return 1;
      if (wavelen > old / low) return factor;
      const smooth = (old / wavelen - low) / (high - low);
      return 1 / ((1 - smooth) / factor + smooth);
    });
    expect(llama3ScalingFromFreqs(freqs, c, 'l.gguf')).toEqual({ type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    expect(llama3ScalingFromFreqs(new Float32Array(32).fill(1), c, 'l.gguf')).toEqual({ type: 'none' });
    const odd = freqs.slice();
    odd[20] *= 1.01;
    expect(() => llama3ScalingFromFreqs(odd, c, 'l.gguf')).toThrow(/rope_freqs does not follow/);
  });
});

describe('tokenizer from metadata', () => {
  // Byte-level pieces (Ġ = space) with merges that cross the boundaries the pre-tokenizers draw.
  const TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', 'a', 'Ġ', '1', '2', '3', '4', '5', 'Ġ1', '12', '123', '45', 'b', 'ab', '<tool>'];
  const meta = (over: Record<string, unknown> = {}) =>
    new Map<string, unknown>(
      Object.entries({
        'general.architecture': 'llama',
        'tokenizer.ggml.model': 'gpt2',
        'tokenizer.ggml.pre': 'smollm',
        'tokenizer.ggml.tokens': TOKENS,
        'tokenizer.ggml.token_type': Int32Array.from(TOKENS, (t) => (t === '<tool>' ? 4 : t.startsWith('<|') ? 3 : 1)),
        'tokenizer.ggml.merges': ['Ġ 1', '1 2', '12 3', '4 5'],
        'tokenizer.ggml.bos_token_id': 1,
        'tokenizer.ggml.eos_token_id': 2,
        'tokenizer.ggml.add_bos_token': false,
        'tokenizer.chat_template': "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}",
        ...over,
      }).filter(([, v]) => v !== undefined),
    );
  async function tokenizer(over: Record<string, unknown> = {}): Promise<HfTokenizer> {
    const f = ggufTokenizerFiles(meta(over), 't.gguf');
    return HfTokenizer.load(modelFilesFromBytes({ 'tokenizer.json': JSON.stringify(f.tokenizerJson), 'tokenizer_config.json': JSON.stringify(f.tokenizerConfig) }), f.stopIds);
  }
  const ids = async (pre: string, text: string) => (await tokenizer({ 'tokenizer.ggml.pre': pre })).encode(text, { addSpecialTokens: false });

  test("each llama.cpp pre-tokenizer splits as its regexes say (smollm: digits first; llama3: 1-3 digits, whole vocabulary words; qwen2: single digits)", async () => {
    expect(await ids('smollm', 'a 1')).toEqual([3, 4, 5]); // "a " | "1": the space cannot merge with the digit
    expect(await ids('gpt-2', 'a 1')).toEqual([3, 10]); // "a" | " 1" → Ġ1
    expect(await ids('smollm', '12345')).toEqual([5, 6, 7, 8, 9]);
    expect(await ids('gpt-2', '12345')).toEqual([12, 13]);
    expect(await ids('llama-bpe', '12345')).toEqual([12, 13]); // "123" | "45"
    expect(await ids('qwen2', '12345')).toEqual([5, 6, 7, 8, 9]);
    expect(await ids('gpt-2', 'ab')).toEqual([3, 14]); // no merge "a b"
    expect(await ids('llama-bpe', 'ab')).toEqual([15]); // ignore_merges: a word in the vocabulary is taken whole
  });

  test('control and user-defined tokens stay whole; add_bos from the GGUF, else the pre-tokenizer\'s default', async () => {
    const tok = await tokenizer();
    expect(tok.encode('<|im_start|>a<tool>b<|im_end|>', { addSpecialTokens: true })).toEqual([1, 3, 16, 14, 2]);
    expect(tok.decode([1, 3, 16, 14, 2])).toBe('a<tool>b'); // control tokens skipped, user-defined kept
    expect(tok.applyChatTemplate([{ role: 'user', content: 'a' }])).toBe('<|im_start|>user\na<|im_end|>\n');
    expect((await tokenizer({ 'tokenizer.ggml.add_bos_token': true })).encode('a')).toEqual([1, 3]);
    expect((await tokenizer({ 'tokenizer.ggml.pre': 'llama-bpe', 'tokenizer.ggml.add_bos_token': undefined })).encode('a')).toEqual([1, 3]);
    expect((await tokenizer({ 'tokenizer.ggml.pre': 'qwen2', 'tokenizer.ggml.add_bos_token': undefined })).encode('a')).toEqual([3]);
  });

  test("stop ids: eos plus llama.cpp's end-of-generation texts in the vocabulary", () => {
    const f = ggufTokenizerFiles(meta(), 't.gguf');
    expect([...f.stopIds].sort()).toEqual([0, 2]);
    expect(f.tokenizerConfig).toMatchObject({ bos_token: '<|im_start|>', eos_token: '<|im_end|>', add_bos_token: false, clean_up_tokenization_spaces: false });
  });

  test('errors: no tokenizer, a SentencePiece tokenizer, an unknown pre-tokenizer (listing the supported ones)', () => {
    expect(() => ggufTokenizerFiles(meta({ 'tokenizer.ggml.model': undefined, 'tokenizer.ggml.tokens': undefined }), 'n.gguf')).toThrow(
      /^n\.gguf: no tokenizer in the GGUF metadata .*convert_hf_to_gguf/,
    );
    expect(() => ggufTokenizerFiles(meta({ 'tokenizer.ggml.model': 'llama' }), 's.gguf')).toThrow(/s\.gguf: tokenizer\.ggml\.model "llama" is not supported\. Only byte-level BPE/);
    const unknown = () => ggufTokenizerFiles(meta({ 'tokenizer.ggml.pre': 'tekken' }), 'p.gguf');
    expect(unknown).toThrow(ModelFormatError);
    expect(unknown).toThrow(new RegExp(`p\\.gguf: tokenizer\\.ggml\\.pre "tekken" is not supported\\. Supported pre-tokenizers: ${SUPPORTED_PRE_TOKENIZERS.join(', ')}`));
    for (const name of ['smollm', 'llama-bpe', 'qwen2', 'gpt-2']) expect(SUPPORTED_PRE_TOKENIZERS).toContain(name);
  });
});

describe('a folder with a .gguf', () => {
  test('is the GGUF format; two .gguf files (or split parts) are refused with the fix', async () => {
    const one = modelFilesFromBytes({ 'm.Q4_K_M.gguf': new Uint8Array(8), 'README.md': 'x' }, 'dir');
    expect(detectFormat(one)).toBe('gguf');
    expect(detectFormat(modelFilesFromBytes({ 'config.json': '{}', 'm.gguf': new Uint8Array(8) }))).toBe('hf');
    await expect(loadDecoderFiles(modelFilesFromBytes({ 'a.gguf': new Uint8Array(8), 'b.gguf': new Uint8Array(8) }, 'dir'))).rejects.toThrow(
      /dir: expected one \.gguf, found 2: a\.gguf, b\.gguf\. Keep exactly one/,
    );
    await expect(
      loadDecoderFiles(modelFilesFromBytes({ 'm-00001-of-00002.gguf': new Uint8Array(8), 'm-00002-of-00002.gguf': new Uint8Array(8) }, 'dir')),
    ).rejects.toThrow(/llama-gguf-split --merge/);
    await expect(loadDecoderFiles(one)).rejects.toThrow(/dir\/m\.Q4_K_M\.gguf/); // the reader names the file
  });

  test('a single file is a folder of one, named after it, read by range with or without seeking', async () => {
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
    for (const noSlice of [false, true]) {
      const files = modelFilesFromSources([fromBytes('m.gguf', bytes, { noSlice, chunkSize: 7 })]);
      expect([files.label, files.names(), files.size?.('m.gguf')]).toEqual(['m.gguf', ['m.gguf'], 100]);
      expect(Array.from(await files.readRange!('m.gguf', 10, 5))).toEqual([10, 11, 12, 13, 14]);
      expect(Array.from(await files.readRange!('m.gguf', 98, 5))).toEqual([98, 99]);
    }
  });
});
