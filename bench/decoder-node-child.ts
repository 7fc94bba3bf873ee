// Child process of decoder.bench.ts: one backend, one model. Builds the model (random weights, or the
// stories260K checkpoint), then measures greedy generation at each batch size, sequence log-probs and DPO
// steps on a LoRA adapter. Prints one RESULT_PREFIX JSON line per figure on stdout, progress on stderr.
// argv[2]: {backend, model, options} as JSON.
// The gradients (DPO) need tfjs' gradient registry, which plain Node loads only with the resolve hook
// (src/cli/tfjs-gradients.ts): everything that reaches tfjs' ESM gradient files is imported after it.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { registerGradientsNode } from '../src/cli/tfjs-gradients.ts';
import { useBackend, type BackendName } from '../src/cli/backend.ts';
import { parseHfConfig, type DecoderConfig } from '../src/llm/config.ts';
import { createRng } from '../src/util/random.ts';
import { benchModel } from './decoder-models.ts';
import { RESULT_PREFIX, type DecoderRecord, type MemoryFigures, type Origin, type ShapeInfo } from './decoder-results.ts';
import type { DecoderRunOptions } from './decoder.bench.ts';

await registerGradientsNode();
const { LlamaModel } = await import('../src/llm/llama.ts');
const { expectedWeightShapes } = await import('../src/llm/weights.ts');
const { readLlama2c } = await import('../src/llm/llama2c.ts');
const { generate } = await import('../src/llm/generate.ts');
const { sequenceLogProbsValues, sequenceLogProbs } = await import('../src/llm/logprobs.ts');
const { LoraAdapters } = await import('../src/llm/lora.ts');
const { collatePairs } = await import('../src/llm/dpo-data.ts');
const { dpoLoss, DPO_DEFAULTS } = await import('../src/llm/dpo.ts');
const { referenceLogProbs } = await import('../src/llm/dpo-eval.ts');
const { loadDecoder } = await import('../src/llm/load.ts');
const { decoderFilesFromPath } = await import('../src/cli/model-path.ts');
const { AdamW, clipGradNorm, GradAccumulator } = await import('../src/train/optimizer.ts');
type Model = InstanceType<typeof LlamaModel>;

const { backend, model: modelName, options: o } = JSON.parse(process.argv[2]) as { backend: BackendName; model: string; options: DecoderRunOptions };

const origin = (): Origin => ({ model: modelName, backend, load1: loadavg()[0] });
const emit = (r: DecoderRecord) => process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(r)}\n`);
const log = (s: string) => process.stderr.write(`[${backend}/${modelName}] ${s}\n`);
/** The wasm backend's linear memory (grows, never shrinks; 4 GiB at most in wasm32), null elsewhere. */
const wasmHeap = () => (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer.byteLength ?? null;
const mem = (): MemoryFigures => ({ maxRss: process.resourceUsage().maxRSS * 1024, rss: process.memoryUsage().rss, tfBytes: tf.memory().numBytes, wasmHeap: wasmHeap() });
const isGpu = backend === 'webgpu';

// On an error, one short line: the wasm module's own uncaught-exception hook would print its whole source.
process.on('uncaughtException', (e) => {
  process.stderr.write(`[${backend}/${modelName}] failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

await useBackend(backend);

// ---- the model -------------------------------------------------------------------------------------
/**
 * Random weights as randomWeights() lays them out (norms at 1, everything else random with standard
 * deviation `std`), but uniform from xorshift32 instead of Box–Muller normals: randomWeights() takes
 * ~150 ns a value here (over a minute for 494 M), and no timing depends on the values' distribution.
 */
function fastRandomWeights(config: DecoderConfig, seed: number, std: number) {
  let x = seed >>> 0 || 1;
  const half = std * Math.sqrt(3) * 2 ** -31; // U(−√3σ, √3σ) has variance σ²
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of expectedWeightShapes(config)) {
    const data = new Float32Array(shape.reduce((a, d) => a * d, 1));
    if (name.endsWith('layernorm.weight') || name === 'model.norm.weight') data.fill(1);
    else {
      for (let i = 0; i < data.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        data[i] = (x | 0) * half;
      }
    }
    out.set(name, { shape, data });
  }
  return out;
}

/** Builds the model; the plain weight arrays go out of scope afterwards (only the backend's copy stays). */
async function build(): Promise<{ model: Model; initMs: number; uploadMs: number }> {
  const spec = benchModel(modelName);
  const t0 = performance.now();
  if ('gguf' in spec.source) {
    // Read, dequantize and upload in one call: initMs is all of it.
    const { model } = await loadDecoder(await decoderFilesFromPath(spec.source.gguf));
    return { model, initMs: performance.now() - t0, uploadMs: 0 };
  }
  let config: DecoderConfig;
  let weights;
  if ('hf' in spec.source) {
    config = parseHfConfig(spec.source.hf, `${modelName}/config.json`);
    weights = fastRandomWeights(config, 1, 0.02);
  } else {
    ({ config, weights } = readLlama2c(readFileSync(spec.source.llama2c), spec.source.llama2c));
  }
  const t1 = performance.now();
  const model = new LlamaModel(config, weights, modelName);
  return { model, initMs: t1 - t0, uploadMs: performance.now() - t1 };
}

const { model, initMs, uploadMs } = await build();
(globalThis as { gc?: () => void }).gc?.();
const c = model.config;
const params = [...model.weights.values()].reduce((n, w) => n + w.size, 0);
const shape: ShapeInfo = { layers: c.layers, dim: c.dim, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, hidden: c.hidden, vocab: c.vocab, tied: c.tiedEmbeddings, params };
emit({ ...origin(), kind: 'build', shape, initMs, uploadMs, mem: mem() });
log(`built: ${(params / 1e6).toFixed(2)} M params, random init ${(initMs / 1000).toFixed(1)} s, to ${tf.getBackend()} ${(uploadMs / 1000).toFixed(1)} s`);

// ---- the matMul kernel behind every projection -------------------------------------------------------
// linear() computes x·Wᵀ as tf.matMul(x, W, false, true). tfjs-wasm sends a transposed operand to its
// scalar blocked loop (slow_batch_matmul) and only untransposed 2-D products to XNNPACK; this probe times
// both on one projection shape so the decoder figures can be read against the kernel they ran on.
if (o.probe && backend === 'wasm') {
  const [N, K] = [c.hidden, c.dim]; // mlp.gate_proj: (hidden, dim)
  const w = model.param('model.layers.0.mlp.gate_proj.weight');
  const wT = tf.tidy(() => tf.transpose(w)); // (K, N), what XNNPACK wants
  for (const M of o.probeRows) {
    const x = tf.tidy(() => tf.randomNormal([M, K]));
    /** Mean ms of `reps` calls after one untimed call (XNNPACK packs the weights on its first call). */
    const time = (f: () => tf.Tensor, reps: number) => {
      tf.dispose(f());
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) tf.dispose(f());
      return (performance.now() - t0) / reps;
    };
    const flop = 2 * M * N * K;
    const reps = (ms: number) => Math.max(1, Math.min(20, Math.round(1000 / Math.max(ms, 1))));
    const slowOnce = time(() => tf.matMul(x, w, false, true), 1);
    const slowMs = time(() => tf.matMul(x, w, false, true), reps(slowOnce));
    const fastMs = time(() => tf.matMul(x, wT), 20);
    const diffT = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.matMul(x, w, false, true), tf.matMul(x, wT)))));
    const diff = (await diffT.data())[0];
    diffT.dispose();
    emit({ ...origin(), kind: 'kernel', m: M, k: K, n: N, transposedMs: slowMs, plainMs: fastMs, flop, maxDiff: diff, mem: mem() });
    log(`matMul ${M}×${K}·(${N}×${K})ᵀ: transposeB ${slowMs.toFixed(1)} ms (${(flop / slowMs / 1e6).toFixed(2)} GFLOP/s), pre-transposed ${fastMs.toFixed(1)} ms (${(flop / fastMs / 1e6).toFixed(2)} GFLOP/s)`);
    x.dispose();
  }
  wT.dispose();
}

/** Random token ids in [first, vocab) (ids < first avoided: llama2.c's specials, pad 0). */
const rng = createRng(7);
const randomIds = (n: number) => Array.from({ length: n }, () => 3 + rng.int(c.vocab - 3));

// ---- generation --------------------------------------------------------------------------------------
const runGenerate = (batch: number, promptLen: number, newTokens: number) =>
  generate(
    model,
    Array.from({ length: batch }, () => randomIds(promptLen)),
    { maxNewTokens: newTokens, greedy: true, stopTokens: [] }, // no stop ids: every row runs the full length
  );

for (const batch of o.batches) {
  const newTokens = batch > 1 ? o.wideNewTokens : o.newTokens;
  if (isGpu) {
    // WebGPU compiles a pipeline per new shape: warm up on exactly the shapes that are measured.
    await runGenerate(batch, o.promptLen, newTokens);
  } else if (batch === o.batches[0]) {
    await runGenerate(1, 4, 2); // wasm/cpu: first-call set-up only
  }
  const r = await runGenerate(batch, o.promptLen, newTokens);
  emit({ ...origin(), kind: 'generate', batch, promptLen: o.promptLen, newTokens, steps: r.steps, prefillMs: r.prefillMs, decodeMs: r.decodeMs, mem: mem() });
  log(`generate batch ${batch}: prefill ${r.prefillMs.toFixed(0)} ms, decode ${r.steps ? (r.decodeMs / r.steps).toFixed(0) : '-'} ms/step`);
}

// ---- sequence log-probs ------------------------------------------------------------------------------
/** A right-padded-free batch of `rows` sequences of `length`: prompt `promptLen` unscored, the rest scored. */
function scoredBatch(rows: number, length: number, promptLen: number) {
  const ids = Array.from({ length: rows }, () => randomIds(length));
  return { ids, attention: ids.map((r) => r.map(() => 1)), scored: ids.map((r) => r.map((_, t) => (t >= promptLen ? 1 : 0))) };
}

if (o.lpRows > 0) {
  const batch = scoredBatch(o.lpRows, o.lpLength, o.promptLen);
  const run = () => sequenceLogProbsValues(model, batch, { chunk: o.vocabChunk, rowsPerPass: o.lpRows });
  if (isGpu) await run();
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  emit({ ...origin(), kind: 'logprobs', rows: o.lpRows, length: o.lpLength, scored: o.lpRows * (o.lpLength - o.promptLen), vocabChunk: o.vocabChunk, ms, mem: mem() });
  log(`log-probs ${o.lpRows} × ${o.lpLength}: ${ms.toFixed(0)} ms`);
}

// ---- DPO ---------------------------------------------------------------------------------------------
// A failure here (the wasm heap's 4 GiB ceiling: "memory access out of bounds" / "Aborted()") becomes a
// skip record with what was measured before it; the earlier phases' records are already out.
const gib = (n: number | null) => (n === null ? '-' : `${(n / 2 ** 30).toFixed(2)} GiB`);
if (o.dpoSteps > 0) {
  let stage = 'reference log-probs';
  let referenceMs: number | null = null;
  try {
    const targets = ['q_proj', 'v_proj'];
    const lora = LoraAdapters.attachNew(model, { r: o.loraR, alpha: 32, dropout: 0.1, targetModules: targets });
    const variables = lora.variables;
    const trainable = variables.reduce((n, v) => n + v.size, 0);
    const completion = o.dpoLength - o.promptLen;
    const pairs = Array.from({ length: o.dpoPairs }, () => ({ prompt: randomIds(o.promptLen), chosen: randomIds(completion), rejected: randomIds(completion) }));
    const settings = { batchSize: o.dpoPairs, maxLength: o.dpoLength, vocabChunk: o.vocabChunk };

    // Reference log-probs, adapters off: what trainDpo computes once per run and caches.
    if (isGpu && o.dpoReference) await referenceLogProbs(model, pairs, settings);
    const t0 = performance.now();
    const ref = o.dpoReference ? await referenceLogProbs(model, pairs, settings) : { chosen: pairs.map(() => 0), rejected: pairs.map(() => 0) };
    referenceMs = o.dpoReference ? performance.now() - t0 : null;
    log(`reference log-probs: ${referenceMs === null ? 'skipped' : `${referenceMs.toFixed(0)} ms`}; wasm heap ${gib(wasmHeap())}, tf tensors ${gib(tf.memory().numBytes)}`);

    // trainDpo's optimizer step with accumulation 1, split into its two halves (same library calls).
    const optimizer = new AdamW(variables, { weightDecay: DPO_DEFAULTS.weightDecay });
    const batch = collatePairs(pairs, o.dpoLength, 0);
    const n = pairs.length;
    const steps: { gradMs: number; optMs: number; loss: number }[] = [];
    for (let step = 0; step < o.dpoSteps; step++) {
      stage = `step ${step + 1}`;
      lora.setDropoutSeed(step);
      const t1 = performance.now();
      const acc = new GradAccumulator(variables.length);
      const { value, grads } = tf.variableGrads(() => {
        const lp = sequenceLogProbs(model, batch, { training: !DPO_DEFAULTS.disableDropout, chunk: o.vocabChunk }); // (2n): chosen, then rejected
        return dpoLoss(tf.slice(lp, [0], [n]), tf.slice(lp, [n], [n]), tf.tensor1d(Float32Array.from(ref.chosen)), tf.tensor1d(Float32Array.from(ref.rejected)), DPO_DEFAULTS.beta).loss;
      }, variables);
      const loss = (await value.data())[0];
      value.dispose();
      if (isGpu) await Promise.all(Object.values(grads).map((g) => g.data())); // gradients computed, not just queued
      acc.add(variables.map((v) => grads[v.name] ?? null));
      const t2 = performance.now();
      const clipped = await clipGradNorm(acc.mean(), DPO_DEFAULTS.maxGradNorm);
      optimizer.step(clipped.grads, o.lr);
      clipped.grads.forEach((g) => g?.dispose());
      if (isGpu) await variables[variables.length - 1].data();
      const t3 = performance.now();
      steps.push({ gradMs: t2 - t1, optMs: t3 - t2, loss });
      log(`DPO step ${step + 1}: fwd+bwd ${(t2 - t1).toFixed(0)} ms, clip+AdamW ${(t3 - t2).toFixed(0)} ms, loss ${loss.toFixed(5)}; wasm heap ${gib(wasmHeap())}, tf tensors ${gib(tf.memory().numBytes)}, peak RSS ${gib(process.resourceUsage().maxRSS * 1024)}`);
    }
    optimizer.dispose();
    emit({
      ...origin(),
      kind: 'dpo',
      pairs: n,
      rowLength: o.dpoLength,
      scoredPerRow: completion,
      lora: `r${o.loraR} ${targets.join(',')}`,
      trainable,
      referenceMs,
      steps,
      mem: mem(),
    });
    lora.detach(model);
    lora.dispose();
  } catch (e) {
    const heap = wasmHeap();
    emit({
      ...origin(),
      kind: 'skip',
      what: `DPO (${o.dpoPairs} pair × 2 × ${o.dpoLength}, LoRA r ${o.loraR})`,
      why: `failed in ${stage}: ${String((e as Error).message ?? e).split('\n')[0]}${heap ? ` (wasm heap ${(heap / 2 ** 30).toFixed(2)} GiB)` : ''}${referenceMs !== null ? `; reference log-probs had taken ${(referenceMs / 1000).toFixed(1)} s` : ''}`,
    });
    log(`DPO failed in ${stage}: ${(e as Error).stack ?? e}`);
    process.exit(1); // the backend's state cannot be trusted after this
  }
}

model.dispose();
process.exit(0); // Dawn (webgpu) keeps the event loop alive otherwise
