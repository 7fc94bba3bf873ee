// CPU generation through llama.cpp in the page: @wllama/wllama (llama.cpp compiled to wasm, run in a Worker it
// creates itself) as a TextGenerator, for a GGUF the user dropped (or that GGUF with a run's adapter merged in,
// wllama-model.ts). Same seam and semantics as the tfjs decoder (src/pipeline/generators.ts):
//  - prompt ids are ours: encodePrompt with the GGUF's own tokenizer (tokenizer-json.ts), fed to llama.cpp as
//    ids, so the chat template and tokens are exactly what the tfjs decoder sees;
//  - greedy at temperature 0 is llama.cpp's argmax (top-k 1); otherwise each token is drawn by our sampler
//    (sampling.ts: temperature, then top-p) from llama.cpp's probabilities, with prompt i's own coins —
//    createRng(promptSeed(...)) — so a text depends on (seed, prompt) only, as on tfjs. llama.cpp's own
//    sampler takes its seed once per model load, which cannot give each prompt its own stream;
//  - EOS: every stop id of the GGUF's tokenizer; a prompt that leaves no room in the context comes back as a
//    GenerationFailure, and so does an engine error for one prompt (the others still run).
// wllama keeps one sequence, so prompts run one after another (batching happens inside llama.cpp's matmuls).
import type { WllamaAssets } from './wllama-assets.ts';
import { nucleusFromTop } from './wllama-nucleus.ts';
import { wllamaThreads } from '../llm/wllama-threads.ts';
import { ExpandrError, throwIfAborted } from '../errors.ts';
import { encodePrompt } from '../llm/generate.ts';
import { sampleToken } from '../llm/sampling.ts';
import type { DecoderTokenizer } from '../llm/tokenizer.ts';
import type { GenerationProvenance } from '../pipeline/generation-provenance.ts';
import { promptSeed } from '../pipeline/generators.ts';
import type { GenerateWork, GenerationFailure, SamplingSettings, TextGenerator } from '../pipeline/types.ts';
import { createRng } from '../util/random.ts';

/** Context (prompt + new tokens) llama.cpp allocates its KV cache for, unless the model has fewer positions. */
export const WLLAMA_CONTEXT = 4096;

/** Tokens asked of llama.cpp per sampled step; the whole vocabulary only when they do not settle the nucleus. */
export const SAMPLE_TOP_K = 256;

/** llama.cpp's softmax has no max subtraction: a logit past ~88 overflows float32. */
function checkFinite(probs: readonly { token: number; p: number }[]): void {
  const bad = probs.find((t) => !Number.isFinite(t.p));
  if (bad) throw new ExpandrError(`llama.cpp's probabilities overflowed (p = ${bad.p} for token ${bad.token}): generate this model on the tfjs decoder (llm.engine "tfjs").`);
}

/** What the generator needs of wllama's Wllama class (tests pass fakes). */
export interface WllamaLike {
  loadModel(blobs: Blob[], config: { n_ctx: number; n_threads: number; seed?: number }): Promise<void>;
  decode(tokens: number[], options: Record<string, never>): Promise<{ nPast: number }>;
  /** Softmax (temperature 1) of the last position's logits, largest first; topK -1 = the whole vocabulary. */
  getLogits(topK: number): Promise<{ token: number; p: number }[]>;
  samplingInit(config: { temp: number; top_k: number }): Promise<void>;
  samplingSample(): Promise<{ token: number }>;
  kvClear(): Promise<void>;
  /** llama.cpp's tokenizer; `special` reads control tokens such as <|im_start|> as one id. */
  tokenize(text: string, special: boolean): Promise<number[]>;
  /** llama.cpp's rendering of the GGUF's chat template. */
  formatChat(messages: { role: 'system' | 'user' | 'assistant'; content: string }[], addAssistant: boolean): Promise<string>;
  exit(): Promise<void>;
  isMultithread(): boolean;
  getNumThreads(): number;
  getLoadedContextInfo(): { n_ctx: number; n_vocab: number };
}

/** Which wasm build ran and with how many threads (the benchmark and the page report it). */
export interface WllamaRuntime {
  multiThread: boolean;
  threads: number;
  context: number;
}

export interface WllamaGeneratorOptions {
  /** The GGUF (one file). */
  model: Blob;
  /** The GGUF's tokenizer as ours (ggufTokenizer in wllama-model.ts). */
  tokenizer: DecoderTokenizer;
  /** Cache id: 'NAME' or 'NAME+lora:HASH' (generatorId), as the tfjs decoder names the same weights. */
  id: string;
  /** The GGUF's dominant tensor type, e.g. 'Q4_1'. */
  precision: string;
  chat: boolean;
  system?: string;
  /** The model's positions (the context is min(this, WLLAMA_CONTEXT)). */
  maxSeqLen: number;
  /** Threads for llama.cpp; > 1 runs the threaded build where the page is cross-origin isolated (default: wllama's, half the cores). */
  threads?: number;
  /** Creates the engine (default: wllama's Wllama with the app's own wasm files). */
  engine?: () => Promise<WllamaLike>;
  assets?: WllamaAssets;
}

export class WllamaGenerator implements TextGenerator {
  readonly provenance: GenerationProvenance;
  #disposed = false;

  private constructor(
    readonly id: string,
    private readonly engine: WllamaLike,
    private readonly options: WllamaGeneratorOptions,
    readonly runtime: WllamaRuntime,
  ) {
    // Our sampler on llama.cpp's distribution (per-prompt seeds), not llama.cpp's chain as in the runner.
    this.provenance = { engine: 'llama.cpp', precision: options.precision, model: id, sampler: 'expandr' };
  }

  /** Loads the GGUF into llama.cpp. */
  static async create(options: WllamaGeneratorOptions): Promise<WllamaGenerator> {
    if (options.chat && !options.tokenizer.hasChatTemplate) {
      throw new ExpandrError(`${options.id} has no chat template, so prompts cannot be sent as chat messages: set llm.chat to false for this model.`);
    }
    const engine = await (options.engine ?? (() => defaultEngine(options.assets)))();
    const context = Math.min(options.maxSeqLen, WLLAMA_CONTEXT);
    const threads = wllamaThreads(globalThis.navigator?.hardwareConcurrency ?? 1, globalThis.crossOriginIsolated === true, options.threads);
    try {
      await withDocumentBase(() => engine.loadModel([options.model], { n_ctx: context, n_threads: threads }));
    } catch (e) {
      await engine.exit().catch(() => undefined);
      throw new ExpandrError(`llama.cpp (wllama) could not load ${options.id}: ${e instanceof Error ? e.message : String(e)}. Check that the .gguf is complete, or generate on the tfjs decoder (llm.engine "tfjs").`);
    }
    const runtime = { multiThread: engine.isMultithread(), threads: engine.getNumThreads(), context: engine.getLoadedContextInfo().n_ctx };
    return new WllamaGenerator(options.id, engine, options, runtime);
  }

  /** The ids llama.cpp is fed for a prompt (the chat template rendered by our tokenizer). */
  promptIds(prompt: string): number[] {
    return encodePrompt(this.options.tokenizer, prompt, { chat: this.options.chat, system: this.options.system });
  }

  /**
   * What llama.cpp makes of a prompt: its tokenization of our rendered prompt (`ids`, which must equal
   * promptIds) and its own rendering of the chat template (`template`). The latter is llama.cpp's built-in
   * chatml, not the GGUF's Jinja template: SmolLM2's Jinja adds a default system message that it leaves out,
   * which is why llama.cpp is fed our ids and never its chat API.
   */
  async llamaCppPrompt(prompt: string): Promise<{ text: string; ids: number[]; template: string }> {
    const { chat, system, tokenizer } = this.options;
    const messages = [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user' as const, content: prompt }];
    const text = chat ? tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }) : prompt;
    const template = chat ? await this.engine.formatChat(messages, true) : prompt;
    return { text, ids: await this.engine.tokenize(text, true), template };
  }

  async generate(prompts: readonly string[], sampling: SamplingSettings, work: GenerateWork = {}): Promise<(string | GenerationFailure)[]> {
    if (this.#disposed) throw new ExpandrError(`${this.id} was disposed: create the generator again.`);
    const out: (string | GenerationFailure)[] = [];
    const total = prompts.length;
    work.onProgress?.({ stage: 'llm:generate', done: 0, total, unit: 'prompts' });
    for (let i = 0; i < total; i++) {
      throwIfAborted(work.signal, 'Generation');
      const ids = this.promptIds(prompts[i]);
      if (ids.length >= this.runtime.context) {
        out.push({ failed: `a prompt of ${ids.length} tokens leaves no room in llama.cpp's context of ${this.runtime.context} tokens` });
      } else {
        try {
          const tokens = await this.generateIds(ids, sampling, promptSeed(sampling, work, i), work);
          out.push(this.options.tokenizer.decode(tokens, { previous: ids[ids.length - 1] }));
        } catch (e) {
          if (work.signal?.aborted) throw e;
          out.push({ failed: `llama.cpp: ${e instanceof Error ? e.message : String(e)}` });
        }
      }
      work.onProgress?.({ stage: 'llm:generate', done: i + 1, total, unit: 'prompts' });
    }
    return out;
  }

  /** New token ids for one prompt's ids (without the stop token). */
  async generateIds(ids: readonly number[], sampling: SamplingSettings, seed: number, work: GenerateWork = {}): Promise<number[]> {
    const e = this.engine;
    const greedy = sampling.temperature === 0;
    const rng = createRng(seed);
    const stop = new Set(this.options.tokenizer.eosIds);
    const maxNew = Math.min(sampling.maxTokens, this.runtime.context - ids.length);
    const tokens: number[] = [];
    await e.kvClear();
    if (greedy) await e.samplingInit({ temp: 0, top_k: 1 });
    await e.decode([...ids], {});
    for (let n = 0; n < maxNew; n++) {
      const next = greedy ? (await e.samplingSample()).token : await this.sampleNext(sampling, rng.float());
      if (stop.has(next)) break;
      tokens.push(next);
      if (n === maxNew - 1) break;
      throwIfAborted(work.signal, 'Generation');
      await e.decode([next], {});
    }
    return tokens;
  }

  /**
   * Our sampler on llama.cpp's distribution (log p is the logits up to a constant, which softmax ignores):
   * from its SAMPLE_TOP_K most probable tokens where they settle the nucleus (wllama-nucleus.ts), else from
   * the whole vocabulary.
   */
  private async sampleNext(sampling: SamplingSettings, coin: number): Promise<number> {
    const vocab = this.engine.getLoadedContextInfo().n_vocab;
    if (sampling.topP > 0 && sampling.topP < 1) {
      const top = await this.engine.getLogits(SAMPLE_TOP_K);
      checkFinite(top);
      const picked = nucleusFromTop(top, sampling.temperature, sampling.topP, coin, vocab);
      if (picked !== null) return picked;
    }
    const probs = await this.engine.getLogits(-1);
    checkFinite(probs);
    const logits = new Float32Array(vocab).fill(-Infinity);
    for (const { token, p } of probs) if (p > 0) logits[token] = Math.log(p);
    return sampleToken(logits, { temperature: sampling.temperature, topP: sampling.topP }, coin);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    void this.engine.exit().catch(() => undefined);
  }
}

async function defaultEngine(assets?: WllamaAssets): Promise<WllamaLike> {
  const [{ Wllama, LoggerWithoutDebug }, urls] = await Promise.all([import('@wllama/wllama/esm/index.js'), assets ?? import('./wllama-assets.ts').then((m) => m.wllamaAssets())]);
  return new Wllama({ 'single-thread/wllama.wasm': urls.singleThread, 'multi-thread/wllama.wasm': urls.multiThread }, { logger: LoggerWithoutDebug, suppressNativeLog: true }) as unknown as WllamaLike;
}

/**
 * wllama 2.4's loadModel resolves the wasm URLs against `document.baseURI` (utils.ts absoluteUrl) just after
 * its first await, and a worker (our core runs in one) has no document. The URLs are absolute already, so any
 * base does: a stand-in with only `baseURI` exists from the call until the next macrotask (that step runs on
 * microtasks), then goes. Where a document exists nothing is touched.
 */
async function withDocumentBase<T>(load: () => Promise<T>): Promise<T> {
  const g = globalThis as { document?: unknown };
  if (g.document !== undefined) return load();
  Object.defineProperty(g, 'document', { value: { baseURI: 'about:blank' }, configurable: true });
  let pending: Promise<T>;
  try {
    pending = load();
    pending.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    await new Promise((r) => setTimeout(r, 0));
  } finally {
    delete g.document;
  }
  return pending;
}
