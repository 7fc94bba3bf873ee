// Benchmark: encoding throughput of the REAL all-MiniLM-L6-v2 (max_seq_length 256) on the same SciFact
// documents (title + ' ' + text) for three engines in one run, interleaved round by round:
//   ours         tfjs-wasm in Node (loadBertEncoder + readModelDir, encode())
//   transf.js    @huggingface/transformers' feature-extraction pipeline (onnxruntime-node, CPU) on the
//                ONNX export of the same weights (tests/reference/gen/export_minilm_onnx.py)
//   PyTorch      sentence-transformers' encode() (bench/st_throughput.py, a child process) on Debian's
//                torch 1.13 (the interop venv). That torch is built with BLAS_INFO=generic and links
//                libblas.so.3, which here is netlib's reference BLAS (~4× slower matmuls): `--pytorch
//                openblas` (the default) runs it with OpenBLAS's libblas.so.3 first on LD_LIBRARY_PATH,
//                unpacked, not installed, by `apt-get download libopenblas0-pthread` + `dpkg-deb -x` into
//                .cache/openblas/root; `--pytorch system` runs it as installed; `openblas,system` both.
// Every engine gets the same thread count (default 2, the machine's cores): XNNPACK threads for tfjs-wasm
// (src/encoder/wasm-threads.ts), intra-op threads for ONNX Runtime, torch.set_num_threads for PyTorch.
// Before timing, the three engines' normalised embeddings of all the documents are compared (max |Δ|,
// must be < 1e-4). Figures: docs/s and real tokens/s (special tokens in, padding out, after truncation
// to 256), median over the rounds; ratios ours ÷ baseline are medians of the per-round ratios.
//   npm run -s expandr -- fetch-model all-MiniLM-L6-v2                              once: the model
//   .cache/venv-interop/bin/python tests/reference/gen/export_minilm_onnx.py        once: its ONNX export
//   npm run -s bench:minilm                                   64 docs, batch 32, 2 threads, 2 rounds
//   npm run -s bench:minilm -- --docs 128 --batch 16 --rounds 3 --threads 1
//   npm run -s bench:minilm -- --docs 16 --pytorch openblas,system --torch-our-batches
// Nothing here is a pass/fail test, except that a failed agreement check stops it before timing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';
import { readModelDir } from '../src/encoder/node-files.ts';
import { startWasmWithThreads } from '../src/encoder/wasm-threads.ts';
import { textTable } from '../src/util/format.ts';
import { scifactTexts } from './scifact-texts.ts';

registerTfjsResolveHook();
const { loadBertEncoder, BertEncoder } = await import('../src/encoder/encoder.ts');
const { batchPlan } = await import('./encoder-measure.ts');

const ROOT = resolve(import.meta.dirname, '..');
const MODEL = join(ROOT, '.cache/models/all-MiniLM-L6-v2');
const ONNX_ID = 'all-MiniLM-L6-v2-onnx';
const PYTHON = join(ROOT, '.cache/venv-interop/bin/python');
const OPENBLAS = join(ROOT, '.cache/openblas/root/usr/lib/x86_64-linux-gnu/openblas-pthread');
const MAX_LENGTH = 256; // the model's sentence_bert_config.json max_seq_length
const TOLERANCE = 1e-4;

const { values: argv } = parseArgs({
  options: {
    docs: { type: 'string', default: '64' },
    batch: { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    pytorch: { type: 'string', default: 'openblas' },
    'torch-our-batches': { type: 'boolean', default: false },
  },
});
const int = (k: 'docs' | 'batch' | 'threads' | 'rounds') => {
  const n = Number(argv[k]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${k} must be a positive integer, got ${argv[k]}`);
  return n;
};
const [DOCS, BATCH, THREADS, ROUNDS] = [int('docs'), int('batch'), int('threads'), int('rounds')];
type Blas = 'openblas' | 'system';
const BLASES = argv.pytorch!.split(',').map((x) => x.trim()).filter(Boolean) as Blas[];
if (!BLASES.length || BLASES.some((b) => b !== 'openblas' && b !== 'system')) throw new Error(`--pytorch takes openblas and/or system, got ${argv.pytorch}`);

const log = (s: string) => process.stderr.write(`[minilm] ${s}\n`);
for (const [path, fix] of [
  [join(MODEL, 'model.safetensors'), 'npm run -s expandr -- fetch-model all-MiniLM-L6-v2'],
  [join(ROOT, '.cache/models', ONNX_ID, 'onnx/model.onnx'), '.cache/venv-interop/bin/python tests/reference/gen/export_minilm_onnx.py'],
  [PYTHON, 'scripts/ensure-python.sh (the interop venv)'],
  ...(BLASES.includes('openblas') ? [[join(OPENBLAS, 'libblas.so.3'), 'mkdir -p .cache/openblas && cd .cache/openblas && apt-get download libopenblas0-pthread && dpkg-deb -x libopenblas0-pthread_*.deb root']] : []),
]) {
  if (!existsSync(path)) throw new Error(`${path} is missing: run ${fix}`);
}

// ── The texts and the batches our encoder runs ────────────────────────────────────────────────────────
const texts = (await scifactTexts(DOCS, 0)).docs;
const wasmThreads = await startWasmWithThreads(THREADS);
log(`tfjs ${tf.getBackend()} with ${wasmThreads} XNNPACK thread(s)`);
const loaded = await loadBertEncoder(await readModelDir(MODEL));
// The folder's own settings (mean pooling, Normalize, 256) — stated here so the comparison cannot drift.
const enc = new BertEncoder(loaded.model, loaded.tokenizer, { ...loaded.settings, pooling: 'mean', normalize: true, maxLength: MAX_LENGTH, queryPrefix: '', docPrefix: '' }, loaded.configJson);
const plan = batchPlan(enc, texts, BATCH);
const batches: number[][] = [];
for (let s = 0, b = 0; s < plan.order.length; s += plan.rows[b++]) batches.push(plan.order.slice(s, s + plan.rows[b]));
const ourLengths = texts.map((t) => enc.tokenIds(t, 'doc').length);
const truncated = ourLengths.filter((n) => n >= MAX_LENGTH).length;
log(`${DOCS} docs, ${plan.tokens} tokens (${truncated} truncated at ${MAX_LENGTH}), our batches: ${plan.rows.join(' ')} rows`);

// ── transformers.js ───────────────────────────────────────────────────────────────────────────────────
interface Extractor {
  (texts: string[], opts: { pooling: 'mean'; normalize: boolean }): Promise<{ dims: number[]; data: ArrayLike<number>; dispose?: () => void }>;
  tokenizer: { model_max_length: number; _tokenizerConfig: { model_max_length?: number } };
}
const { pipeline, env } = await import('@huggingface/transformers');
env.allowLocalModels = true;
env.allowRemoteModels = false;
env.localModelPath = `${join(ROOT, '.cache/models')}/`;
const fe = (await pipeline('feature-extraction', ONNX_ID, {
  dtype: 'fp32',
  device: 'cpu',
  session_options: { intraOpNumThreads: THREADS, interOpNumThreads: 1 },
})) as unknown as Extractor;
fe.tokenizer._tokenizerConfig.model_max_length = MAX_LENGTH; // the pipeline truncates at this
if (fe.tokenizer.model_max_length !== MAX_LENGTH) throw new Error('transformers.js: could not set the truncation length');

// ── PyTorch (sentence-transformers) children: one per BLAS ───────────────────────────────────────────
interface PyChild {
  blas: Blas;
  ask: <T>(req: object) => Promise<T>;
  kill: () => void;
  info: { threads: number; torch: string; st: string; tokens: number[]; blas: string };
}
async function startPython(blas: Blas): Promise<PyChild> {
  const extra: Record<string, string> =
    blas === 'openblas' ? { LD_LIBRARY_PATH: [OPENBLAS, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'), OPENBLAS_NUM_THREADS: String(THREADS) } : {};
  const py = spawn(PYTHON, [join(ROOT, 'bench/st_throughput.py'), '--model', MODEL, '--threads', String(THREADS)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, TOKENIZERS_PARALLELISM: 'false', OMP_NUM_THREADS: String(THREADS), ...extra },
  });
  py.stderr.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (/^\[pytorch\]|Error|Traceback/.test(line)) process.stderr.write(`${line.replace('[pytorch]', `[pytorch/${blas}]`)}\n`);
  });
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, reject) => py.on('exit', (code) => reject(new Error(`bench/st_throughput.py (${blas}) exited with ${code}`))));
  exited.catch(() => undefined);
  const ask = async <T,>(req: object): Promise<T> => {
    py.stdin.write(`${JSON.stringify(req)}\n`);
    const next = await Promise.race([lines.next(), exited]);
    if (next.done) throw new Error('bench/st_throughput.py closed its output');
    const r = JSON.parse(next.value) as T & { error?: string };
    if (r.error) throw new Error(`st_throughput.py: ${r.error}`);
    return r;
  };
  const info = await ask<PyChild['info']>({ cmd: 'init', texts, batch_size: BATCH, max_seq_length: MAX_LENGTH, plan: batches });
  const mismatch = info.tokens.filter((n, i) => n !== ourLengths[i]).length;
  log(`PyTorch ${info.torch} (BLAS: ${info.blas}), sentence-transformers ${info.st}, ${info.threads} threads; token counts differ from ours on ${mismatch} of ${DOCS} docs`);
  return { blas, ask, kill: () => py.kill(), info };
}
const pys: PyChild[] = [];
for (const b of BLASES) pys.push(await startPython(b));

// ── Agreement (all docs, normalised embeddings), before any timing ────────────────────────────────────
const dim = enc.dim;
const ours = await enc.encode(texts, 'doc', { batchSize: BATCH });
const theirsJs = new Float32Array(DOCS * dim);
for (const b of batches) {
  const out = await fe(b.map((i) => texts[i]), { pooling: 'mean', normalize: true });
  b.forEach((textIndex, r) => theirsJs.set(Array.from(out.data).slice(r * dim, (r + 1) * dim), textIndex * dim));
  out.dispose?.();
}
const torchEmbs: { blas: Blas; data: number[] }[] = [];
for (const p of pys) {
  const t = await p.ask<{ dim: number; data: number[] }>({ cmd: 'embed' });
  if (t.dim !== dim) throw new Error(`PyTorch dim ${t.dim} ≠ ours ${dim}`);
  torchEmbs.push({ blas: p.blas, data: t.data });
}
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>, rows: (i: number) => boolean = () => true) => {
  let d = 0;
  for (let i = 0; i < DOCS; i++) if (rows(i)) for (let j = 0; j < dim; j++) d = Math.max(d, Math.abs(a[i * dim + j] - b[i * dim + j]));
  return d;
};
const short = (i: number) => ourLengths[i] < MAX_LENGTH;
const agree = [
  { pair: 'ours vs transformers.js', all: maxDiff(ours, theirsJs), short: maxDiff(ours, theirsJs, short), js: true },
  ...torchEmbs.flatMap((t) => [
    { pair: `ours vs PyTorch/${t.blas}`, all: maxDiff(ours, t.data), short: maxDiff(ours, t.data, short), js: false },
    { pair: `transformers.js vs PyTorch/${t.blas}`, all: maxDiff(theirsJs, t.data), short: maxDiff(theirsJs, t.data, short), js: true },
  ]),
];
const e = (x: number) => x.toExponential(2);
console.log(`\nEmbedding agreement, max |Δ| over ${dim}-d normalised embeddings (${DOCS} docs; ${DOCS - truncated} of them under ${MAX_LENGTH} tokens):`);
console.log(textTable(['pair', 'all docs', `docs < ${MAX_LENGTH} tokens`], agree.map((a) => [a.pair, e(a.all), e(a.short)])));
// The gate: every pair without transformers.js over every doc, every pair over the untruncated docs.
// (transformers.js truncates differently from the HF tokenizer: the note below says so when it shows.)
const bad = agree.filter((a) => a.short >= TOLERANCE || (!a.js && a.all >= TOLERANCE));
if (bad.length) {
  console.log(`\nAGREEMENT FAILED (tolerance ${TOLERANCE}): ${bad.map((a) => a.pair).join(', ')} — not timing different computations.`);
  pys.forEach((p) => p.kill());
  process.exit(1);
}
if (agree.some((a) => a.js && a.all >= TOLERANCE)) console.log(`note: transformers.js differs on truncated docs only (its truncation at ${MAX_LENGTH} differs from the HF tokenizer's); timing goes on, same token counts.`);

// ── Timing, interleaved ───────────────────────────────────────────────────────────────────────────────
type Engine = string;
const timeOf: Record<Engine, () => Promise<number>> = {};
const loads: number[] = [];
// Warm-up for ours and transformers.js (PyTorch warmed up in init): the 4 longest texts.
const warm = plan.order.slice(0, 4).map((i) => texts[i]);
await enc.encode(warm, 'doc', { batchSize: BATCH });
(await fe(warm, { pooling: 'mean', normalize: true })).dispose?.();
Object.assign(timeOf, {
  ours: async () => {
    const t0 = performance.now();
    await enc.encode(texts, 'doc', { batchSize: BATCH });
    return performance.now() - t0;
  },
  'transformers.js': async () => {
    const t0 = performance.now();
    for (const b of batches) (await fe(b.map((i) => texts[i]), { pooling: 'mean', normalize: true })).dispose?.();
    return performance.now() - t0;
  },
});
for (const p of pys) {
  timeOf[`PyTorch/${p.blas} (ST batches)`] = async () => (await p.ask<{ ms: number }>({ cmd: 'time', mode: 'st' })).ms;
  if (argv['torch-our-batches']) timeOf[`PyTorch/${p.blas} (our batches)`] = async () => (await p.ask<{ ms: number }>({ cmd: 'time', mode: 'plan' })).ms;
}
const ENGINES: Engine[] = Object.keys(timeOf);
const times: Record<Engine, number[]> = Object.fromEntries(ENGINES.map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  // Rotate the order each round so no engine always runs first (or right after the heaviest).
  const order = ENGINES.map((_, k) => ENGINES[(k + r) % ENGINES.length]);
  for (const eng of order) {
    const ms = await timeOf[eng]();
    times[eng].push(ms);
    log(`round ${r + 1}/${ROUNDS} ${eng}: ${(ms / 1000).toFixed(2)} s (load ${loadavg()[0].toFixed(2)})`);
  }
  loads.push(loadavg()[0]);
}
for (const p of pys) p.kill();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ratioVs = (eng: Engine) => median(times.ours.map((ms, r) => times[eng][r] / ms)); // docs/s ours ÷ theirs
console.log(`\nEncode throughput, all-MiniLM-L6-v2, ${DOCS} SciFact docs, max length ${MAX_LENGTH}, batch ${BATCH}, ${THREADS} thread(s) each, median of ${ROUNDS} round(s):`);
console.log(
  textTable(
    ['engine', 'docs/s', 'tokens/s', 's (median)', 's (all rounds)', 'ours ÷ this'],
    ENGINES.map((eng) => {
      const ms = median(times[eng]);
      return [
        eng,
        ((DOCS / ms) * 1000).toFixed(2),
        ((plan.tokens / ms) * 1000).toFixed(0),
        (ms / 1000).toFixed(2),
        times[eng].map((x) => (x / 1000).toFixed(2)).join(' '),
        eng === 'ours' ? '1' : ratioVs(eng).toFixed(2),
      ];
    }),
  ),
);
console.log(
  `\nours ÷ transformers.js = ${ratioVs('transformers.js').toFixed(2)}; ` +
    pys.map((p) => `ours ÷ PyTorch/${p.blas} = ${ratioVs(`PyTorch/${p.blas} (ST batches)`).toFixed(2)}`).join('; ') +
    ` (> 1: ours faster; medians of per-round ratios)`,
);
console.log(
  `tokens: ${plan.tokens} real, ${plan.paddedTokens} padded in our batches (${plan.rows.join(' ')} rows; encode() caps rows by attention size). ` +
    `Threads: tfjs-wasm XNNPACK ${wasmThreads}, ORT intra-op ${THREADS}, torch ${pys.map((p) => `${p.info.threads} (${p.info.blas})`).join(', ')}. ` +
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average 1 min ${loads.map((l) => l.toFixed(2)).join(' → ')}.`,
);
process.exit(0);
