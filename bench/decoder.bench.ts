// Benchmark: the tfjs decoder (src/llm) on a Qwen2.5-0.5B-shaped random model — greedy generation
// tokens/s (prefill and decode separately; batch 1 and 16), sequence log-prob throughput and DPO step time
// (reference log-probs once; policy forward + backward; clip + AdamW) with a LoRA r 8 on q/v — per
// backend, with a 2-layer variant of the same width and vocabulary (per-layer extrapolation), a probe of
// the matMul kernel every projection runs on, and stories260K as a small real reference. Each
// (backend, model) runs in a fresh child process (decoder-node-child.ts): peaks do not mix, a wasm
// out-of-memory abort ends only that run, and WebGPU in Node needs LD_LIBRARY_PATH before start.
//   node --import tsx bench/decoder.bench.ts          the default plan (~10 min on 2 shared cores)
//   node --import tsx bench/decoder.bench.ts --runs wasm:stories260K,cpu:stories260K --new-tokens 32
//   node --import tsx bench/decoder.bench.ts --runs webgpu:qwen-narrow-2l      (~10 min more on SwiftShader)
//   node --import tsx bench/decoder.bench.ts --runs wasm:qwen2.5-0.5b --batches '' --lp-rows 0 --probe-rows ''
//                                                                              (DPO only)
//   node --import tsx bench/decoder.bench.ts --runs wasm:qwen2.5-0.5b --batches '' --lp-rows 0 --probe-rows '' \
//     --prompt 16 --dpo-length 32 --dpo-steps 1 --dpo-reference 0      the 0.5B DPO step (RESULTS-decoder.md)
//   node --import tsx bench/decoder.bench.ts --save FILE     also write the records; --report A,B prints saved ones
// Sizes are deliberately small (Qwen2.5-0.5B is ~2 GB in float32; tfjs-wasm runs single-threaded in Node,
// and its transposed matMul at ~2 GFLOP/s). WebGPU in Node is Dawn on SwiftShader (Vulkan on the CPU):
// its runs use the tiny or SwiftShader-sized models and describe SwiftShader, not a GPU. Prints measured
// figures with the load average beside each; nothing here is a pass/fail test.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchModel, PER_LAYER_PAIRS } from './decoder-models.ts';
import { printReport, RESULT_PREFIX, type DecoderRecord } from './decoder-results.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CHROMIUM_LIB = '/usr/lib/chromium';
const SWIFTSHADER_ICD = `${CHROMIUM_LIB}/vk_swiftshader_icd.json`;

/** What one child measures. */
export interface DecoderRunOptions {
  /** Prompt tokens per row (generation), unscored prefix (log-probs, DPO). */
  promptLen: number;
  /** Greedy tokens generated per row at batch 1, and at larger batches. */
  newTokens: number;
  wideNewTokens: number;
  batches: number[];
  /** Log-probs: rows of `lpLength` tokens in one pass (0 = skip). */
  lpRows: number;
  lpLength: number;
  vocabChunk: number;
  /** DPO: optimizer steps (0 = skip), pairs per step, tokens per row (prompt + completion). */
  dpoSteps: number;
  dpoPairs: number;
  dpoLength: number;
  loraR: number;
  lr: number;
  /** 1: time the reference log-probs (as trainDpo, once per run); 0: skip them and use zeros (the step's cost does not depend on them). */
  dpoReference: number;
  /** Time the projection matMul as linear() calls it and pre-transposed (wasm/cpu), at these row counts. */
  probe: boolean;
  probeRows: number[];
}

export const DEFAULTS: Readonly<DecoderRunOptions> = Object.freeze({
  promptLen: 16,
  newTokens: 8, // 7 decode steps after the prompt pass
  wideNewTokens: 8,
  batches: [1, 16],
  lpRows: 4,
  lpLength: 64,
  vocabChunk: 8192, // DEFAULT_VOCAB_CHUNK
  dpoSteps: 2, // the first one is cold (allocations; shader compiles on webgpu)
  dpoPairs: 1, // 1 pair = 2 rows (chosen, rejected)
  dpoLength: 64,
  loraR: 8,
  lr: 2e-5,
  dpoReference: 1,
  probe: true,
  probeRows: [1, 16, 128],
});

/**
 * Size classes. Qwen-width models on wasm: every projection runs in tfjs-wasm's scalar matMul loop
 * (~1 GFLOP/s, see the kernel table), so the 24-layer model gets 1 decode step at batch 16 (its 256-token
 * prompt pass alone is ~4 min), 1 log-prob row and 1 DPO step (≈ the second one on wasm). webgpu is
 * SwiftShader (~0.1–1 GFLOP/s effective): batch 1, 4 new tokens, 1 row, 1 (cold) DPO step.
 */
export const QWEN_WASM: Partial<DecoderRunOptions> = Object.freeze({ wideNewTokens: 2, lpRows: 1, dpoSteps: 1 });
export const GPU_OVERRIDES: Partial<DecoderRunOptions> = Object.freeze({ newTokens: 4, wideNewTokens: 4, batches: [1], lpRows: 1, dpoSteps: 1 });

/** stories260K on SwiftShader is cheap enough for batch 16 and a warm second DPO step. */
export const GPU_TINY: Partial<DecoderRunOptions> = Object.freeze({ ...GPU_OVERRIDES, batches: [1, 16], dpoSteps: 2 });

export function sizeClass(backend: string, model: string): Partial<DecoderRunOptions> {
  if (backend === 'webgpu') return model === 'stories260K' ? GPU_TINY : GPU_OVERRIDES;
  return model.startsWith('qwen') ? QWEN_WASM : {};
}

/**
 * backend:model, in order (~15 min on 2 shared cores). cpu only for the tiny model. webgpu: stories260K
 * only; qwen-narrow-2l on webgpu takes ~10 min more (`--runs webgpu:qwen-narrow-2l`).
 */
export const DEFAULT_RUNS = ['wasm:stories260K', 'cpu:stories260K', 'webgpu:stories260K', 'wasm:qwen2.5-0.5b-2l', 'wasm:qwen2.5-0.5b'];

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const ints = (s: string) =>
  list(s).map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0) throw new Error(`expected non-negative integers, got "${x}"`);
    return n;
  });

/** Command-line flag → option field; a flag given on the command line wins over the size classes. */
const FLAGS: Record<string, keyof DecoderRunOptions> = {
  prompt: 'promptLen',
  'new-tokens': 'newTokens',
  'wide-new-tokens': 'wideNewTokens',
  batches: 'batches',
  'lp-rows': 'lpRows',
  'lp-length': 'lpLength',
  'vocab-chunk': 'vocabChunk',
  'dpo-steps': 'dpoSteps',
  'dpo-pairs': 'dpoPairs',
  'dpo-length': 'dpoLength',
  'dpo-reference': 'dpoReference',
  'lora-r': 'loraR',
  'probe-rows': 'probeRows',
};
const LIST_FIELDS = new Set<keyof DecoderRunOptions>(['batches', 'probeRows']);

interface Plan {
  runs: { backend: string; model: string; options: DecoderRunOptions }[];
  save: string | null;
  report: string[];
}

function parse(argv: string[]): Plan {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { ...Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }])), runs: { type: 'string' }, save: { type: 'string' }, report: { type: 'string' } },
  });
  const v = values as Record<string, string | undefined>;
  const given: Partial<Record<keyof DecoderRunOptions, unknown>> = {};
  for (const [flag, field] of Object.entries(FLAGS)) {
    if (v[flag] === undefined) continue;
    given[field] = LIST_FIELDS.has(field) ? ints(v[flag]!) : ints(v[flag]!)[0];
  }
  if (given.newTokens !== undefined && given.wideNewTokens === undefined) given.wideNewTokens = given.newTokens;
  if (given.probeRows !== undefined) given.probe = (given.probeRows as number[]).length > 0;
  const runs = (v.runs ? list(v.runs) : v.report ? [] : [...DEFAULT_RUNS]).map((r) => {
    const [backend, model] = r.split(':');
    if (!['wasm', 'cpu', 'webgpu'].includes(backend) || !model) throw new Error(`--runs: expected backend:model (backend wasm, cpu or webgpu), got "${r}"`);
    benchModel(model);
    const options = { ...DEFAULTS, ...sizeClass(backend, model), ...given } as DecoderRunOptions;
    if (options.promptLen < 1 || options.newTokens < 1 || options.wideNewTokens < 1) throw new Error('--prompt and --new-tokens must be ≥ 1');
    if (options.lpRows > 0 && options.lpLength <= options.promptLen) throw new Error('--lp-length must exceed --prompt (the completion is what gets scored)');
    if (options.dpoSteps > 0 && options.dpoLength <= options.promptLen) throw new Error('--dpo-length must exceed --prompt');
    return { backend, model, options };
  });
  return { runs, save: v.save ?? null, report: v.report ? list(v.report) : [] };
}

const describe = (o: DecoderRunOptions) =>
  `generate: prompt ${o.promptLen}, new ${o.newTokens} (batch 1) / ${o.wideNewTokens} (batch > 1), batches ${o.batches.join(',')}; ` +
  `log-probs ${o.lpRows} × ${o.lpLength}; DPO ${o.dpoSteps} step(s), ${o.dpoPairs} pair(s) × 2 × ${o.dpoLength}, LoRA r ${o.loraR}` +
  (o.dpoReference ? '' : '; reference log-probs skipped (zeros)');

/** Runs one (backend, model) in a fresh Node process and returns its records. */
export function runChild(backend: string, model: string, options: DecoderRunOptions): DecoderRecord[] {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (backend === 'webgpu') {
    const runtimeDir = join(ROOT, '.cache/xdg-runtime');
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
    env.XDG_RUNTIME_DIR ??= runtimeDir;
    // Dawn dlopen()s libvulkan.so.1, which Debian's chromium ships outside the loader path.
    env.LD_LIBRARY_PATH = [CHROMIUM_LIB, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  const records: DecoderRecord[] = [];
  let out = '';
  try {
    out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench/decoder-node-child.ts'), JSON.stringify({ backend, model, options })], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? '');
    records.push({ model, backend, load1: loadavg()[0], kind: 'skip', what: 'the rest of the run', why: `child process failed (${(e as { status?: number }).status !== undefined ? `exit status ${(e as { status?: number }).status}` : (e as Error).message.split('\n')[0]}; its log is above)` });
  }
  const parsed: DecoderRecord[] = [];
  for (const line of out.split('\n')) {
    if (line.startsWith(RESULT_PREFIX)) parsed.push(JSON.parse(line.slice(RESULT_PREFIX.length)) as DecoderRecord);
    else if (line.trim()) process.stderr.write(`${line}\n`);
  }
  // The child reports its own failure (a skip record) where it can; else say that it died.
  return parsed.some((r) => r.kind === 'skip') ? parsed : [...parsed, ...records];
}

export function machineLine(): string {
  const [l1, l5, l15] = loadavg();
  return `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${l1.toFixed(2)} ${l5.toFixed(2)} ${l15.toFixed(2)}`;
}

async function main(): Promise<void> {
  const plan = parse(process.argv.slice(2));
  const t0 = performance.now();
  console.log(`Decoder benchmark: ${machineLine()}`);
  const records: DecoderRecord[] = [];
  for (const file of plan.report) records.push(...(JSON.parse(readFileSync(file, 'utf8')) as DecoderRecord[]));
  if (plan.report.length) console.log(`  records from ${plan.report.join(', ')}`);
  for (const m of new Set(plan.runs.map((r) => r.model))) console.log(`  ${m}: ${benchModel(m).what}`);
  if (plan.runs.some((r) => r.backend === 'webgpu')) {
    console.log('  webgpu = Dawn (npm webgpu) on SwiftShader (Vulkan on the CPU): figures describe SwiftShader, not a GPU; warm-up runs repeat each measured shape first');
    if (!existsSync(SWIFTSHADER_ICD)) console.log(`  (${SWIFTSHADER_ICD} is missing: webgpu runs will fail; scripts/ensure-deps.sh --browser installs chromium)`);
  }
  for (const run of plan.runs) {
    const t = performance.now();
    console.log(`  ${run.backend}:${run.model}: ${describe(run.options)}`);
    process.stderr.write(`== ${run.backend}:${run.model} (load ${loadavg()[0].toFixed(2)})\n`);
    records.push(...runChild(run.backend, run.model, run.options));
    process.stderr.write(`== ${run.backend}:${run.model} done in ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
    if (plan.save) writeFileSync(plan.save, JSON.stringify(records, null, 1));
  }
  printReport(records, PER_LAYER_PAIRS);
  if (plan.save) console.log(`\nRecords saved to ${plan.save} (print again, or merged with other files: --report FILE,FILE)`);
  console.log(`\nDone in ${((performance.now() - t0) / 60_000).toFixed(1)} min: ${machineLine()}`);
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) await main();
