// Tiny random Qwen2 (q/k/v bias, GQA, tied embeddings) and Llama 3 (llama3 RoPE scaling, MQA, untied
// lm_head) folders written by transformers, against transformers' own float64 logits and greedy generate()
// (fixtures/tiny-decoders-torch.json, tests/reference/gen/tiny_qwen2.py), on the cpu and wasm backends.
// Also: the KV-cache path against our full forward, and the HF tokenizer + chat template against Python's.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useBackend, type BackendName } from '../../src/cli/backend.ts';
import { sourcesFromPath } from '../../src/data/node-sources.ts';
import { modelFilesFromSources } from '../../src/llm/files.ts';
import { generate } from '../../src/llm/generate.ts';
import type { LlamaModel } from '../../src/llm/llama.ts';
import { loadDecoder } from '../../src/llm/load.ts';
import { ropeInvFreq } from '../../src/llm/rope.ts';
import type { DecoderTokenizer } from '../../src/llm/tokenizer.ts';

/** Issue 4's bar for float32 tfjs against the float64 PyTorch answer. */
const LOGIT_TOLERANCE = 1e-4;
/** Incremental (KV cache) against full-sequence logits: the same float32 arithmetic, grouped differently. */
const KV_TOLERANCE = 1e-5;

type Logits = number[][];
interface ModelFixture {
  sequences: { ids: number[]; logits: Logits }[];
  left_padded: { ids: number[][]; mask: number[][]; logits: (number[] | null)[][] };
  right_padded: { ids: number[][]; mask: number[][]; logits: (number[] | null)[][] };
  greedy: { prompt: number[]; tokens: number[] }[];
  inv_freq: number[];
}
const FIXTURE = JSON.parse(readFileSync(new URL('./fixtures/tiny-decoders-torch.json', import.meta.url), 'utf8')) as Record<string, ModelFixture> & {
  tokenizer: { texts: { text: string; ids: number[] }[]; chat: { messages: { role: 'user'; content: string }[]; rendered: string; ids: number[] } };
};
const MODELS = ['tiny-qwen2', 'tiny-llama3'] as const;
const dir = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** max |a − b| over the positions the reference has (padding is null there). */
function maxDiff(got: Logits, want: (number[] | null)[]): number {
  let m = 0;
  want.forEach((row, t) => row?.forEach((v, i) => (m = Math.max(m, Math.abs(v - got[t][i])))));
  return m;
}

async function logitsOf(model: LlamaModel, ids: number[][], mask?: number[][]): Promise<Logits[]> {
  const T = ids[0].length;
  const out = tf.tidy(() =>
    model.logits(tf.tensor2d(ids.flat(), [ids.length, T], 'int32'), mask ? tf.tensor2d(mask.flat(), [ids.length, T], 'int32') : undefined),
  );
  const arr = (await out.array()) as Logits[];
  out.dispose();
  return arr;
}

describe.each(MODELS.flatMap((m) => (['cpu', 'wasm'] as BackendName[]).map((b) => [m, b] as const)))('%s on %s', (name, backend) => {
  const fx = FIXTURE[name];
  let model: LlamaModel;
  beforeAll(async () => {
    await useBackend(backend);
    ({ model } = await loadDecoder(modelFilesFromSources(await sourcesFromPath(dir(name)))));
  });
  afterAll(() => model?.dispose());

  test('config and RoPE frequencies as transformers reads them', () => {
    const c = model.config;
    expect(c.arch).toBe(name === 'tiny-qwen2' ? 'qwen2' : 'llama');
    expect(c.attentionBias).toBe(name === 'tiny-qwen2');
    expect(c.tiedEmbeddings).toBe(name === 'tiny-qwen2');
    const inv = ropeInvFreq(c.headDim, c.ropeTheta, c.ropeScaling);
    fx.inv_freq.forEach((v, i) => expect(Math.abs(inv[i] - v) / v).toBeLessThan(1e-6));
  });

  test(`single sequences: logits within ${LOGIT_TOLERANCE}`, async () => {
    let worst = 0;
    for (const s of fx.sequences) worst = Math.max(worst, maxDiff((await logitsOf(model, [s.ids]))[0], s.logits));
    console.log(`${name} ${backend}: single sequences max |Δlogit| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(LOGIT_TOLERANCE);
  });

  test.each(['left_padded', 'right_padded'] as const)(`%s batch: real positions within ${LOGIT_TOLERANCE}`, async (side) => {
    const b = fx[side];
    const got = await logitsOf(model, b.ids, b.mask);
    const worst = Math.max(...b.logits.map((want, i) => maxDiff(got[i], want)));
    console.log(`${name} ${backend}: ${side} max |Δlogit| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(LOGIT_TOLERANCE);
  });

  test(`KV cache, one token at a time and as a left-padded batch, equals the full forward within ${KV_TOLERANCE}`, async () => {
    const b = fx.left_padded;
    const full = await logitsOf(model, b.ids, b.mask);
    const cache = model.createCache(b.ids.length);
    let worst = 0;
    try {
      for (let t = 0; t < b.ids[0].length; t++) {
        const step = model.step(cache, b.ids.map((r) => [r[t]]), b.mask.map((r) => [r[t]])); // (B, V)
        const rows = (await step.array()) as number[][];
        step.dispose();
        rows.forEach((row, i) => b.mask[i][t] && row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - full[i][t][j])))));
      }
    } finally {
      cache.dispose();
    }
    expect(worst).toBeLessThanOrEqual(KV_TOLERANCE);
  });

  test('greedy generation equals transformers generate(), alone and as a left-padded batch', async () => {
    const prompts = fx.greedy.map((g) => g.prompt);
    const n = fx.greedy[0].tokens.length;
    const opts = { maxNewTokens: n, greedy: true, stopTokens: [] };
    for (const g of fx.greedy) expect((await generate(model, [g.prompt], opts)).tokens[0]).toEqual(g.tokens);
    expect((await generate(model, prompts, opts)).tokens).toEqual(fx.greedy.map((g) => g.tokens));
  });
});

describe('HF tokenizer (transformers.js) vs Python tokenizers', () => {
  let tokenizer: DecoderTokenizer;
  beforeAll(async () => {
    await useBackend('cpu');
    const loaded = await loadDecoder(modelFilesFromSources(await sourcesFromPath(dir('tiny-qwen2'))));
    loaded.model.dispose();
    tokenizer = loaded.tokenizer!;
  });

  test('encode gives the same ids; decode gives the text back', () => {
    for (const { text, ids } of FIXTURE.tokenizer.texts) {
      expect(tokenizer.encode(text), text).toEqual(ids);
      expect(tokenizer.decode(ids)).toBe(text);
    }
  });

  test('the chat template renders and tokenizes as apply_chat_template does', () => {
    const { messages, rendered, ids } = FIXTURE.tokenizer.chat;
    expect(tokenizer.hasChatTemplate).toBe(true);
    expect(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe(rendered);
    expect(tokenizer.encode(rendered, { addSpecialTokens: false })).toEqual(ids);
    expect(tokenizer.eosIds).toContain(2); // <|im_end|>, from config.json, generation_config.json and the tokenizer
  });
});
