// TextGenerator implementations (types.ts): the tfjs decoder, optionally with a LoRA adapter (runner, and
// the app when it must generate with a tuned model that WebLLM cannot load), and WebLLM (the app's fast
// path). Both sample prompt i from its own seeded stream — work.seeds[i], else deriveSeed(sampling.seed, i)
// — so a prompt's text depends on (seed, prompt) and not on its batch neighbours.
//
// Ids name what produced a text and so key the generation cache: 'NAME' for a base model,
// 'NAME+lora:HASH' with an adapter (HASH = first 16 hex digits of the SHA-256 of its files), and
// 'webllm:MODEL_ID' for WebLLM (a quantised model samples other texts than the fp32 tfjs decoder). Each
// generator also states its provenance (engine, weights' precision, model; generation-provenance.ts), which
// the cache keys on and every expanded row records. A prompt an engine cannot run comes back as a
// GenerationFailure, never as '' (generation-cache.ts retries it, then counts it; it is never cached).
import { Sha256 } from '../data/hash.ts';
import { ExpandrError } from '../errors.ts';
import { encodePrompt, generate } from '../llm/generate.ts';
import type { ModelFiles } from '../llm/files.ts';
import type { LlamaModel } from '../llm/llama.ts';
import { loadDecoder } from '../llm/load.ts';
import { readPeftAdapter } from '../llm/lora-peft.ts';
import type { LoraAdapters } from '../llm/lora.ts';
import type { DecoderTokenizer } from '../llm/tokenizer.ts';
import type { GenerationRequest, GenerationResult, Sampling } from '../llm/webllm/engine.ts';
import type { WorkOptions } from '../util/progress.ts';
import { createRng, deriveSeed } from '../util/random.ts';
import { webLlmPrecision, type GenerationProvenance } from './generation-provenance.ts';
import { decoderPrecision } from '../llm/weight-precision.ts';
import type { GenerateWork, GenerationFailure, SamplingSettings, TextGenerator } from './types.ts';

/** Prompts per forward batch on the tfjs decoder (all rows share one KV cache). */
export const DEFAULT_TFJS_BATCH = 8;

/** Hex digits of the adapter hash kept in a generator id. */
const ADAPTER_HASH_CHARS = 16;

/** SHA-256 over an adapter's files (names sorted; name, size and bytes of each), shortened. */
export function adapterHash(files: ReadonlyMap<string, Uint8Array>): string {
  const h = new Sha256();
  const enc = new TextEncoder();
  for (const name of [...files.keys()].sort()) {
    const bytes = files.get(name)!;
    h.update(enc.encode(`${name}\n${bytes.length}\n`)).update(bytes);
  }
  return h.hex().slice(0, ADAPTER_HASH_CHARS);
}

/** 'NAME' or 'NAME+lora:HASH'. */
export function generatorId(name: string, adapter?: ReadonlyMap<string, Uint8Array> | null): string {
  return adapter ? `${name}+lora:${adapterHash(adapter)}` : name;
}

/** The seed of prompt `promptIndex`'s stream in one generate call. */
export const promptSeed = (sampling: SamplingSettings, work: GenerateWork | undefined, promptIndex: number): number => work?.seeds?.[promptIndex] ?? deriveSeed(sampling.seed, promptIndex);

export interface TfjsGeneratorOptions {
  model: LlamaModel;
  tokenizer: DecoderTokenizer;
  /** Model name in the id, e.g. 'stories260K' or 'Qwen2.5-0.5B-Instruct'. */
  name: string;
  /** Render prompts through the chat template (config llm.chat); the tokenizer must have one. */
  chat: boolean;
  system?: string;
  /** A PEFT adapter (adapter_config.json + adapter_model.safetensors) to attach; absent/null = the base model. */
  adapter?: ReadonlyMap<string, Uint8Array> | null;
  /** Prompts per forward batch (default DEFAULT_TFJS_BATCH). */
  batchSize?: number;
  /** dispose() also disposes the model (default false: the caller owns it). */
  ownsModel?: boolean;
  /** Precision of the weights as stored (decoderPrecision of the files); default 'float32'. */
  precision?: string;
}

/** The tfjs decoder as a TextGenerator. Create with createTfjsGenerator / loadTfjsGenerator. */
export class TfjsGenerator implements TextGenerator {
  private disposed = false;

  readonly provenance: GenerationProvenance;

  private constructor(
    readonly id: string,
    private readonly options: TfjsGeneratorOptions,
    private readonly lora: LoraAdapters | null,
  ) {
    this.provenance = { engine: 'tfjs', precision: options.precision ?? 'float32', model: id };
  }

  /** Attaches the adapter (if any) to `options.model`; dispose() detaches it again. */
  static async create(options: TfjsGeneratorOptions): Promise<TfjsGenerator> {
    if (options.chat && !options.tokenizer.hasChatTemplate) {
      throw new ExpandrError(`${options.name} has no chat template, so prompts cannot be sent as chat messages: set llm.chat to false for this model.`);
    }
    const lora = options.adapter ? (await readPeftAdapter(options.model, options.adapter, `${options.name} adapter`)).lora : null;
    return new TfjsGenerator(generatorId(options.name, options.adapter), options, lora);
  }

  /** One text per prompt; a prompt with no room left for a token in the model's positions is a GenerationFailure (the others still run). */
  async generate(prompts: readonly string[], sampling: SamplingSettings, work: GenerateWork = {}): Promise<(string | GenerationFailure)[]> {
    if (this.disposed) throw new ExpandrError(`${this.id} was disposed: create the generator again.`);
    const { model, tokenizer } = this.options;
    const batch = Math.max(1, this.options.batchSize ?? DEFAULT_TFJS_BATCH);
    const ids = prompts.map((p) => encodePrompt(tokenizer, p, { chat: this.options.chat, system: this.options.system }));
    const out = new Array<string | GenerationFailure>(prompts.length);
    const positions = model.config.maxSeqLen;
    const fits = ids.map((p, i) => p.length < positions || ((out[i] = { failed: `a prompt of ${p.length} tokens leaves no room in ${this.options.name}'s ${positions} positions` }), false));
    // Similar lengths together: less padding per batch; each row keeps its own seed, so order is free.
    const order = ids.map((_, i) => i).filter((i) => fits[i]).sort((a, b) => ids[a].length - ids[b].length || a - b);
    const total = prompts.length;
    let done = total - order.length; // prompts that do not fit are done (failed)
    // Tokens generated so far (the rate a person watches); `done` also moves within a batch, by decoding steps.
    let tokens = 0;
    const counter = () => ({ done: tokens, unit: 'tokens' });
    work.onProgress?.({ stage: 'llm:generate', done, total, unit: 'prompts', counter: counter() });
    // The adapters this generator stands for: its own, or none (a base generator on a model that has some).
    const enabledBefore = model.adaptersEnabled;
    model.adaptersEnabled = this.lora !== null;
    try {
      for (let c = 0; c < order.length; c += batch) {
        const rows = order.slice(c, c + batch);
        const r = await generate(
          model,
          rows.map((i) => ids[i]),
          {
            maxNewTokens: sampling.maxTokens,
            temperature: sampling.temperature,
            topP: sampling.topP,
            greedy: sampling.temperature === 0,
            stopTokens: tokenizer.eosIds,
            padId: tokenizer.padId,
            signal: work.signal,
            coins: (row) => {
              const rng = createRng(promptSeed(sampling, work, rows[row]));
              return () => rng.float();
            },
            onToken: () => tokens++,
            onProgress: (p) => work.onProgress?.({ stage: 'llm:generate', done: done + (p.total > 0 ? (rows.length * Math.min(p.done, p.total)) / p.total : 0), total, unit: 'prompts', text: `${p.done}/${p.total} tokens`, counter: counter() }),
          },
        );
        rows.forEach((i, b) => (out[i] = tokenizer.decode(r.tokens[b], { previous: ids[i][ids[i].length - 1] })));
        done += rows.length;
        work.onProgress?.({ stage: 'llm:generate', done, total, unit: 'prompts', counter: counter() });
      }
    } finally {
      model.adaptersEnabled = enabledBefore;
    }
    return out;
  }

  /** Detaches and frees the adapter (and the model when ownsModel). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.lora) {
      this.lora.detach(this.options.model);
      this.lora.dispose();
    }
    if (this.options.ownsModel) this.options.model.dispose();
  }
}

export const createTfjsGenerator = (options: TfjsGeneratorOptions): Promise<TfjsGenerator> => TfjsGenerator.create(options);

/** Loads a decoder folder (HF or llama2.c) and wraps it; the generator owns the model. */
export async function loadTfjsGenerator(
  files: ModelFiles,
  options: Omit<TfjsGeneratorOptions, 'model' | 'tokenizer' | 'name' | 'ownsModel'> & { name?: string },
  work: WorkOptions = {},
): Promise<TfjsGenerator> {
  const precision = await decoderPrecision(files);
  const { model, tokenizer } = await loadDecoder(files, work);
  if (!tokenizer) {
    model.dispose();
    throw new ExpandrError(`${files.label} has no tokenizer files (tokenizer.json): generating text needs them.`);
  }
  try {
    return await TfjsGenerator.create({ ...options, model, tokenizer, name: options.name ?? files.label, ownsModel: true, precision });
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** What the adapter needs of src/llm/webllm/engine.ts WebLlmGenerator (tests pass fakes). */
export interface WebLlmLike {
  readonly modelId: string;
  generate(requests: GenerationRequest[], defaults?: Partial<Sampling>, work?: WorkOptions & { onResult?: (r: GenerationResult) => void }): Promise<GenerationResult[]>;
}

export interface WebLlmTextGeneratorOptions {
  /** Cache id (default 'webllm:' + modelId); a merged tuned model passes its own id. */
  id?: string;
  system?: string;
  /** Weights' precision (default: the quantisation in the model id, e.g. 'q4f16_1'). */
  precision?: string;
  /**
   * A prompt WebLLM cannot run alone (longer than the context window) comes back as a GenerationFailure
   * (retried, then counted by the caller, never cached) and is reported here.
   */
  onFailure?: (prompt: number, error: string) => void;
}

/** WebLLM (in-thread or over a worker) as a TextGenerator; per-prompt seeds go into each request. */
export function webLlmTextGenerator(engine: WebLlmLike, options: WebLlmTextGeneratorOptions = {}): TextGenerator {
  const id = options.id ?? `webllm:${engine.modelId}`;
  return {
    id,
    provenance: { engine: 'webllm', precision: options.precision ?? webLlmPrecision(engine.modelId), model: id },
    async generate(prompts, sampling, work = {}) {
      const requests: GenerationRequest[] = prompts.map((prompt, i) => ({ prompt, system: options.system, seed: promptSeed(sampling, work, i) }));
      const results = await engine.generate(requests, { temperature: sampling.temperature, topP: sampling.topP, maxTokens: sampling.maxTokens }, { signal: work.signal, onProgress: work.onProgress });
      return results.map((r, i): string | GenerationFailure => {
        if (r.ok) return r.text;
        options.onFailure?.(i, r.error);
        return { failed: r.error };
      });
    },
  };
}
