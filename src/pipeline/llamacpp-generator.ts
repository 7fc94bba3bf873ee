// Node only (the runner; the page uses wllama): llama.cpp as a TextGenerator (types.ts), behind the same
// seam as the tfjs decoder (generators.ts). The same semantics: prompts rendered through the model's chat
// template by our tokenizer (encodePrompt: the very ids the tfjs decoder gets), prompt i sampled from its own
// seeded stream (promptSeed), temperature / top-p / greedy at T 0 / max tokens / stop at EOS, a prompt that
// does not fit the context a GenerationFailure. The sampler itself is llama.cpp's (node-engine.ts says
// where it differs from ours); the id is 'NAME' or 'NAME+lora:HASH' as for tfjs, and the provenance
// {engine 'llama.cpp', precision of the GGUF} keys the generation cache, so its texts never mix with tfjs's.
//
// A tuned model reaches llama.cpp as the base GGUF plus its adapter as llama.cpp's LoRA file
// (src/llm/gguf/lora-adapter-gguf.ts), written once per adapter content into `loraDir` and reused.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ExpandrError } from '../errors.ts';
import { encodePrompt } from '../llm/generate.ts';
import { readGgufFileInfo } from '../llm/llamacpp/gguf-file-info.ts';
import { ensureLoraGguf } from '../llm/llamacpp/lora-gguf-file.ts';
import { LlamaCppEngine, type LlamaCppParallelMode } from '../llm/llamacpp/node-engine.ts';
import type { DecoderTokenizer } from '../llm/tokenizer.ts';
import type { WorkOptions } from '../util/progress.ts';
import { adapterHash, generatorId, promptSeed } from './generators.ts';
import type { GenerationProvenance } from './generation-provenance.ts';
import type { GenerateWork, GenerationFailure, SamplingSettings, TextGenerator } from './types.ts';

/**
 * Prompts generated at once by default: one single-thread context per core, at most 4
 * (EXPANDR_LLAMACPP_PARALLEL overrides). Each context decodes its prompt alone, so a text depends only on (seed,
 * prompt), whatever the count (tests/unit/llamacpp-generator.test.ts). Measured at batch 8
 * (bench/RESULTS-generation.md): on 2 idle cores two contexts gave 142.6 / 129.6 tokens/s (greedy / sampled)
 * against 86.4 / 76.9 for one (1.65 / 1.69 ×); on the same cores shared with other jobs, no gain (72.6 / 65.9
 * against 74.6 / 63.6). 8 batched sequences in one context gave 101.5 / 95.6 and make a text depend on its batch
 * neighbours.
 */
export const DEFAULT_LLAMACPP_PARALLEL = Math.max(1, Math.min(4, availableParallelism()));

export interface LlamaCppGeneratorOptions {
  /** The .gguf llama.cpp loads (the base model, or a merged tuned one). */
  modelPath: string;
  /** Model name in the id, e.g. 'SmolLM2-135M-Instruct.Q4_1.gguf'. */
  name: string;
  /** Render prompts through the chat template (config llm.chat); 'auto': when the GGUF has one. */
  chat: boolean | 'auto';
  system?: string;
  /** The tuned model's adapter, for the id ('NAME+lora:HASH'); absent/null: the base model. */
  adapter?: ReadonlyMap<string, Uint8Array> | null;
  /** That adapter as a llama.cpp LoRA file, applied at run time on `modelPath` (the base); absent: `modelPath` is the whole model. */
  loraPath?: string;
  parallel?: number;
  mode?: LlamaCppParallelMode;
  threads?: number;
  contextSize?: number;
}

/** llama.cpp as a TextGenerator; dispose() frees the model. */
export class LlamaCppGenerator implements TextGenerator {
  private disposed = false;

  private constructor(
    readonly id: string,
    readonly provenance: GenerationProvenance,
    readonly engine: LlamaCppEngine,
    private readonly tokenizer: DecoderTokenizer,
    /** Prompts go through the chat template. */
    readonly chat: boolean,
    private readonly system: string | undefined,
  ) {}

  static async load(options: LlamaCppGeneratorOptions): Promise<LlamaCppGenerator> {
    if (!/\.gguf$/i.test(options.modelPath)) {
      throw new ExpandrError(`llama.cpp reads GGUF files only, got ${options.modelPath}: give a .gguf (expandr fetch-model smollm2-135m-instruct), or use the tfjs engine.`);
    }
    const info = await readGgufFileInfo(options.modelPath, options.name);
    const chat = options.chat === 'auto' ? info.tokenizer.hasChatTemplate : options.chat;
    if (chat && !info.tokenizer.hasChatTemplate) {
      throw new ExpandrError(`${options.name} has no chat template, so prompts cannot be sent as chat messages: set llm.chat to false for this model.`);
    }
    const engine = await LlamaCppEngine.load({
      modelPath: options.modelPath,
      parallel: options.parallel ?? (Number(process.env.EXPANDR_LLAMACPP_PARALLEL) || DEFAULT_LLAMACPP_PARALLEL),
      mode: options.mode,
      threads: options.threads,
      contextSize: options.contextSize,
      loraPath: options.loraPath,
    });
    const id = generatorId(options.name, options.adapter);
    const provenance: GenerationProvenance = { engine: 'llama.cpp', precision: info.precision, model: id, ...(options.loraPath ? { lora: 'runtime' as const } : {}) };
    return new LlamaCppGenerator(id, provenance, engine, info.tokenizer, chat, options.system);
  }

  /** The prompt's ids as the tfjs decoder gets them. */
  encode(prompt: string): number[] {
    return encodePrompt(this.tokenizer, prompt, { chat: this.chat, system: this.system });
  }

  async generate(prompts: readonly string[], sampling: SamplingSettings, work: GenerateWork = {}): Promise<(string | GenerationFailure)[]> {
    return (await this.generateWithTimes(prompts, sampling, work)).texts;
  }

  /** generate() plus token counts and the prompt-pass / decode times (for `expandr generate --json` and the benchmark). */
  async generateWithTimes(prompts: readonly string[], sampling: SamplingSettings, work: GenerateWork = {}) {
    if (this.disposed) throw new ExpandrError(`${this.id} was disposed: load the generator again.`);
    const ids = prompts.map((p) => this.encode(p));
    const total = prompts.length;
    work.onProgress?.({ stage: 'llm:generate', done: 0, total, unit: 'prompts' });
    const run = await this.engine.generate(ids, {
      maxTokens: sampling.maxTokens,
      temperature: sampling.temperature,
      topP: sampling.topP,
      seeds: prompts.map((_, i) => promptSeed(sampling, work, i)),
      stopIds: this.tokenizer.eosIds,
      signal: work.signal,
      onPromptDone: (done) => work.onProgress?.({ stage: 'llm:generate', done, total, unit: 'prompts' }),
    });
    const texts = run.tokens.map((t, i): string | GenerationFailure =>
      t === null
        ? { failed: `a prompt of ${ids[i].length} tokens and ${sampling.maxTokens} new ones do not fit llama.cpp's context of ${this.engine.contextSize} tokens` }
        : this.tokenizer.decode(t, { previous: ids[i][ids[i].length - 1] }),
    );
    return { texts, tokens: run.tokens, finish: run.finish, prefillMs: run.prefillMs, decodeMs: run.decodeMs };
  }

  /** Frees llama.cpp's model and contexts. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.engine.dispose();
  }
}

export interface LlamaCppSideOptions extends Omit<LlamaCppGeneratorOptions, 'modelPath' | 'adapter' | 'chat'> {
  chat: boolean;
  /** The base .gguf (the file the tfjs side also loads for log-probs and DPO). */
  gguf: string;
  /** Where tuned models' llama.cpp LoRA files go, one per adapter content (e.g. OUT/adapters/llama-cpp). */
  loraDir: string;
  work?: WorkOptions;
}

/** The llama.cpp LoRA file's path for an adapter: named by its content hash, written once. */
export const loraGgufPath = (dir: string, adapter: ReadonlyMap<string, Uint8Array>): string => join(dir, `${adapterHash(adapter)}.lora.gguf`);

/**
 * The LlmSide generator(adapter) for llama.cpp: the base GGUF itself, or the base GGUF with the adapter as a
 * llama.cpp LoRA file applied at run time (written on first use, reused after). Not a merged GGUF: merging
 * rewrites the adapted matrices as F16 and so changes their arithmetic as well (measured on SmolLM2's dev
 * expansions: experiments/scifact-smollm2-minilm.md), where a tuned row must differ from the base row by
 * its training only. The loop disposes each generator before the next; dispose is fire-and-forget there.
 */
export function llamaCppGeneratorFactory(options: LlamaCppSideOptions): (adapter: ReadonlyMap<string, Uint8Array> | null) => Promise<TextGenerator & { dispose(): void }> {
  return async (adapter) => {
    let loraPath: string | undefined;
    if (adapter) {
      loraPath = loraGgufPath(options.loraDir, adapter);
      await ensureLoraGguf(options.gguf, adapter, loraPath, options.work ?? {}, `${options.name} adapter`);
    }
    const gen = await LlamaCppGenerator.load({ ...options, modelPath: options.gguf, adapter, loraPath });
    return {
      id: gen.id,
      provenance: gen.provenance,
      generate: (prompts, sampling, work) => gen.generate(prompts, sampling, work),
      dispose: () => void gen.dispose().catch(() => undefined), // freeing native memory; nothing to report
    };
  };
}
