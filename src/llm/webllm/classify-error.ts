// WebLLM's failures → our typed errors with the fix in the message.
//
// In-thread, WebLLM throws its own classes (mlc-ai/web-llm src/error.ts: WebGPUNotAvailableError,
// ShaderF16SupportError, FeatureSupportError, DeviceLostError, ModelNotFoundError,
// ContextWindowSizeExceededError, …) or tvmjs' plain Errors ("Unable to find a compatible GPU",
// "requested maxBufferSize exceeds limit", apache/tvm web/src/webgpu.ts). Through a worker, the handler
// posts `err.toString()` and WebWorkerMLCEngine rejects with that string (src/web_worker.ts handleTask /
// getPromise), so we match on "Name: message" text as well as on `name`.
import { CancelledError, ExpandrError, GpuCapabilityError, ModelFetchError, WebGpuUnavailableError, WebLlmError } from '../../errors.ts';

export const WEBGPU_FIX = 'use Chrome or Edge 113+ (desktop), or enable chrome://flags/#enable-unsafe-webgpu; the tfjs decoder still works without it';

export interface FailureContext {
  modelId: string;
  phase: 'load' | 'generate';
  /** Shown with out-of-memory failures. */
  vramMB?: number;
}

const text = (e: unknown): string => {
  if (typeof e === 'string') return e;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
};

/** True for a failure that concerns one prompt only (the queue records it and goes on). */
export function isPerPromptFailure(error: unknown): boolean {
  return /ContextWindowSizeExceededError|Prompt tokens exceed context window/i.test(text(error));
}

/** Maps anything WebLLM threw to an ExpandrError; ours pass through unchanged. */
export function classifyWebLlmError(error: unknown, ctx: FailureContext): ExpandrError {
  if (error instanceof ExpandrError) return error;
  const t = text(error);
  const m = ctx.modelId;
  if (/AbortError/.test(t)) return new CancelledError(ctx.phase === 'load' ? `Loading ${m}` : 'Generation');
  if (/WebGPUNotAvailableError|WebGPUNotFoundError|Unable to find a compatible GPU/.test(t)) {
    return new WebGpuUnavailableError(`WebGPU is not available in this browser: ${WEBGPU_FIX}. (${t})`);
  }
  if (/ShaderF16SupportError|shader-f16/.test(t)) {
    return new GpuCapabilityError(`${m} needs the WebGPU feature shader-f16, which this browser/GPU does not offer: use Chrome 121+ on a GPU with float16 support, or the tfjs decoder. (${t})`);
  }
  if (/FeatureSupportError|exceeds limit|maxStorageBufferBindingSize|maxBufferSize/.test(t)) {
    return new GpuCapabilityError(`This GPU cannot run ${m}: ${t}. Pick a smaller model or use the tfjs decoder.`);
  }
  if (/DeviceLostError|Device was lost|out of memory|OOM/i.test(t)) {
    const need = ctx.vramMB ? ` (it needs about ${Math.round(ctx.vramMB)} MB of GPU memory)` : '';
    return new GpuCapabilityError(`The GPU ran out of memory with ${m}${need}: close other GPU-heavy tabs, or pick a smaller model. (${t})`);
  }
  if (/Failed to fetch|NetworkError|Load failed|Cannot fetch|ERR_INTERNET_DISCONNECTED|Request failed|status (4|5)\d\d/i.test(t)) {
    return new ModelFetchError(
      `Could not download ${m} (${t}). The browser is offline or the download failed, and the files are not in this browser's cache: ` +
        'connect once to download the model (it is cached for later offline use), or pick a model that is already cached.',
    );
  }
  if (/ModelNotFoundError|Cannot find model record/.test(t)) {
    return new WebLlmError(`${m} is not in WebLLM's model list (${t}). Pick a preset, or re-install the tuned model.`);
  }
  if (isPerPromptFailure(error)) return new WebLlmError(`The prompt is longer than ${m}'s context window: shorten it or lower max tokens. (${t})`);
  return new WebLlmError(`WebLLM failed while ${ctx.phase === 'load' ? 'loading' : 'generating with'} ${m}: ${t}`);
}
