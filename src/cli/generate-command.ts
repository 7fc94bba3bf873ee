// `expandr generate`: text from the tfjs decoder (DESIGN.md §5), or with --engine llama.cpp from llama.cpp
// on a GGUF (generate-llamacpp.ts). A Hugging Face folder (config.json,
// model.safetensors, tokenizer.json), a GGUF file (llama.cpp's format) or a llama2.c folder (model .bin +
// tok*.bin). Instruct models get
// the prompt through their chat template unless --raw. The text goes to stdout followed by a newline, as
// llama2.c's `run` prints it; speed goes to stderr; with --json the last line is {"text", ...}.
import { decoderPrecision } from '../llm/weight-precision.ts';
import { UsageError } from '../errors.ts';
import { generateText } from '../llm/generate.ts';
import { loadDecoder } from '../llm/load.ts';
import type { LoraAdapters } from '../llm/lora.ts';
import { readPeftAdapter } from '../llm/lora-peft.ts';
import { readAdapterPath } from './adapter-files.ts';
import { parseCommandArgs } from './args.ts';
import { BACKEND_HELP, parseBackend, useBackend } from './backend.ts';
import { decoderFilesFromPath } from './model-path.ts';
import { stderrProgress } from './progress.ts';
import { generateLlamaCpp } from './generate-llamacpp.ts';

export const GENERATE_HELP = `generate   Generate text with the tfjs decoder (Llama/Qwen2 safetensors or GGUF, llama2.c .bin) or llama.cpp (GGUF).

Options:
  --model PATH         model folder: config.json + model.safetensors + tokenizer.json, or llama2.c
                       model .bin + tok*.bin; or a .gguf file (llama/qwen2)                   (required)
  --prompt TEXT        the prompt ("" = start from BOS, as llama2.c does)                    (required)
  --greedy             argmax decoding (same as --temperature 0)
  --temperature T      sampling temperature (default 1)
  --top-p P            nucleus mass, 1 = off (default 0.9, llama2.c's and the paper's)
  --max-tokens N       new tokens at most (default 256)
  --seed N             sampling seed (default 0)
  --raw                do not apply the chat template even when the tokenizer has one
  --system TEXT        system message for chat-templated prompts
  --adapter DIR        LoRA adapter: a PEFT folder (adapter_config.json + adapter_model.safetensors)
                       or its zip, e.g. what train-llm wrote
  --engine E           tfjs (default) or llama.cpp: node-llama-cpp on the CPU, a .gguf model only
                       (install: bash scripts/ensure-llamacpp.sh); an --adapter runs as llama.cpp's LoRA on the base
  --threads N          llama.cpp threads (default 1: busy-waiting threads collapse on a shared machine)
${BACKEND_HELP}
  --json               print one JSON object as the last line
  --quiet              no progress or speed on stderr`;

export async function generateCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const a = parseCommandArgs('generate', argv, {
    model: { type: 'string' },
    prompt: { type: 'string' },
    greedy: { type: 'boolean' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    'max-tokens': { type: 'string' },
    seed: { type: 'string' },
    raw: { type: 'boolean' },
    system: { type: 'string' },
    adapter: { type: 'string' },
    backend: { type: 'string' },
    engine: { type: 'string' },
    threads: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  const modelDir = a.need('model');
  const prompt = a.str('prompt');
  if (prompt === undefined) throw new UsageError('generate: --prompt is required (use --prompt "" to start from BOS).');
  const temperature = a.num('temperature', 1);
  const topP = a.num('top-p', 0.9);
  if (temperature < 0) throw new UsageError(`generate: --temperature must be ≥ 0, got ${temperature}.`);
  if (!(topP > 0 && topP <= 1)) throw new UsageError(`generate: --top-p must be in (0, 1], got ${topP}.`);
  const maxNewTokens = a.int('max-tokens', 256, 1);
  const seed = a.int('seed', 0, 0);
  const engine = a.str('engine') ?? 'tfjs';
  if (engine !== 'tfjs' && engine !== 'llama.cpp') throw new UsageError(`generate: --engine must be tfjs or llama.cpp, got "${engine}".`);
  if (engine === 'llama.cpp') {
    if (a.str('backend') !== undefined) throw new UsageError('generate: --backend is for the tfjs engine; llama.cpp runs on the CPU (set --threads).');
    return generateLlamaCpp({
      model: modelDir,
      prompt,
      temperature: a.flag('greedy') ? 0 : temperature,
      topP,
      maxNewTokens,
      seed,
      chat: a.flag('raw') ? false : null,
      system: a.str('system'),
      adapter: a.str('adapter'),
      threads: a.str('threads') !== undefined ? a.int('threads', 1, 1) : undefined,
      json: a.flag('json'),
      quiet: a.flag('quiet'),
      signal,
    });
  }
  if (a.str('threads') !== undefined) throw new UsageError('generate: --threads is for --engine llama.cpp.');
  const backend = await useBackend(parseBackend(a.str('backend')));
  const quiet = a.flag('quiet');
  const onProgress = quiet ? undefined : stderrProgress();

  const t0 = performance.now();
  const files = await decoderFilesFromPath(modelDir);
  const { model, tokenizer, format } = await loadDecoder(files, { onProgress, signal });
  if (!tokenizer) throw new UsageError(`generate: ${files.label} has no tokenizer files (tokenizer.json); text generation needs them.`);
  const adapterPath = a.str('adapter');
  let lora: LoraAdapters | null = null;
  try {
    if (adapterPath) ({ lora } = await readPeftAdapter(model, readAdapterPath(adapterPath), adapterPath));
  } catch (e) {
    model.dispose();
    throw e;
  }
  const loadMs = performance.now() - t0;
  try {
    const chat = a.flag('raw') ? false : tokenizer.hasChatTemplate;
    const { texts, result } = await generateText(model, tokenizer, [prompt], {
      greedy: a.flag('greedy'),
      temperature,
      topP,
      maxNewTokens,
      seed,
      chat,
      system: a.str('system'),
      onProgress: quiet ? undefined : (p) => p.done === p.total && onProgress?.(p), // only the final line: tokens come fast
      signal,
    });
    const n = result.tokens[0].length;
    // Generated tokens over the time from the start of the prompt pass to the last token (prefill included,
    // loading excluded): the figure llama.cpp's and transformers' peers are compared on.
    const genMs = result.prefillMs + result.decodeMs;
    const tokensPerS = genMs > 0 ? n / (genMs / 1000) : 0;
    if (!quiet) {
      console.error(
        `${format} ${model.config.arch}${lora ? ` + LoRA r ${lora.settings.r} (${lora.layers.length} modules)` : ''} · ${backend} · ${n} tokens (${result.finish[0]}) · load ${(loadMs / 1000).toFixed(2)} s · ` +
          `prompt ${result.prefillMs.toFixed(0)} ms · ${tokensPerS.toFixed(1)} tokens/s (prompt pass included)`,
      );
    }
    if (a.flag('json')) {
      console.log(
        JSON.stringify({
          text: texts[0],
          tokens: n,
          finish: result.finish[0],
          model: files.label,
          format,
          backend,
          engine: 'tfjs',
          precision: await decoderPrecision(files),
          chat,
          adapter: adapterPath ?? null,
          tokens_per_s: Number(tokensPerS.toFixed(2)),
          prefill_ms: Math.round(result.prefillMs),
          decode_ms: Math.round(result.decodeMs),
        }),
      );
    } else console.log(texts[0]);
  } finally {
    lora?.dispose();
    model.dispose();
  }
}
