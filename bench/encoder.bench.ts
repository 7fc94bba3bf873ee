// Benchmark: our tfjs BERT encoder against transformers.js (ONNX Runtime on the CPU, the ONNX export of
// the same weights) on random MiniLM- and BERT-base-shaped models: encode throughput (docs/s, real
// tokens/s) with the ratio ours ÷ theirs from the same process, one InfoNCE training step (plain and
// GradCache), and a per-stage profile of one encode batch. Each configuration runs in a fresh child
// process: WebGPU in Node needs LD_LIBRARY_PATH before start, peaks do not mix, and a configuration that
// exhausts tfjs-wasm's 4 GiB heap (it aborts) is reported as "not measured" without taking the rest.
//   .cache/venv-llm/bin/python bench/make_random_bert.py     once: the model folders + ONNX exports
//   npm run -s bench:encoder                                  wasm, minilm + bert-base, default sizes
//   npm run -s bench:encoder -- --shapes tiny --docs 8 --max-lengths 64 --batches 4 --train-pairs 4
//   npm run -s bench:encoder -- --shapes minilm --parts train --train-pairs 8 --chunks 4,8
//   npm run -s bench:encoder -- --backends webgpu --shapes minilm --docs 8 --max-lengths 128 --batches 8
//   npm run -s bench:encoder -- --shapes minilm --max-lengths 256 --batches 16 --wasm-threads 2   threaded wasm
// Prints measured figures and the 1-minute load average beside each; nothing here is a pass/fail test.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChildParts } from './encoder-node-child.ts';
import { printReport, RESULT_PREFIX, type BenchRecord } from './encoder-results.ts';

const ROOT = resolve(import.meta.dirname, '..');
export const BENCH_MODELS = join(ROOT, '.cache/bench-models');
const CHROMIUM_LIB = '/usr/lib/chromium';
const SWIFTSHADER_ICD = `${CHROMIUM_LIB}/vk_swiftshader_icd.json`;

export interface EncoderBenchOptions {
  backends: string[];
  shapes: string[];
  /** SciFact documents encoded per measurement. */
  docs: number;
  maxLengths: number[];
  batches: number[];
  /** ONNX Runtime intra-op threads for the baseline; 0 = its default (all cores). */
  ortThreads: number[];
  trainPairs: number;
  trainMaxLength: number;
  /** GradCache chunk sizes measured besides plain backprop (0 = none). */
  chunks: number[];
  trainSteps: number;
  /** Encode profile (wasm/cpu only): the longest `profileBatch` docs at `profileLength`; 0 = off. */
  profileLength: number;
  profileBatch: number;
  peakMemory: boolean;
  baseline: boolean;
  /** Which measurements to run: encode, profile, train. */
  parts: string[];
  /** Include the plain-backprop training step (besides the GradCache chunks). */
  trainPlain: boolean;
  /** XNNPACK threads of the wasm backend (> 1: the threaded build, started by bench/wasm-threads-preload.ts). */
  wasmThreads?: number;
}

export const DEFAULTS: Readonly<EncoderBenchOptions> = Object.freeze({
  backends: ['wasm'], // the app's Node default; webgpu here is SwiftShader (see encoder-webgpu.bench.ts)
  shapes: ['minilm', 'bert-base'],
  docs: 64, // a few batches of 16/32 after a 4-text warm-up: short, the 2 cores are shared
  maxLengths: [256, 512], // most SciFact docs exceed 256 tokens; 512 is BERT's limit
  batches: [16, 32], // DEFAULT_ENCODE_BATCH is 32
  ortThreads: [1, 0], // 1: as tfjs-wasm in Node (single-threaded); 0: ONNX Runtime's default
  trainPairs: 16, // the brief: 16 queries + 16 docs
  trainMaxLength: 128, // doc truncation in the training step (queries are ~20 tokens)
  chunks: [4], // GradCache: 4 forward chunks per group of 16
  trainSteps: 1, // after a small warm-up step
  profileLength: 256,
  profileBatch: 8, // embed() on one batch in one tf.tidy: 8 × 256 tokens is ~1.7 GiB of the 4 GiB wasm heap (MiniLM)
  peakMemory: true, // training steps run under tf.profile (wasm/cpu: a clock read per kernel) for their peak
  baseline: true,
  parts: ['encode', 'profile', 'train'],
  trainPlain: true,
  wasmThreads: 1, // tfjs-wasm's own choice in Node (no threads); see src/encoder/wasm-threads.ts
});

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const ints = (s: string) => list(s).map((x) => {
  const n = Number(x);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected non-negative integers, got "${x}"`);
  return n;
});

export function parseBenchArgs(argv: string[], base: Readonly<EncoderBenchOptions> = DEFAULTS): EncoderBenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: Object.fromEntries(
      ['backends', 'shapes', 'parts', 'docs', 'max-lengths', 'batches', 'ort-threads', 'train-pairs', 'train-max-length', 'chunks', 'train-steps', 'profile-length', 'profile-batch', 'wasm-threads'].map((k) => [k, { type: 'string' as const }]),
    ),
  });
  const v = values as Record<string, string | undefined>;
  const one = (k: string, fallback: number) => (v[k] === undefined ? fallback : ints(v[k]!)[0]);
  const o: EncoderBenchOptions = {
    ...base,
    backends: v.backends ? list(v.backends) : [...base.backends],
    shapes: v.shapes ? list(v.shapes) : [...base.shapes],
    parts: v.parts ? list(v.parts) : [...base.parts],
    docs: one('docs', base.docs),
    maxLengths: v['max-lengths'] ? ints(v['max-lengths']) : [...base.maxLengths],
    batches: v.batches ? ints(v.batches) : [...base.batches],
    ortThreads: v['ort-threads'] ? ints(v['ort-threads']) : [...base.ortThreads],
    trainPairs: one('train-pairs', base.trainPairs),
    trainMaxLength: one('train-max-length', base.trainMaxLength),
    chunks: v.chunks ? ints(v.chunks).filter((c) => c > 0) : [...base.chunks],
    trainSteps: one('train-steps', base.trainSteps),
    profileLength: one('profile-length', base.profileLength),
    profileBatch: one('profile-batch', base.profileBatch),
    wasmThreads: Math.max(1, one('wasm-threads', base.wasmThreads ?? 1)),
  };
  for (const p of o.parts) if (!['encode', 'profile', 'train'].includes(p)) throw new Error(`--parts: unknown part "${p}" (encode, profile, train)`);
  for (const b of o.backends) if (!['wasm', 'cpu', 'webgpu'].includes(b)) throw new Error(`--backends: unknown backend "${b}" (wasm, cpu, webgpu)`);
  for (const s of o.shapes) {
    if (!existsSync(join(BENCH_MODELS, s, 'onnx/model.onnx'))) {
      throw new Error(`${join(BENCH_MODELS, s)} is missing: run \`.cache/venv-llm/bin/python bench/make_random_bert.py --shapes ${s}\` first`);
    }
  }
  return o;
}

/**
 * Runs part of the measurements of one (backend, shape) in a fresh Node process and returns its records.
 * A child that fails (e.g. tfjs-wasm running out of its 4 GiB memory) leaves a 'skip' record saying so.
 */
export function runChild(backend: string, shape: string, o: EncoderBenchOptions, parts: ChildParts): BenchRecord[] {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (backend === 'webgpu') {
    const runtimeDir = join(ROOT, '.cache/xdg-runtime');
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
    env.XDG_RUNTIME_DIR ??= runtimeDir;
    // Dawn dlopen()s libvulkan.so.1, which Debian's chromium ships outside the loader path.
    env.LD_LIBRARY_PATH = [CHROMIUM_LIB, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  const threaded = backend === 'wasm' && (o.wasmThreads ?? 1) > 1;
  if (threaded) env.EXPANDR_WASM_THREADS = String(o.wasmThreads);
  const preload = threaded ? ['--import', join(ROOT, 'bench/wasm-threads-preload.ts')] : [];
  const child = spawnSync(process.execPath, ['--import', 'tsx', ...preload, join(ROOT, 'bench/encoder-node-child.ts'), JSON.stringify({ backend, shape, options: o, parts })], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const records: BenchRecord[] = [];
  for (const line of (child.stdout ?? '').split('\n')) {
    if (line.startsWith(RESULT_PREFIX)) records.push(JSON.parse(line.slice(RESULT_PREFIX.length)) as BenchRecord);
    else if (line.trim()) process.stderr.write(`${line}\n`);
  }
  if (child.status !== 0 && !records.some((r) => r.kind === 'skip')) {
    const why = child.error ? child.error.message : `exit status ${child.status}, signal ${child.signal}`;
    records.push({ host: 'Node', run: `node-${backend}-${shape}`, shape, load1: loadavg()[0], kind: 'skip', what: `${shape} on ${backend}`, why });
  }
  return records;
}

/**
 * Every measurement of one (backend, shape), each in its own child so that one configuration running out
 * of memory does not take the others with it: one child per (max length, batch) encode figure (the
 * baseline in the same process), one for the profile, one per training configuration.
 */
export function runShape(backend: string, shape: string, o: EncoderBenchOptions): BenchRecord[] {
  const records: BenchRecord[] = [];
  const none: ChildParts = { encode: false, agree: false, profile: false, train: false };
  if (o.parts.includes('encode')) {
    let first = true;
    for (const maxLength of o.maxLengths) {
      for (const batchSize of o.batches) {
        records.push(...runChild(backend, shape, { ...o, maxLengths: [maxLength], batches: [batchSize] }, { ...none, encode: true, agree: first }));
        first = false;
      }
    }
  }
  if (o.parts.includes('profile') && o.profileLength > 0 && backend !== 'webgpu') records.push(...runChild(backend, shape, o, { ...none, profile: true }));
  if (o.parts.includes('train') && o.trainPairs > 0 && o.trainSteps > 0) {
    for (const chunk of [0, ...o.chunks]) records.push(...runChild(backend, shape, { ...o, chunks: chunk ? [chunk] : [], trainPlain: chunk === 0 }, { ...none, train: true }));
  }
  return records;
}

export function machineLine(): string {
  const [l1, l5, l15] = loadavg();
  return `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${l1.toFixed(2)} ${l5.toFixed(2)} ${l15.toFixed(2)}`;
}

async function main(): Promise<void> {
  const o = parseBenchArgs(process.argv.slice(2));
  console.log(`Encoder benchmark: ${machineLine()}`);
  console.log(`  shapes ${o.shapes.join(', ')}; backends ${o.backends.join(', ')}; ${o.docs} docs; max lengths ${o.maxLengths.join(', ')}; batches ${o.batches.join(', ')}`);
  const records: BenchRecord[] = [];
  for (const backend of o.backends) {
    for (const shape of o.shapes) records.push(...runShape(backend, shape, o));
  }
  printReport(records);
  console.log(`\nDone: ${machineLine()}`);
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) await main();
