// A fake WebLLM engine and GPU for Node tests: records every call, replays scripted load reports, and
// can hold a request open until interruptGenerate() (WebLLM then finishes it with reason "abort").
import type { AdapterLike } from '../../../src/llm/webllm/presets.ts';
import type { ChatCompletion, ChatCompletionRequest, EngineConfig, EngineLike, InitProgressReport } from '../../../src/llm/webllm/types.ts';

export interface FakeScript {
  /** Reports replayed by reload(), in order. */
  loadReports?: InitProgressReport[];
  /** reload() throws this (an Error, or a string as WebWorkerMLCEngine rejects with). */
  loadError?: unknown;
  /** reload() waits for unload() (to test cancelling a load). */
  loadHangs?: boolean;
  /** Reply to request i; throw to fail it. 'hang' = wait for interruptGenerate(). */
  reply?: (req: ChatCompletionRequest, i: number) => string | 'hang';
  /** Called as request i starts (before the reply). */
  onStart?: (i: number) => void;
}

export class FakeEngine implements EngineLike {
  readonly requests: ChatCompletionRequest[] = [];
  readonly reloads: string[] = [];
  interrupts = 0;
  unloads = 0;
  /** Most requests in flight at once (WebLLM serves one at a time). */
  maxInFlight = 0;
  private inFlight = 0;
  private release: (() => void) | null = null;
  private unloadRelease: (() => void) | null = null;

  constructor(
    readonly config: EngineConfig,
    private readonly script: FakeScript = {},
  ) {}

  readonly chat = {
    completions: {
      create: async (req: ChatCompletionRequest): Promise<ChatCompletion> => {
        const i = this.requests.length;
        this.requests.push(structuredClone(req));
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
          this.script.onStart?.(i);
          await new Promise((r) => setTimeout(r, 1)); // let other callers try to interleave
          const text = this.script.reply ? this.script.reply(req, i) : `reply ${i}: ${req.messages.at(-1)!.content}`;
          if (text === 'hang') {
            await new Promise<void>((r) => (this.release = r));
            return completion('', 'abort');
          }
          return completion(text, 'stop');
        } finally {
          this.inFlight--;
        }
      },
    },
  };

  async reload(modelId: string): Promise<void> {
    this.reloads.push(modelId);
    for (const r of this.script.loadReports ?? []) this.config.initProgressCallback?.(r);
    if (this.script.loadHangs) await new Promise<void>((r) => (this.unloadRelease = r)); // WebLLM: aborted reload returns
    if (this.script.loadError !== undefined) throw this.script.loadError;
  }

  interruptGenerate(): void {
    this.interrupts++;
    this.release?.();
    this.release = null;
  }

  async unload(): Promise<void> {
    this.unloads++;
    this.unloadRelease?.();
  }
}

function completion(text: string, finish: 'stop' | 'abort'): ChatCompletion {
  return {
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finish }],
    usage: { prompt_tokens: 10, completion_tokens: text.split(' ').length },
  };
}

/** An adapter with the given features and limits (defaults: a capable desktop GPU). */
export function fakeAdapter(features: string[] = ['shader-f16'], limits: Partial<AdapterLike['limits']> = {}): AdapterLike {
  return {
    features: new Set(features),
    limits: {
      maxBufferSize: 2 ** 31,
      maxStorageBufferBindingSize: 2 ** 31 - 4,
      maxComputeWorkgroupStorageSize: 32768,
      maxStorageBuffersPerShaderStage: 10,
      ...limits,
    },
  };
}

export const fakeGpu = (adapter: AdapterLike | null = fakeAdapter()) => ({ requestAdapter: async () => adapter });
