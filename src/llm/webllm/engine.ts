// Fast sampling with WebLLM: load a model with progress, then run many chat-templated prompts through a
// sequential queue with per-prompt results, progress and cancellation.
//
// The engine is any MLCEngineInterface (types.ts): MLCEngine in-thread, WebWorkerMLCEngine over a worker
// (create.ts), or a fake in Node tests. A WebLLM engine serves one request at a time per model (a lock per
// model in src/engine.ts), so the queue is sequential; each prompt is a fresh single-turn conversation
// that WebLLM wraps in the model's chat template (conv_template in mlc-chat-config.json).
// Cancel: AbortSignal → engine.interruptGenerate() (the running request returns early with
// finish_reason "abort"), pending prompts are dropped, and the call rejects with CancelledError.
import { CancelledError, ExpandrError, WebGpuUnavailableError, WebLlmError } from '../../errors.ts';
import type { WorkOptions, ProgressFn } from '../../util/progress.ts';
import { classifyWebLlmError, isPerPromptFailure, WEBGPU_FIX } from './classify-error.ts';
import { loadProgressAdapter } from './load-progress.ts';
import { assertAdapterFits, WEBLLM_PRESETS, type AdapterLike, type WebLlmPreset } from './presets.ts';
import type { AppConfig, ChatCompletionRequest, EngineConfig, EngineLike, FinishReason } from './types.ts';

/** Sampling settings; per-request values override the defaults. */
export interface Sampling {
  temperature: number;
  topP: number;
  maxTokens: number;
  /** Integer seed; absent = WebLLM's own randomness. */
  seed?: number;
}

/** The paper's evaluation-time expansion: one sample at T 1, top_p 0.9, up to 512 tokens (FACTS.md). */
export const DEFAULT_SAMPLING: Readonly<Sampling> = Object.freeze({ temperature: 1, topP: 0.9, maxTokens: 512 });

export interface GenerationRequest extends Partial<Sampling> {
  /** The user message (e.g. the Q2D prompt); the chat template is applied by WebLLM. */
  prompt: string;
  /** Optional system message; absent = the model's default system prompt, as transformers' template. */
  system?: string;
}

export type GenerationResult =
  | { index: number; ok: true; text: string; finishReason: FinishReason; promptTokens: number; completionTokens: number }
  | { index: number; ok: false; error: string };

/** Makes an engine that is not loaded yet (see create.ts); the config carries the progress callback. */
export type EngineFactory = (config: EngineConfig) => EngineLike | Promise<EngineLike>;

/** navigator.gpu, or a fake. */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<AdapterLike | null>;
}

export interface LoadOptions extends WorkOptions {
  modelId: string;
  factory: EngineFactory;
  /** Needed for models outside WebLLM's prebuilt list (a tuned model's record, model-writer.ts). */
  appConfig?: AppConfig;
  /** Whose GPU needs to check; default: the preset with `modelId` (a tuned model passes its base's). */
  preset?: WebLlmPreset;
  /** Default: globalThis.navigator?.gpu. Pass null to say "no WebGPU". */
  gpu?: GpuLike | null;
}

const defaultGpu = (): GpuLike | null => (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu ?? null;

/** Builds the exact request WebLLM receives for one prompt. */
export function chatRequest(request: GenerationRequest, defaults: Sampling): ChatCompletionRequest {
  const s = { ...defaults, ...Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined)) } as Sampling & GenerationRequest;
  if (s.seed !== undefined && !Number.isInteger(s.seed)) throw new WebLlmError(`seed must be an integer, got ${s.seed}`);
  if (!(s.temperature >= 0)) throw new WebLlmError(`temperature must be ≥ 0, got ${s.temperature}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw new WebLlmError(`top_p must be in (0, 1], got ${s.topP}`);
  if (!(Number.isInteger(s.maxTokens) && s.maxTokens > 0)) throw new WebLlmError(`max tokens must be a positive integer, got ${s.maxTokens}`);
  const req: ChatCompletionRequest = {
    messages: [...(request.system !== undefined ? [{ role: 'system' as const, content: request.system }] : []), { role: 'user', content: request.prompt }],
    stream: false,
    temperature: s.temperature,
    top_p: s.topP,
    max_tokens: s.maxTokens,
  };
  if (s.seed !== undefined) req.seed = s.seed;
  return req;
}

export class WebLlmGenerator {
  private tail: Promise<unknown> = Promise.resolve(); // serialises generate() calls
  private closed = false;

  private constructor(
    private readonly engine: EngineLike,
    readonly modelId: string,
    private readonly vramMB: number | undefined,
  ) {}

  /** Checks WebGPU and the adapter, creates the engine and loads the model. */
  static async load(options: LoadOptions): Promise<WebLlmGenerator> {
    const preset = options.preset ?? WEBLLM_PRESETS.find((p) => p.id === options.modelId);
    const ctx = { modelId: options.modelId, phase: 'load' as const, vramMB: preset?.vramMB };
    if (options.signal?.aborted) throw new CancelledError(`Loading ${options.modelId}`);
    const gpu = options.gpu === undefined ? defaultGpu() : options.gpu;
    if (!gpu) throw new WebGpuUnavailableError(`WebGPU is not available in this browser: ${WEBGPU_FIX}.`);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new WebGpuUnavailableError(`This browser has WebGPU but found no usable GPU adapter (blocklisted driver or no GPU): ${WEBGPU_FIX}.`);
    if (preset) assertAdapterFits(preset, adapter);

    const config: EngineConfig = { initProgressCallback: loadProgressAdapter(options.onProgress) };
    if (options.appConfig) config.appConfig = options.appConfig;
    let engine: EngineLike;
    try {
      engine = await options.factory(config);
    } catch (e) {
      throw classifyWebLlmError(e, ctx);
    }
    const onAbort = () => void engine.unload().catch(() => {}); // aborts WebLLM's reload controller
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await engine.reload(options.modelId);
    } catch (e) {
      throw classifyWebLlmError(options.signal?.aborted ? new DOMException('aborted', 'AbortError') : e, ctx);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    // reload() returns quietly when aborted; onAbort has already called unload(), freeing what it got to.
    if (options.signal?.aborted) throw new CancelledError(`Loading ${options.modelId}`);
    return new WebLlmGenerator(engine, options.modelId, preset?.vramMB);
  }

  /**
   * Runs the prompts one after another; results come back in order (also one by one through `onResult`).
   * A prompt that alone fails (too long for the context window) gets { ok: false }; anything else stops
   * the queue with a typed error. Progress: stage 'llm:generate', unit 'prompts'.
   */
  generate(requests: GenerationRequest[], defaults: Partial<Sampling> = {}, work: WorkOptions & { onResult?: (r: GenerationResult) => void } = {}): Promise<GenerationResult[]> {
    if (this.closed) return Promise.reject(new WebLlmError(`${this.modelId} was unloaded: load it again to generate.`));
    const run = this.tail.then(() => this.runQueue(requests, { ...DEFAULT_SAMPLING, ...defaults }, work));
    this.tail = run.catch(() => {});
    return run;
  }

  private async runQueue(requests: GenerationRequest[], defaults: Sampling, work: WorkOptions & { onResult?: (r: GenerationResult) => void }): Promise<GenerationResult[]> {
    const built = requests.map((r) => chatRequest(r, defaults)); // bad settings fail before any work
    const results: GenerationResult[] = [];
    const report: ProgressFn = (p) => work.onProgress?.(p);
    const signal = work.signal;
    const onAbort = () => this.engine.interruptGenerate();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // Tokens written so far, from each reply's usage (the rate the page shows while generating).
      let tokens = 0;
      report({ stage: 'llm:generate', done: 0, total: built.length, unit: 'prompts', counter: { done: tokens, unit: 'tokens' } });
      for (let i = 0; i < built.length; i++) {
        if (signal?.aborted) throw new CancelledError('Generation');
        let result: GenerationResult;
        try {
          const reply = await this.engine.chat.completions.create(built[i]);
          if (signal?.aborted) throw new CancelledError('Generation'); // interrupted mid-request: drop it
          const choice = reply.choices[0];
          result = {
            index: i,
            ok: true,
            text: choice?.message.content ?? '',
            finishReason: choice?.finish_reason ?? 'stop',
            promptTokens: reply.usage?.prompt_tokens ?? 0,
            completionTokens: reply.usage?.completion_tokens ?? 0,
          };
        } catch (e) {
          if (e instanceof ExpandrError && !(e instanceof WebLlmError)) throw e;
          if (signal?.aborted) throw new CancelledError('Generation');
          if (!isPerPromptFailure(e)) throw classifyWebLlmError(e, { modelId: this.modelId, phase: 'generate', vramMB: this.vramMB });
          result = { index: i, ok: false, error: classifyWebLlmError(e, { modelId: this.modelId, phase: 'generate' }).message };
        }
        results.push(result);
        work.onResult?.(result);
        if (result.ok) tokens += result.completionTokens;
        report({ stage: 'llm:generate', done: i + 1, total: built.length, unit: 'prompts', counter: { done: tokens, unit: 'tokens' } });
      }
      return results;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Frees the GPU memory; the generator cannot be used afterwards. */
  async unload(): Promise<void> {
    this.closed = true;
    await this.tail;
    await this.engine.unload();
  }
}
