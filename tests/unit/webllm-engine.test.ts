// The WebLLM wrapper with a fake engine: what reaches WebLLM (exact request objects), loading with
// monotone progress, the sequential queue, cancellation during a load and mid-queue, and every error
// path's type and message; then the real package: its exports and preset records, its engine's failure
// through our factory, and the message when it cannot be imported.
import { describe, expect, test, vi } from 'vitest';
import { CancelledError, GpuCapabilityError, ModelFetchError, WebGpuUnavailableError, WebLlmError } from '../../src/errors.ts';
import { createWebLlmEngine, importWebLlm, webLlmEngineFactory } from '../../src/llm/webllm/create.ts';
import { chatRequest, DEFAULT_SAMPLING, WebLlmGenerator, type GenerationResult } from '../../src/llm/webllm/engine.ts';
import { WEBLLM_PRESETS, webLlmModelRecord, webLlmPreset } from '../../src/llm/webllm/presets.ts';
import type { EngineConfig, WebLlmModule } from '../../src/llm/webllm/types.ts';
import type { Progress } from '../../src/util/progress.ts';
import { fakeAdapter, FakeEngine, fakeGpu, type FakeScript } from './helpers/fake-webllm.ts';

const MODEL = 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC';

async function loaded(script: FakeScript = {}, onProgress?: (p: Progress) => void) {
  let engine!: FakeEngine;
  const gen = await WebLlmGenerator.load({
    modelId: MODEL,
    gpu: fakeGpu(),
    onProgress,
    factory: (config) => (engine = new FakeEngine(config, script)),
  });
  return { gen, engine };
}

const reports = (...xs: [number, string][]) => xs.map(([progress, text]) => ({ progress, timeElapsed: 0, text }));

describe('loading', () => {
  test('passes the app config and a progress callback, reloads the model, progress is monotone and ends at 1', async () => {
    const seen: Progress[] = [];
    let config!: EngineConfig;
    const appConfig = { model_list: [] };
    await WebLlmGenerator.load({
      modelId: MODEL,
      appConfig,
      gpu: fakeGpu(),
      onProgress: (p) => seen.push(p),
      factory: (c) => {
        config = c;
        return new FakeEngine(c, {
          loadReports: reports(
            [0, 'Start to fetch params'],
            [0.5, 'Fetching param cache[1/2]: 10MB fetched. 50% completed'],
            [1, 'Fetching param cache[2/2]: 20MB fetched. 100% completed'],
            [0.5, 'Loading model from cache[1/2]: 10MB loaded. 50% completed'], // tvmjs restarts the count
            [1, 'Loading model from cache[2/2]: 20MB loaded. 100% completed'],
            [1, 'Finish loading on WebGPU - fake'],
          ),
        });
      },
    });
    expect(config.appConfig).toBe(appConfig);
    expect(typeof config.initProgressCallback).toBe('function');
    const done = seen.map((p) => p.done);
    expect(done).toEqual([0, 0.4, 0.8, 0.9, 1, 1]);
    expect(seen.every((p) => p.stage === 'llm:load' && p.total === 1 && p.unit === 'fraction')).toBe(true);
    expect(seen[1].text).toContain('Fetching param cache[1/2]');
  });

  test('from cache (no download): the loading phase spans the whole bar', async () => {
    const seen: number[] = [];
    const { engine } = await loaded({ loadReports: reports([0, 'Start to fetch params'], [0.5, 'Loading model from cache[1/2]'], [1, 'Loading model from cache[2/2]'], [1, 'Finish loading']) }, (p) => seen.push(p.done));
    expect(engine.reloads).toEqual([MODEL]);
    expect(seen).toEqual([0, 0.5, 1, 1]);
  });

  test('cancel during the load: unload() aborts it and the call rejects with CancelledError', async () => {
    const ctrl = new AbortController();
    let engine!: FakeEngine;
    const p = WebLlmGenerator.load({ modelId: MODEL, gpu: fakeGpu(), signal: ctrl.signal, factory: (c) => (engine = new FakeEngine(c, { loadHangs: true })) });
    await new Promise((r) => setTimeout(r, 5));
    ctrl.abort();
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(engine.unloads).toBe(1);
  });
});

describe('requests', () => {
  test('the exact request objects WebLLM receives', async () => {
    expect(chatRequest({ prompt: 'Q' }, DEFAULT_SAMPLING)).toEqual({
      messages: [{ role: 'user', content: 'Q' }],
      stream: false,
      temperature: 1,
      top_p: 0.9,
      max_tokens: 512,
    });
    const { gen, engine } = await loaded();
    await gen.generate(
      [{ prompt: 'a' }, { prompt: 'b', temperature: 1.1, seed: 7 }, { prompt: 'c', system: 'Be brief.', maxTokens: 16, topP: 0.5 }],
      { temperature: 0.8, seed: 3 },
    );
    expect(engine.requests).toEqual([
      { messages: [{ role: 'user', content: 'a' }], stream: false, temperature: 0.8, top_p: 0.9, max_tokens: 512, seed: 3 },
      { messages: [{ role: 'user', content: 'b' }], stream: false, temperature: 1.1, top_p: 0.9, max_tokens: 512, seed: 7 },
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'c' },
        ],
        stream: false,
        temperature: 0.8,
        top_p: 0.5,
        max_tokens: 16,
        seed: 3,
      },
    ]);
  });

  test('bad settings fail before anything is sent', async () => {
    const { gen, engine } = await loaded();
    await expect(gen.generate([{ prompt: 'a' }, { prompt: 'b', seed: 1.5 }])).rejects.toThrow(/seed must be an integer/);
    await expect(gen.generate([{ prompt: 'a', topP: 0 }])).rejects.toThrow(/top_p/);
    await expect(gen.generate([{ prompt: 'a', maxTokens: 0 }])).rejects.toThrow(/max tokens/);
    expect(engine.requests).toEqual([]);
  });
});

describe('queue', () => {
  test('results in prompt order, one request at a time, progress 0..n, onResult per prompt', async () => {
    const { gen, engine } = await loaded();
    const seen: Progress[] = [];
    const streamed: number[] = [];
    const prompts = ['p0', 'p1', 'p2', 'p3', 'p4'].map((prompt) => ({ prompt }));
    const out = await gen.generate(prompts, {}, { onProgress: (p) => seen.push(p), onResult: (r) => streamed.push(r.index) });
    expect(out.map((r) => r.ok && r.text)).toEqual(prompts.map((p, i) => `reply ${i}: ${p.prompt}`));
    expect(out[0]).toMatchObject({ index: 0, ok: true, finishReason: 'stop', promptTokens: 10 });
    expect(streamed).toEqual([0, 1, 2, 3, 4]);
    expect(engine.maxInFlight).toBe(1);
    expect(seen.map((p) => p.done)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(seen.every((p) => p.stage === 'llm:generate' && p.total === 5 && p.unit === 'prompts')).toBe(true);
    // The tokens written so far (the replies' completion tokens, summed): the page's tokens/s.
    let sum = 0;
    expect(seen.map((p) => p.counter)).toEqual([0, ...out.map((r) => (sum += r.ok ? r.completionTokens : 0))].map((done) => ({ done, unit: 'tokens' })));
    expect(sum).toBeGreaterThan(0);
  });

  test('two generate() calls do not interleave', async () => {
    const { gen, engine } = await loaded();
    const [a, b] = await Promise.all([gen.generate([{ prompt: 'a1' }, { prompt: 'a2' }]), gen.generate([{ prompt: 'b1' }])]);
    expect(engine.requests.map((r) => r.messages[0].content)).toEqual(['a1', 'a2', 'b1']);
    expect(engine.maxInFlight).toBe(1);
    expect([a.length, b.length]).toEqual([2, 1]);
  });

  test('cancel mid-queue: interruptGenerate(), the running prompt and the pending ones dropped, CancelledError', async () => {
    const ctrl = new AbortController();
    const got: GenerationResult[] = [];
    const { gen, engine } = await loaded({ reply: (_r, i) => (i === 2 ? 'hang' : `ok ${i}`), onStart: (i) => i === 2 && setTimeout(() => ctrl.abort(), 5) });
    await expect(gen.generate(['a', 'b', 'c', 'd', 'e'].map((prompt) => ({ prompt })), {}, { signal: ctrl.signal, onResult: (r) => got.push(r) })).rejects.toBeInstanceOf(CancelledError);
    expect(engine.interrupts).toBe(1);
    expect(engine.requests.length).toBe(3); // d and e never sent
    expect(got.map((r) => r.index)).toEqual([0, 1]);
    // The generator stays usable.
    expect((await gen.generate([{ prompt: 'again' }]))[0].ok).toBe(true);
  });

  test('unload() waits for the queue, frees the engine, and later calls say so', async () => {
    const { gen, engine } = await loaded();
    const running = gen.generate([{ prompt: 'a' }, { prompt: 'b' }]);
    await gen.unload();
    expect((await running).length).toBe(2);
    expect(engine.unloads).toBe(1);
    await expect(gen.generate([{ prompt: 'c' }])).rejects.toThrow(/was unloaded: load it again/);
  });

  test('an already-aborted signal sends nothing', async () => {
    const { gen, engine } = await loaded();
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(gen.generate([{ prompt: 'a' }], {}, { signal: ctrl.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(engine.requests.length).toBe(0);
  });
});

describe('errors', () => {
  const load = (over: Partial<Parameters<typeof WebLlmGenerator.load>[0]>, script: FakeScript = {}) =>
    WebLlmGenerator.load({ modelId: MODEL, gpu: fakeGpu(), factory: (c) => new FakeEngine(c, script), ...over });

  test('no navigator.gpu → WebGpuUnavailableError naming the browser to use', async () => {
    const e = await load({ gpu: null }).catch((x) => x);
    expect(e).toBeInstanceOf(WebGpuUnavailableError);
    expect(e.message).toMatch(/^WebGPU is not available in this browser: use Chrome or Edge 113\+/);
    // Default probe: Node has no navigator.gpu.
    await expect(load({ gpu: undefined })).rejects.toBeInstanceOf(WebGpuUnavailableError);
  });

  test('no adapter → WebGpuUnavailableError', async () => {
    await expect(load({ gpu: fakeGpu(null) })).rejects.toThrow(/found no usable GPU adapter/);
  });

  test('adapter without shader-f16 → GpuCapabilityError before any download', async () => {
    let made = 0;
    const e = await load({ gpu: fakeGpu(fakeAdapter([])), factory: (c) => (made++, new FakeEngine(c)) }).catch((x) => x);
    expect(e).toBeInstanceOf(GpuCapabilityError);
    expect(e.message).toMatch(/needs the WebGPU feature "shader-f16"/);
    expect(made).toBe(0);
  });

  test('buffer limits too small for the 8B model → GpuCapabilityError with the sizes and smaller presets', async () => {
    const adapter = fakeAdapter(['shader-f16'], { maxStorageBufferBindingSize: 512 * 2 ** 20, maxBufferSize: 512 * 2 ** 20 });
    const e = await load({ modelId: 'Llama-3-8B-Instruct-q4f16_1-MLC-1k', gpu: fakeGpu(adapter) }).catch((x) => x);
    expect(e).toBeInstanceOf(GpuCapabilityError);
    expect(e.message).toContain('storage buffers of 251 MB');
    expect(e.message).toContain('maxStorageBufferBindingSize 512 MB');
    expect(e.message).toContain('Qwen2.5-0.5B-Instruct-q4f16_1-MLC');
  });

  test('download fails offline (cache miss) → ModelFetchError saying to connect once', async () => {
    const e = await load({}, { loadError: new TypeError('Failed to fetch') }).catch((x) => x);
    expect(e).toBeInstanceOf(ModelFetchError);
    expect(e.message).toMatch(/offline or the download failed.*not in this browser's cache: connect once/);
  });

  test('worker errors arrive as strings: ShaderF16SupportError, WebGPUNotAvailableError, DeviceLostError', async () => {
    const f16 = await load({}, { loadError: 'ShaderF16SupportError: This model requires WebGPU extension shader-f16' }).catch((x) => x);
    expect(f16).toBeInstanceOf(GpuCapabilityError);
    expect(f16.message).toContain('shader-f16');
    await expect(load({}, { loadError: 'WebGPUNotAvailableError: WebGPU is not supported in your current environment' })).rejects.toBeInstanceOf(WebGpuUnavailableError);
    const oom = await load({}, { loadError: 'DeviceLostError: The WebGPU device was lost while loading the model.' }).catch((x) => x);
    expect(oom).toBeInstanceOf(GpuCapabilityError);
    expect(oom.message).toContain('about 945 MB of GPU memory');
  });

  test('other load failures → WebLlmError with the original message', async () => {
    const e = await load({}, { loadError: new Error('something odd') }).catch((x) => x);
    expect(e).toBeInstanceOf(WebLlmError);
    expect(e.message).toContain('Error: something odd');
  });

  test('a prompt too long for the context window fails alone; other generation errors stop the queue', async () => {
    const { gen } = await loaded({
      reply: (_r, i) => {
        if (i === 1) throw new Error('ContextWindowSizeExceededError: Prompt tokens exceed context window size');
        return `ok ${i}`;
      },
    });
    const out = await gen.generate([{ prompt: 'a' }, { prompt: 'long' }, { prompt: 'c' }]);
    expect(out.map((r) => r.ok)).toEqual([true, false, true]);
    expect(out[1].ok === false && out[1].error).toMatch(/longer than .* context window/);

    const { gen: gen2 } = await loaded({
      reply: () => {
        throw 'Error: pipeline exploded';
      },
    });
    await expect(gen2.generate([{ prompt: 'a' }, { prompt: 'b' }])).rejects.toThrow(/WebLLM failed while generating with .*pipeline exploded/);
  });
});

describe('real-package factory', () => {
  test('WebWorkerMLCEngine(worker, config) when a worker is given, MLCEngine(config) otherwise', async () => {
    const made: string[] = [];
    const mod = {
      MLCEngine: class extends FakeEngine {
        constructor(c: EngineConfig) {
          super(c);
          made.push('MLCEngine');
        }
      },
      WebWorkerMLCEngine: class extends FakeEngine {
        constructor(w: unknown, c: EngineConfig) {
          super(c);
          made.push(`WebWorkerMLCEngine(${String(w)})`);
        }
      },
      prebuiltAppConfig: { model_list: [] },
    } as unknown as WebLlmModule;
    await webLlmEngineFactory(undefined, async () => mod)({});
    await webLlmEngineFactory('worker-1', async () => mod)({});
    const gen = await createWebLlmEngine('worker-2', { modelId: MODEL, gpu: fakeGpu(), preset: webLlmPreset(MODEL) }, async () => mod);
    expect(made).toEqual(['MLCEngine', 'WebWorkerMLCEngine(worker-1)', 'WebWorkerMLCEngine(worker-2)']);
    expect((await gen.generate([{ prompt: 'x' }]))[0].ok).toBe(true);
  });

  test('the installed package: the engine classes we construct, and a record for every preset as our table has it', async () => {
    const webllm = await importWebLlm();
    expect(typeof webllm.MLCEngine).toBe('function');
    expect(typeof webllm.WebWorkerMLCEngine).toBe('function');
    for (const p of WEBLLM_PRESETS) {
      const own = webllm.prebuiltAppConfig.model_list.find((r) => r.model_id === p.id);
      expect(own, `${p.id} in the installed prebuiltAppConfig`).toBeDefined();
      // webLlmModelRecord hands WebLLM the installed record, so these are what the app shows and sizes by.
      expect(webLlmModelRecord(p, webllm.prebuiltAppConfig)).toBe(own);
      expect([own!.model, own!.model_lib.split('/').pop(), own!.vram_required_MB, own!.overrides?.context_window_size]).toEqual([p.modelUrl, p.modelLibFile, p.vramMB, p.contextWindow]);
    }
  });

  test("the real MLCEngine through our factory: reload() of an id missing from the app config fails as WebLLM's list says", async () => {
    // No GPU is touched: WebLLM looks the id up before it fetches anything (engine.ts reloadInternal).
    const e = await WebLlmGenerator.load({ modelId: MODEL, appConfig: { model_list: [] }, gpu: fakeGpu(), factory: webLlmEngineFactory() }).catch((x) => x);
    expect(e).toBeInstanceOf(WebLlmError);
    expect(e.message).toMatch(new RegExp(`^${MODEL} is not in WebLLM's model list \\(ModelNotFoundError: Cannot find model record in appConfig for ${MODEL}`));
  });

  test('when the package cannot be imported: WebLlmError with the cause and the fix', async () => {
    vi.resetModules();
    vi.doMock('@mlc-ai/web-llm', () => {
      throw new Error('Cannot find package @mlc-ai/web-llm');
    });
    try {
      const fresh = await import('../../src/llm/webllm/create.ts');
      const errors = await import('../../src/errors.ts');
      const e = await fresh.importWebLlm().then(
        () => null,
        (x) => x,
      );
      expect(e).toBeInstanceOf(errors.WebLlmError);
      // (vitest wraps a throwing mock factory's error in its own message; the cause is in parentheses.)
      expect(e.message).toMatch(/^The WebLLM package could not be loaded \(.+\): reload the page; if it persists, reinstall with `npm ci`\.$/);
    } finally {
      vi.doUnmock('@mlc-ai/web-llm');
      vi.resetModules();
    }
  });
});
