// Autoregressive generation with a KV cache: greedy, temperature and top-p, seeded, for a batch of
// prompts at once.
//
// Batching: prompts are LEFT-padded to the longest and share one cache. Padding is masked as a key and
// RoPE positions count real tokens only, so each row computes what it would alone; after the prompt,
// every row appends one token per step, and a finished row keeps the batch in step with a masked pad.
// (Per-sequence caches would avoid the pad work but need one forward per row per step; on a GPU the
// batched matMuls win.) Each row draws from its own seeded stream — deriveSeed(seed, row) — so a row's
// sample does not depend on what else is in the batch.
import type * as tf from '@tensorflow/tfjs-core';
import { throwIfAborted } from '../errors.ts';
import type { WorkOptions } from '../util/progress.ts';
import { createRng, deriveSeed } from '../util/random.ts';
import type { LlamaModel } from './llama.ts';
import { sampleToken, type SamplingOptions } from './sampling.ts';
import type { ChatMessage, DecoderTokenizer } from './tokenizer.ts';

export interface GenerateOptions extends SamplingOptions, WorkOptions {
  /** New tokens per prompt at most (also capped by the model's positions). */
  maxNewTokens: number;
  /** Seed of the sampling streams (default 0). */
  seed?: number;
  /** Ids that end a row (not included in its output); default the model's eosIds. */
  stopTokens?: readonly number[];
  /** Id fed at padded positions (masked, so any valid id; default 0). */
  padId?: number;
  /** Called with each new token as it is chosen (streaming). */
  onToken?: (row: number, token: number) => void;
  /**
   * Uniform [0, 1) draws for a row, one per sampled token (default: mulberry32 seeded with
   * deriveSeed(seed, row)). Tests plug in llama2.c's xorshift to replay run.c's samples.
   */
  coins?: (row: number) => () => number;
}

export type FinishReason = 'stop' | 'length';

export interface GenerateResult {
  /** Per prompt, the new tokens (without the stop token). */
  tokens: number[][];
  finish: FinishReason[];
  /** Decoding steps run (forward passes after the prompt). */
  steps: number;
  /** Wall time of the prompt pass and of the decoding steps. */
  prefillMs: number;
  decodeMs: number;
}

/** Yield to the event loop every this many steps, so an abort (SIGINT, a UI cancel) gets through. */
const YIELD_EVERY = 8;

export async function generate(model: LlamaModel, prompts: number[][], opts: GenerateOptions): Promise<GenerateResult> {
  const B = prompts.length;
  if (B === 0) return { tokens: [], finish: [], steps: 0, prefillMs: 0, decodeMs: 0 };
  if (prompts.some((p) => p.length === 0)) {
    throw new RangeError('Every prompt needs at least one token (an empty text gives none when the tokenizer adds no BOS)');
  }
  const { vocab, maxSeqLen } = model.config;
  for (const p of prompts) for (const id of p) if (!(Number.isInteger(id) && id >= 0 && id < vocab)) throw new RangeError(`token id ${id} is outside the vocabulary (${vocab})`);
  const L = Math.max(...prompts.map((p) => p.length));
  const maxNew = Math.min(opts.maxNewTokens, maxSeqLen - L);
  if (L > maxSeqLen) throw new RangeError(`A prompt of ${L} tokens exceeds the model's ${maxSeqLen} positions`);
  const stop = new Set(opts.stopTokens ?? model.config.eosIds);
  const pad = opts.padId ?? 0;
  const coins = prompts.map((_, row) => {
    if (opts.coins) return opts.coins(row);
    const rng = createRng(deriveSeed(opts.seed ?? 0, row));
    return () => rng.float();
  });
  const tokens: number[][] = prompts.map(() => []);
  const finish: FinishReason[] = prompts.map(() => 'length');
  const done = prompts.map(() => false);
  const report = (n: number) => opts.onProgress?.({ stage: 'llm:generate', done: n, total: Math.max(maxNew, 0), unit: 'tokens' });

  const cache = model.createCache(B);
  let logits: tf.Tensor2D | null = null;
  let steps = 0;
  const t0 = performance.now();
  let t1 = t0;
  try {
    if (maxNew <= 0) return { tokens, finish, steps, prefillMs: 0, decodeMs: 0 };
    const rows = prompts.map((p) => [...new Array(L - p.length).fill(pad), ...p]); // left padding
    const mask = prompts.map((p) => [...new Array(L - p.length).fill(0), ...p.map(() => 1)]);
    logits = model.step(cache, rows, mask); // (B, V) at each row's last prompt token
    for (let n = 0; n < maxNew; n++) {
      const data = await logits.data(); // (B·V) row-major
      if (n === 0) t1 = performance.now();
      logits.dispose();
      logits = null;
      const next: number[][] = [];
      const nextMask: number[][] = [];
      for (let b = 0; b < B; b++) {
        if (!done[b]) {
          const greedy = opts.greedy || opts.temperature === 0;
          const coin = greedy ? 0 : coins[b](); // run.c draws a coin only when it samples
          const tok = sampleToken(data.subarray(b * vocab, (b + 1) * vocab), opts, coin);
          if (stop.has(tok)) {
            done[b] = true;
            finish[b] = 'stop';
          } else {
            tokens[b].push(tok);
            opts.onToken?.(b, tok);
          }
        }
        const live = !done[b];
        next.push([live ? tokens[b][tokens[b].length - 1] : pad]);
        nextMask.push([live ? 1 : 0]);
      }
      report(n + 1);
      if (done.every(Boolean) || n === maxNew - 1) break;
      throwIfAborted(opts.signal, 'Generation');
      if (n % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((r) => setTimeout(r, 0));
      logits = model.step(cache, next, nextMask);
      steps++;
    }
  } finally {
    logits?.dispose();
    cache.dispose();
  }
  return { tokens, finish, steps, prefillMs: t1 - t0, decodeMs: performance.now() - t1 };
}

export interface TextGenerateOptions extends GenerateOptions {
  /** Render each prompt as a user message through the chat template (default: when the tokenizer has one). */
  chat?: boolean;
  /** System message for chat prompts. */
  system?: string;
}

/** Prompt text → ids as the model expects: chat-templated for instruct models, else raw with BOS. */
export function encodePrompt(tokenizer: DecoderTokenizer, prompt: string, opts: { chat?: boolean; system?: string } = {}): number[] {
  if (opts.chat ?? tokenizer.hasChatTemplate) {
    const messages: ChatMessage[] = opts.system ? [{ role: 'system', content: opts.system }] : [];
    messages.push({ role: 'user', content: prompt });
    // The template writes BOS itself where the model wants one (transformers tokenizes it the same way).
    return tokenizer.encode(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
  }
  return tokenizer.encode(prompt, { addSpecialTokens: true });
}

/** Texts in, generated texts out (the prompt not repeated). */
export async function generateText(
  model: LlamaModel,
  tokenizer: DecoderTokenizer,
  prompts: string[],
  opts: TextGenerateOptions,
): Promise<{ texts: string[]; result: GenerateResult }> {
  const ids = prompts.map((p) => encodePrompt(tokenizer, p, opts));
  const result = await generate(model, ids, { stopTokens: tokenizer.eosIds, padId: tokenizer.padId, ...opts });
  const texts = result.tokens.map((t, b) => tokenizer.decode(t, { previous: ids[b][ids[b].length - 1] }));
  return { texts, result };
}
