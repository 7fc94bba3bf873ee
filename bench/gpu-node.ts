// The Node half of bench/gpu.bench.ts: ours on tfjs-webgpu through Dawn (npm `webgpu`) on the Vulkan
// driver gpu-env.ts chose, each in a fresh child of the existing benchmarks (WebGPU in Node needs its
// environment before start, and a failure ends only that child):
//   encoder + InfoNCE  bench/encoder-node-child.ts on the real all-MiniLM-L6-v2 folder (one child)
//   decoder + DPO      bench/decoder-node-child.ts on SmolLM2-135M-Instruct ('smollm2-135m': the GGUF)
// Both children warm up on the exact shapes they then time (WebGPU compiles a pipeline per new shape).
// No transformers.js WebGPU peer here: its Node build runs onnxruntime-node on the CPU.
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { readGgufFileInfo } from '../src/llm/llamacpp/gguf-file-info.ts';
import { encodePrompt } from '../src/llm/generate.ts';
import { scifactQ2dPrompts, SMOLLM2_GGUF } from '../tests/browser/wllama-files.ts';
import { DEFAULTS as DECODER_DEFAULTS, runChild as runDecoderChild, type DecoderRunOptions } from './decoder.bench.ts';
import { DEFAULTS as ENCODER_DEFAULTS, runChild as runEncoderChild, type EncoderBenchOptions } from './encoder.bench.ts';
import type { Figure, Skip } from './gpu-figures.ts';
import type { GpuBenchOptions } from './gpu-options.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MINILM = join(ROOT, '.cache/models/all-MiniLM-L6-v2');
const DECODER_MODEL = 'smollm2-135m';
/** DPO steps in the child: the first compiles WebGPU's pipelines; the last one is reported. */
const DPO_STEPS = 2;

export interface NodeResult {
  /** Mean token count of the Q2D prompts through the chat template: the prompt length of the Node runs. */
  promptLen: number | null;
  figures: Figure[];
  skips: Skip[];
}

/** Token counts of the first `n` Q2D prompts through SmolLM2's chat template (the GGUF's tokenizer). */
export async function q2dPromptTokens(n: number): Promise<number[]> {
  const info = await readGgufFileInfo(SMOLLM2_GGUF);
  return scifactQ2dPrompts(n).map((p) => encodePrompt(info.tokenizer, p, { chat: true }).length);
}

/** Appends to `out` as each child finishes, calling `saved` then (a run stopped part-way keeps its figures). */
export async function nodeRuns(o: GpuBenchOptions, log: (s: string) => void, out: NodeResult, saved: () => void): Promise<void> {
  if (o.parts.includes('encoder') || o.parts.includes('train')) encoderChild(o, out, log);
  saved();
  if (o.parts.includes('decoder') || o.parts.includes('train')) await decoderChild(o, out, log);
  saved();
}

function encoderChild(o: GpuBenchOptions, out: NodeResult, log: (s: string) => void): void {
  const parts = { encode: o.parts.includes('encoder'), agree: false, profile: false, train: o.parts.includes('train') };
  const options: EncoderBenchOptions = {
    ...ENCODER_DEFAULTS,
    backends: ['webgpu'],
    shapes: [MINILM],
    docs: o.docs,
    maxLengths: [o.maxLength],
    batches: [o.batch],
    ortThreads: [],
    trainPairs: o.trainPairs,
    trainMaxLength: o.trainMaxLength,
    chunks: [],
    trainSteps: 1,
    profileLength: 0,
    peakMemory: false,
    baseline: false,
    parts: [...(parts.encode ? ['encode'] : []), ...(parts.train ? ['train'] : [])],
    trainPlain: true,
  };
  log(`Node (Dawn): all-MiniLM-L6-v2 ${[parts.encode && 'encode', parts.train && 'InfoNCE step'].filter(Boolean).join(' + ')}`);
  for (const r of runEncoderChild('webgpu', MINILM, options, parts)) {
    if (r.kind === 'skip') out.skips.push({ part: r.what.startsWith('train') ? 'train' : 'encoder', host: 'Node', what: r.what.replace(MINILM, 'all-MiniLM-L6-v2'), why: r.why });
    else if (r.kind === 'encode') {
      const f = r.figures;
      out.figures.push({
        part: 'encoder',
        host: 'Node',
        engine: 'ours (tfjs-webgpu, Dawn)',
        what: `encode ${f.docs} docs, L ≤ ${r.maxLength}, batch ${r.batchSize}, 1 round`,
        value: (f.docs / f.ms) * 1000,
        unit: 'docs/s',
        detail: { tokens: f.tokens, paddedTokens: f.paddedTokens, s: f.ms / 1000, load1: r.load1 },
      });
    } else if (r.kind === 'train') {
      const f = r.figures;
      out.figures.push({
        part: 'train',
        host: 'Node',
        engine: 'ours (tfjs-webgpu, Dawn)',
        what: `InfoNCE step ${f.queries} + ${f.docs} at L ≤ ${r.maxLength} (plain backprop)`,
        value: f.stepMs / 1000,
        unit: 's/step',
        detail: { tokens: f.tokens, fwdBwdS: f.gradMs / 1000, clipAdamWS: f.optMs / 1000, loss: f.loss, load1: r.load1 },
      });
    }
  }
}

async function decoderChild(o: GpuBenchOptions, out: NodeResult, log: (s: string) => void): Promise<void> {
  const lengths = await q2dPromptTokens(Math.max(...o.batches));
  const promptLen = Math.round(lengths.reduce((a, b) => a + b, 0) / lengths.length);
  out.promptLen = promptLen;
  const generate = o.parts.includes('decoder');
  const dpo = o.parts.includes('train');
  if (dpo && o.dpoLength <= promptLen) {
    out.skips.push({ part: 'train', host: 'Node', what: 'DPO step', why: `--dpo-length ${o.dpoLength} must exceed the Q2D prompt length ${promptLen} (the completion is what gets scored)` });
  }
  const runDpo = dpo && o.dpoLength > promptLen;
  if (!generate && !runDpo) return;
  const options: DecoderRunOptions = {
    ...DECODER_DEFAULTS,
    promptLen,
    newTokens: o.newTokens,
    wideNewTokens: o.newTokens,
    batches: generate ? o.batches : [],
    lpRows: 0,
    dpoSteps: runDpo ? DPO_STEPS : 0,
    dpoPairs: 1,
    dpoLength: o.dpoLength,
    loraR: o.loraR,
    dpoReference: 1,
    probe: false,
    probeRows: [],
  };
  log(`Node (Dawn): SmolLM2-135M-Instruct ${[generate && `generate (random prompt ids of the Q2D length, ${promptLen} tokens)`, runDpo && 'DPO step'].filter(Boolean).join(' + ')}`);
  for (const r of runDecoderChild('webgpu', DECODER_MODEL, options)) {
    if (r.kind === 'skip') out.skips.push({ part: r.what.startsWith('DPO') ? 'train' : 'decoder', host: 'Node', what: r.what, why: r.why });
    else if (r.kind === 'generate') {
      const ms = r.prefillMs + r.decodeMs;
      out.figures.push({
        part: 'decoder',
        host: 'Node',
        engine: 'ours (tfjs-webgpu, Dawn)',
        what: `generate greedy, batch ${r.batch}, ${r.newTokens} new tokens (${r.promptLen} prompt tokens)`,
        value: ((r.batch * r.newTokens) / ms) * 1000,
        unit: 'tokens/s',
        detail: { prefillS: r.prefillMs / 1000, decodeMsPerStep: r.steps ? r.decodeMs / r.steps : null, load1: r.load1 },
      });
    } else if (r.kind === 'dpo') {
      const last = r.steps[r.steps.length - 1];
      out.figures.push({
        part: 'train',
        host: 'Node',
        engine: 'ours (tfjs-webgpu, Dawn)',
        what: `DPO step ${r.pairs} pair × 2 × ${r.rowLength} tokens, LoRA ${r.lora} (step ${r.steps.length} of ${r.steps.length})`,
        value: (last.gradMs + last.optMs) / 1000,
        unit: 's/step',
        detail: { fwdBwdS: last.gradMs / 1000, clipAdamWS: last.optMs / 1000, firstStepS: (r.steps[0].gradMs + r.steps[0].optMs) / 1000, referenceS: r.referenceMs === null ? null : r.referenceMs / 1000, loss: last.loss, load1: loadavg()[0] },
      });
    }
  }
}
