// Where our training step spends its time, kernel by kernel (a companion of training-steps.bench.ts):
// one step of the task under tf.profile, kernel wall time grouped by kernel name and input shapes (wasm
// runs kernels synchronously, so each kernel's time is its own; "unnamed scope" entries are custom-gradient
// ops whose inner kernels are counted again). Also the step split into forward (no tape), forward + backward
// (tape) and clip + AdamW, timed outside the profiler.
//   node --import tsx bench/training-steps-profile.ts --task dpo --threads 1
//   node --import tsx bench/training-steps-profile.ts --task infonce --threads 2 --chunk 8
import * as tf from '@tensorflow/tfjs-core';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { registerGradientsNode } from '../src/cli/tfjs-gradients.ts';
import { textTable } from '../src/util/format.ts';
import { scifactTexts } from './scifact-texts.ts';

const { values: argv } = parseArgs({
  options: {
    task: { type: 'string', default: 'dpo' },
    threads: { type: 'string', default: '1' },
    chunk: { type: 'string', default: '8' },
    pairs: { type: 'string', default: '16' },
    top: { type: 'string', default: '25' },
  },
});
process.env.EXPANDR_WASM_THREADS = argv.threads;
await registerGradientsNode();
const { useBackend } = await import('../src/cli/backend.ts');
const { AdamW, clipGradNorm } = await import('../src/train/optimizer.ts');
await useBackend('wasm');
const log = (s: string) => process.stderr.write(`[profile] ${s}\n`);

/** One step as closures: the gradient part and the optimizer part (same library calls as the trainers). */
interface StepParts {
  variables: tf.Variable[];
  grads(): Promise<{ loss: number; grads: (tf.Tensor | null)[] }>;
  maxGradNorm: number;
  lr: number;
}

async function dpoParts(): Promise<StepParts> {
  const { decoderFilesFromPath } = await import('../src/cli/model-path.ts');
  const { loadDecoder } = await import('../src/llm/load.ts');
  const { LoraAdapters } = await import('../src/llm/lora.ts');
  const { collatePairs } = await import('../src/llm/dpo-data.ts');
  const { dpoLoss, DPO_DEFAULTS } = await import('../src/llm/dpo.ts');
  const { sequenceLogProbs, sequenceLogProbsValues } = await import('../src/llm/logprobs.ts');
  const { SMOLLM2_GGUF } = await import('./training-steps-paths.ts');
  const { model } = await loadDecoder(await decoderFilesFromPath(SMOLLM2_GGUF));
  const lora = LoraAdapters.attachNew(model, { r: 8, alpha: 32, dropout: 0.1, targetModules: ['q_proj', 'v_proj'] });
  const ids = (n: number, from: number) => Array.from({ length: n }, (_, i) => 100 + ((from + i * 7919) % 40000));
  const pair = { prompt: ids(64, 1), chosen: ids(128, 2), rejected: ids(128, 3) };
  const batch = collatePairs([pair], 192, 0);
  model.adaptersEnabled = false;
  let t0 = performance.now();
  const ref = await sequenceLogProbsValues(model, batch, { chunk: DPO_DEFAULTS.vocabChunk });
  log(`reference log-probs (forward, no tape): ${(performance.now() - t0).toFixed(0)} ms`);
  model.adaptersEnabled = true;
  t0 = performance.now();
  await sequenceLogProbsValues(model, batch, { chunk: DPO_DEFAULTS.vocabChunk });
  log(`again: ${(performance.now() - t0).toFixed(0)} ms`);
  return {
    variables: lora.variables as tf.Variable[],
    maxGradNorm: DPO_DEFAULTS.maxGradNorm,
    lr: DPO_DEFAULTS.lr,
    grads: async () => {
      const { value, grads } = tf.variableGrads(() => {
        const lp = sequenceLogProbs(model, batch, { training: false, chunk: DPO_DEFAULTS.vocabChunk });
        return dpoLoss(tf.slice(lp, [0], [1]), tf.slice(lp, [1], [1]), tf.tensor1d([ref[0]]), tf.tensor1d([ref[1]]), DPO_DEFAULTS.beta).loss;
      }, lora.variables);
      const loss = (await value.data())[0];
      value.dispose();
      return { loss, grads: lora.variables.map((v) => grads[v.name] ?? null) };
    },
  };
}

async function infoNceParts(): Promise<StepParts> {
  const { loadBertEncoder, BertEncoder } = await import('../src/encoder/encoder.ts');
  const { readModelDir } = await import('../src/encoder/node-files.ts');
  const { batchGrads, textGroup } = await import('../src/train/gradcache.ts');
  const { expandQueries, prepareDocs } = await import('../src/train/expansion.ts');
  const { infoNceLoss } = await import('../src/train/infonce.ts');
  const { trainSettings, temperatureOf } = await import('../src/train/settings.ts');
  const { MINILM } = await import('./training-steps-paths.ts');
  const loaded = await loadBertEncoder(await readModelDir(MINILM));
  const enc = new BertEncoder(loaded.model, loaded.tokenizer, { ...loaded.settings, maxLength: 256, queryPrefix: '', docPrefix: '' }, loaded.configJson);
  const n = Number(argv.pairs);
  const texts = await scifactTexts(400, n);
  const positives = new Set(texts.positives);
  const docs = [...texts.positives, ...texts.docs.filter((d) => !positives.has(d)).slice(0, n)];
  const s = trainSettings({ gradCacheChunk: Number(argv.chunk) });
  const tau = temperatureOf(s);
  return {
    variables: enc.variables as tf.Variable[],
    maxGradNorm: s.maxGradNorm,
    lr: s.lr,
    grads: async () => {
      const groups = [textGroup(enc, texts.queries, 'query', true, 1), textGroup(enc, docs, 'doc', true, 2)];
      const r = batchGrads(groups, ([q, d]) => tf.tidy(() => infoNceLoss(expandQueries(q, undefined, s.expansionNorm), prepareDocs(d, s.expansionNorm), tau)), enc.variables, s.gradCacheChunk);
      log(`  batchGrads: forward (no tape) ${r.timing.forwardMs.toFixed(0)} ms, loss ${r.timing.lossMs.toFixed(0)} ms, forward + backward ${r.timing.backwardMs.toFixed(0)} ms`);
      const loss = (await r.loss.data())[0];
      r.loss.dispose();
      return { loss, grads: r.grads };
    },
  };
}

const parts = argv.task === 'dpo' ? await dpoParts() : await infoNceParts();
const optimizer = new AdamW(parts.variables, {});
const step = async () => {
  const t0 = performance.now();
  const g = await parts.grads();
  const t1 = performance.now();
  const { grads } = await clipGradNorm(g.grads, parts.maxGradNorm);
  optimizer.step(grads, parts.lr);
  grads.forEach((x) => x?.dispose());
  const t2 = performance.now();
  log(`step: gradients ${(t1 - t0).toFixed(0)} ms, clip + AdamW ${(t2 - t1).toFixed(0)} ms, loss ${g.loss.toFixed(5)}, load ${loadavg()[0].toFixed(2)}`);
};
await step(); // warm-up
await step();
const info = await tf.profile(step);
const groups = new Map<string, [number, number]>();
for (const k of info.kernels) {
  const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join(' ')}`;
  const [ms, calls] = groups.get(key) ?? [0, 0];
  groups.set(key, [ms + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0), calls + 1]);
}
const byName = new Map<string, number>();
for (const k of info.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0));
console.log(textTable(['kernel', 's'], [...byName].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([n, ms]) => [n, (ms / 1000).toFixed(2)])));
const rows = [...groups].sort((a, b) => b[1][0] - a[1][0]).slice(0, Number(argv.top));
console.log(textTable(['kernel and input shapes', 's', 'calls', 'ms/call'], rows.map(([k, [ms, c]]) => [k, (ms / 1000).toFixed(2), String(c), (ms / c).toFixed(1)])));
process.exit(0);
