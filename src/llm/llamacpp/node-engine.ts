// Node only: llama.cpp through node-llama-cpp 3.21.1 on the CPU, generating from token ids. It is not a
// package.json dependency (its optional CUDA/Vulkan binaries are ~600 MB): scripts/ensure-llamacpp.sh
// installs it and only this platform's binary into .cache/node-llama-cpp, and it is imported from there.
//
// Prompts go in as ids (our tokenizer renders the chat template, so llama.cpp sees exactly encodePrompt's
// tokens) and come out as ids (decoded by the same tokenizer as the tfjs path). Several prompts run at once
// either as single-sequence contexts decoded concurrently (default: each prompt's numerics are batch 1's) or
// as sequences of one context sharing each llama_decode batch (real batched decoding, whose numerics depend
// on the batch: see LlamaCppEngineOptions.mode). Each prompt samples with its own seeded llama.cpp sampler.
//
// Sampling is llama.cpp's chain as node-llama-cpp builds it (AddonSampler.cpp): top-k (off: 0 = the whole
// vocabulary) → top-p → temperature → a seeded draw; temperature 0 is argmax. llama.cpp takes the nucleus
// before the temperature, our tfjs sampler (and transformers) after it: the two agree at T = 1 and differ in
// which tokens the nucleus keeps at other temperatures. The generation cache keys on the engine, so texts of
// the two never mix.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ExpandrError, throwIfAborted } from '../../errors.ts';

/** The node-llama-cpp release the script installs and this wrapper is written against. */
export const NODE_LLAMA_CPP_VERSION = '3.21.1';
/** Where scripts/ensure-llamacpp.sh installs it (relative to the project root); EXPANDR_LLAMACPP_DIR overrides. */
export const LLAMACPP_DIR = '.cache/node-llama-cpp';
/** Tokens of one sequence's context unless the caller asks for more (a Q2A prompt of 2000 document characters + 256 new tokens fits). */
export const DEFAULT_LLAMACPP_CONTEXT = 1024;
/**
 * Threads of one evaluation. 1: on a shared 2-core machine llama.cpp's busy-waiting threads collapsed to
 * 0.8 tokens/s at 2 threads under load (FACTS.md); more cores idle → raise it (EXPANDR_LLAMACPP_THREADS).
 */
export const DEFAULT_LLAMACPP_THREADS = 1;

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The folder node-llama-cpp is imported from. */
export function llamaCppDir(): string {
  return resolve(PROJECT_ROOT, process.env.EXPANDR_LLAMACPP_DIR || LLAMACPP_DIR);
}

/** Null when node-llama-cpp and this platform's binary are installed where llamaCppDir() says, else what is missing. */
export function llamaCppMissing(dir = llamaCppDir()): string | null {
  const pkg = join(dir, 'node_modules', 'node-llama-cpp', 'package.json');
  if (!existsSync(pkg)) return `node-llama-cpp is not installed in ${dir}`;
  const platform = `${process.platform === 'darwin' ? 'mac' : process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  const bins = join(dir, 'node_modules', '@node-llama-cpp');
  const have = existsSync(bins) && readdirSync(bins).some((n) => n === platform || n.startsWith(`${platform}-`));
  return have ? null : `node-llama-cpp has no prebuilt binary for ${platform} in ${bins}`;
}

// The part of node-llama-cpp's API used here (it is not a dependency, so its types are not imported).
interface NlcSequence {
  evaluate(tokens: number[], options: Record<string, unknown>): AsyncGenerator<number, void, void | number>;
  clearHistory(): Promise<void>;
}
interface NlcContext {
  getSequence(): NlcSequence;
  readonly contextSize: number;
  dispose(): Promise<void>;
}
interface NlcModel {
  createContext(options: Record<string, unknown>): Promise<NlcContext>;
  readonly trainContextSize: number;
  dispose(): Promise<void>;
}
interface NlcLlama {
  loadModel(options: { modelPath: string; gpuLayers?: number }): Promise<NlcModel>;
  dispose(): Promise<void>;
}
interface NlcModule {
  getLlama(options: Record<string, unknown>): Promise<NlcLlama>;
  LlamaLogLevel: Record<string, string>;
}

let loaded: Promise<NlcModule> | null = null;

/** Imports node-llama-cpp from llamaCppDir(); the error names the install script when it is missing. */
export function importNodeLlamaCpp(): Promise<NlcModule> {
  const dir = llamaCppDir();
  const missing = llamaCppMissing(dir);
  if (missing) {
    return Promise.reject(
      new ExpandrError(`llama.cpp generation: ${missing}. Run \`bash scripts/ensure-llamacpp.sh\` (installs node-llama-cpp@${NODE_LLAMA_CPP_VERSION} and this platform's binary there), or set llm.engine to "tfjs".`),
    );
  }
  const entry = createRequire(join(dir, 'package.json')).resolve('node-llama-cpp');
  loaded ??= import(pathToFileURL(entry).href) as Promise<NlcModule>;
  return loaded;
}

export type LlamaCppParallelMode = 'contexts' | 'sequences';

export interface LlamaCppEngineOptions {
  /** The .gguf file. */
  modelPath: string;
  /** Prompts generated at the same time; default 1. */
  parallel?: number;
  /**
   * How parallel prompts run. 'contexts' (default): one context of one sequence each, decoded concurrently on
   * their own threads; every prompt's numerics are those of batch 1, so its text depends only on (seed, prompt).
   * 'sequences': one context with `parallel` sequences whose tokens share each llama_decode batch; llama.cpp's
   * results then depend on the batch's make-up (measured: the same seed and prompt gave other texts beside
   * other prompts), so a text depends on its neighbours and the timing.
   */
  mode?: LlamaCppParallelMode;
  /** Tokens per sequence (prompt + new tokens); default DEFAULT_LLAMACPP_CONTEXT, at most the model's. */
  contextSize?: number;
  /** Threads of an evaluation; default DEFAULT_LLAMACPP_THREADS (or EXPANDR_LLAMACPP_THREADS). */
  threads?: number;
  /** A llama.cpp LoRA adapter file (../gguf/lora-adapter-gguf.ts) applied at run time on every context. */
  loraPath?: string;
}

export interface LlamaCppSampling {
  maxTokens: number;
  /** 0 = argmax. */
  temperature: number;
  topP: number;
  /** One seed per prompt (its own sampler stream). */
  seeds: readonly number[];
  /** Ids that end a generation (not part of the output). */
  stopIds: readonly number[];
  signal?: AbortSignal;
  /** Called after each prompt finishes, with how many have. */
  onPromptDone?: (done: number) => void;
}

export interface LlamaCppRun {
  /** Generated ids of each prompt, the stop id left out; null where the prompt does not fit the context. */
  tokens: (number[] | null)[];
  finish: ('stop' | 'length' | 'too-long')[];
  /** From the start to the first generated token of the first prompt (its prompt pass). */
  prefillMs: number;
  /** From that token to the last token of the last prompt. */
  decodeMs: number;
}

/** A GGUF loaded in llama.cpp (CPU), generating `parallel` prompts at a time. */
export class LlamaCppEngine {
  private disposed = false;

  private constructor(
    private readonly llama: NlcLlama,
    private readonly model: NlcModel,
    private readonly contexts: NlcContext[],
    private readonly seqs: NlcSequence[],
    /** Threads of each context's evaluation. */
    readonly threads: number,
    readonly modelPath: string,
    readonly mode: LlamaCppParallelMode,
  ) {}

  static async load(options: LlamaCppEngineOptions): Promise<LlamaCppEngine> {
    const nlc = await importNodeLlamaCpp();
    const threads = options.threads ?? (Number(process.env.EXPANDR_LLAMACPP_THREADS) || DEFAULT_LLAMACPP_THREADS);
    const parallel = Math.max(1, options.parallel ?? 1);
    const mode = options.mode ?? 'contexts';
    const llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.error, maxThreads: 0 });
    let model: NlcModel | undefined;
    const contexts: NlcContext[] = [];
    try {
      model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: 0 });
      const contextSize = Math.min(options.contextSize ?? DEFAULT_LLAMACPP_CONTEXT, model.trainContextSize);
      const lora = options.loraPath ? { lora: { adapters: [{ filePath: options.loraPath, scale: 1 }] } } : {};
      const make = (sequences: number) => model!.createContext({ sequences, contextSize, threads, flashAttention: false, ...lora });
      if (mode === 'sequences') contexts.push(await make(parallel));
      else for (let i = 0; i < parallel; i++) contexts.push(await make(1));
      const seqs = mode === 'sequences' ? Array.from({ length: parallel }, () => contexts[0].getSequence()) : contexts.map((c) => c.getSequence());
      return new LlamaCppEngine(llama, model, contexts, seqs, threads, options.modelPath, mode);
    } catch (e) {
      for (const c of contexts) await c.dispose();
      await model?.dispose();
      await llama.dispose();
      throw new ExpandrError(`llama.cpp could not load ${options.modelPath}: ${(e as Error).message}. Give a GGUF that llama.cpp reads (e.g. expandr fetch-model smollm2-135m-instruct).`);
    }
  }

  /** Prompts generated at the same time. */
  get parallel(): number {
    return this.seqs.length;
  }

  /** Tokens one sequence holds (prompt + generated). */
  get contextSize(): number {
    return this.contexts[0].contextSize;
  }

  /** Generates for every prompt, `parallel` at a time, each from its own seed. */
  async generate(prompts: readonly (readonly number[])[], s: LlamaCppSampling): Promise<LlamaCppRun> {
    if (this.disposed) throw new ExpandrError(`llama.cpp engine for ${this.modelPath} was disposed: load it again.`);
    const tokens: (number[] | null)[] = prompts.map(() => null);
    const finish: LlamaCppRun['finish'] = prompts.map(() => 'too-long');
    const stop = new Set(s.stopIds);
    const t0 = performance.now();
    let firstAt = 0;
    let lastAt = t0;
    let next = 0;
    let done = 0;
    const sampler =
      s.temperature === 0 ? { temperature: 0 } : { temperature: s.temperature, topP: s.topP >= 1 ? 1 : s.topP, topK: 0, minP: 0 };
    const worker = async (seq: NlcSequence) => {
      for (let i = next++; i < prompts.length; i = next++) {
        throwIfAborted(s.signal, 'llama.cpp generation');
        const prompt = prompts[i];
        if (prompt.length + s.maxTokens > this.contextSize) continue; // 'too-long': the caller reports it
        await seq.clearHistory();
        const out: number[] = [];
        finish[i] = 'length';
        const it = seq.evaluate([...prompt], { ...sampler, seed: s.seeds[i] >>> 0, yieldEogToken: true, repeatPenalty: false });
        for await (const t of it) {
          const now = performance.now();
          if (!firstAt) firstAt = now;
          lastAt = Math.max(lastAt, now);
          if (stop.has(t)) {
            finish[i] = 'stop';
            break;
          }
          out.push(t);
          if (out.length >= s.maxTokens || s.signal?.aborted) break;
        }
        throwIfAborted(s.signal, 'llama.cpp generation');
        tokens[i] = out;
        s.onPromptDone?.(++done);
      }
    };
    await Promise.all(this.seqs.map(worker));
    const first = firstAt || t0;
    return { tokens, finish, prefillMs: first - t0, decodeMs: Math.max(0, lastAt - first) };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const c of this.contexts) await c.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
