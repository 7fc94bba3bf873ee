// Child process of bench/training-steps.bench.ts: our side of one training task at one XNNPACK thread
// count (EXPANDR_WASM_THREADS, read by useBackend('wasm')). It answers JSON requests, one per line on
// stdin, with one JSON line on stdout (logs on stderr), so the benchmark can interleave its engines.
//   {"cmd":"init","task":"infonce","chunk":8,"queries":[…16],"positives":[…16],"negatives":[…16]}
//       loads all-MiniLM-L6-v2; every step is trainRetriever (src/train/trainer.ts) run for one optimizer
//       step on these 16 examples (batch 16, one hard negative each, GradCache chunk, dropout on)
//   {"cmd":"init","task":"dpo","pair":{"prompt":[ids],"chosen":[ids],"rejected":[ids]},"maxLength":192}
//       loads the SmolLM2 GGUF, attaches LoRA r 8 / α 32 on q_proj, v_proj, computes the reference
//       log-probs once (as trainDpo does before its first step); every step is trainDpo for one step
//   Both run one warm-up step (InfoNCE: on 2 examples) before answering {"ok":true,"threads":n,"tokens":n}.
//   {"cmd":"step"}     → {"ms":wall ms of the trainer call,"loss":…,"parts":{name: ms}}
//   {"cmd":"profile"}  → one step under tf.profile: {"ms":…,"kernels":[[name, ms, calls], …]} (slowest first)
//   {"cmd":"quit"}
// The gradients need tfjs' gradient registry: the modules that reach it are imported after the hook.
import * as tf from '@tensorflow/tfjs-core';
import { createInterface } from 'node:readline';
import { MINILM, SMOLLM2_GGUF } from './training-steps-paths.ts';
import { registerGradientsNode } from '../src/cli/tfjs-gradients.ts';
import { useBackend } from '../src/cli/backend.ts';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';

await registerGradientsNode();
const { loadBertEncoder, BertEncoder } = await import('../src/encoder/encoder.ts');
const { readModelDir } = await import('../src/encoder/node-files.ts');
const { trainRetriever } = await import('../src/train/trainer.ts');
const { trainDpo } = await import('../src/train/dpo-trainer.ts');
const { referenceLogProbs } = await import('../src/llm/dpo-eval.ts');
const { loadDecoder } = await import('../src/llm/load.ts');
const { LoraAdapters } = await import('../src/llm/lora.ts');
const { decoderFilesFromPath } = await import('../src/cli/model-path.ts');
const { wasmKernelSwitches } = await import('../src/util/wasm-kernel-internals.ts');

// EXPANDR_COMPOSED_GELU=1 (--composed-gelu): GELU from tfjs ops instead of the compiled wasm kernel.
wasmKernelSwitches.gelu = process.env.EXPANDR_COMPOSED_GELU !== '1';
// EXPANDR_XNNPACK_GEMM=1 (--xnnpack-gemm): every 2D product on XNNPACK instead of the compiled GEMM.
wasmKernelSwitches.gemm = process.env.EXPANDR_XNNPACK_GEMM !== '1';

/** all-MiniLM-L6-v2's max_seq_length (sentence_bert_config.json). */
const MINILM_MAX_LENGTH = 256;
/** LoRA of the brief (and of the reference code): r 8, α 32, dropout 0.1 (off in training: TRL's disable_dropout). */
const LORA = { r: 8, alpha: 32, dropout: 0.1, targetModules: ['q_proj', 'v_proj'] };
const DPO_LR = 2e-5;
const RETRIEVER_LR = 1e-5;

const log = (s: string) => process.stderr.write(`[ours ${process.env.EXPANDR_WASM_THREADS ?? '?'}t] ${s}\n`);
const reply = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

interface InfoNceInit {
  cmd: 'init';
  task: 'infonce';
  chunk: number;
  queries: string[];
  positives: string[];
  negatives: string[];
}
interface DpoInit {
  cmd: 'init';
  task: 'dpo';
  pair: { prompt: number[]; chosen: number[]; rejected: number[] };
  maxLength: number;
}
type Request = InfoNceInit | DpoInit | { cmd: 'step' } | { cmd: 'profile' } | { cmd: 'quit' };

interface StepResult {
  ms: number;
  loss: number;
  parts: Record<string, number>;
}

/** Examples of the InfoNCE warm-up step. */
const WARMUP_EXAMPLES = 2;

interface Task {
  step: () => Promise<StepResult>;
  /** One step before timing (default: a step). */
  warmup?: () => Promise<StepResult>;
  tokens: number;
}

async function initInfoNce(r: InfoNceInit): Promise<Task> {
  const loaded = await loadBertEncoder(await readModelDir(MINILM));
  const enc = new BertEncoder(loaded.model, loaded.tokenizer, { ...loaded.settings, maxLength: MINILM_MAX_LENGTH, queryPrefix: '', docPrefix: '' }, loaded.configJson);
  const n = r.queries.length;
  if (r.positives.length !== n || r.negatives.length !== n) throw new Error('init: queries, positives and negatives must have the same length');
  const docs = new Map<string, string>();
  r.positives.forEach((t, i) => docs.set(`p${i}`, t));
  r.negatives.forEach((t, i) => docs.set(`n${i}`, t));
  const data = { examples: r.queries.map((query, i) => ({ qid: `q${i}`, query, positives: [`p${i}`], negatives: [`n${i}`] })), docs };
  const settings = { steps: 1, batchSize: n, hardNegatives: true, gradCacheChunk: r.chunk, warmupRatio: 0, lr: RETRIEVER_LR, dropout: true };
  const tokens = [...r.queries.map((q) => enc.tokenIds(q, 'query').length), ...[...docs.values()].map((d) => enc.tokenIds(d, 'doc').length)].reduce((a, b) => a + b, 0);
  const run = async (d: typeof data, batchSize: number): Promise<StepResult> => {
    const t0 = performance.now();
    const res = await trainRetriever(enc, d, { settings: { ...settings, batchSize } });
    const ms = performance.now() - t0;
    const t = res.timing;
    return { ms, loss: res.finalLoss, parts: { 'forward (no tape)': t.forwardMs, loss: t.lossMs, 'forward + backward (tape)': t.backwardMs, 'clip + AdamW': t.optimizerMs } };
  };
  // Warm-up on WARMUP_EXAMPLES examples: wasm kernels do not depend on shapes, so a small step warms them
  // (as bench/encoder-measure.ts does); a full-size one would cost minutes on a loaded machine.
  const warmup = () => run({ examples: data.examples.slice(0, WARMUP_EXAMPLES), docs }, WARMUP_EXAMPLES);
  return { step: () => run(data, n), warmup, tokens };
}

async function initDpo(r: DpoInit): Promise<Task> {
  const { model } = await loadDecoder(await decoderFilesFromPath(SMOLLM2_GGUF));
  const lora = LoraAdapters.attachNew(model, LORA);
  const pairs = [r.pair];
  const settings = { steps: 1, batchSize: 1, accumulation: 1, maxLength: r.maxLength, maxPromptLength: r.pair.prompt.length, lr: DPO_LR };
  const t0 = performance.now();
  const reference = await referenceLogProbs(model, pairs, settings);
  log(`reference log-probs once: ${(performance.now() - t0).toFixed(0)} ms`);
  const tokens = 2 * Math.min(r.maxLength, r.pair.prompt.length + r.pair.chosen.length);
  const step = async (): Promise<StepResult> => {
    const t1 = performance.now();
    const res = await trainDpo(model, lora, pairs, { settings, reference });
    return { ms: performance.now() - t1, loss: res.finalLoss, parts: {} };
  };
  return { step, tokens };
}

/** Kernel wall time per kernel name over one step (tf.profile; wasm runs kernels synchronously). */
async function profileStep(step: () => Promise<StepResult>): Promise<{ ms: number; kernels: [string, number, number][] }> {
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await step();
  });
  const ms = performance.now() - t0;
  const byName = new Map<string, [number, number]>();
  for (const k of info.kernels) {
    const time = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const [sum, calls] = byName.get(k.name) ?? [0, 0];
    byName.set(k.name, [sum + time, calls + 1]);
  }
  const kernels = [...byName].map(([name, [sum, calls]]): [string, number, number] => [name, sum, calls]).sort((a, b) => b[1] - a[1]);
  return { ms, kernels };
}

await useBackend('wasm');
const threads = getThreadsCount();
log(`tfjs ${tf.getBackend()} with ${threads} XNNPACK thread(s)`);
let step: (() => Promise<StepResult>) | null = null;
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const req = JSON.parse(line) as Request;
  try {
    if (req.cmd === 'quit') break;
    if (req.cmd === 'init') {
      const made = req.task === 'infonce' ? await initInfoNce(req) : await initDpo(req);
      step = made.step;
      const warm = await (made.warmup ?? made.step)();
      log(`warm-up step ${warm.ms.toFixed(0)} ms, loss ${warm.loss.toFixed(5)}`);
      reply({ ok: true, threads, tokens: made.tokens, warmupMs: warm.ms });
    } else if (!step) throw new Error(`"${req.cmd}" before "init"`);
    else if (req.cmd === 'step') reply(await step());
    else if (req.cmd === 'profile') reply(await profileStep(step));
    else throw new Error(`unknown command ${JSON.stringify(req)}`);
  } catch (e) {
    reply({ error: (e as Error).stack ?? String(e) });
  }
}
process.exit(0);
