// Benchmark: one training step, ours (tfjs-wasm in Node, the trainers' real code) against PyTorch (the
// Python libraries the reference code trains with), on the same batch, cores and thread counts, the
// engines interleaved round by round in one run:
//   infonce  all-MiniLM-L6-v2 (real weights), 16 SciFact train queries + their 16 positives + 16 other
//            documents as hard negatives, truncated at 256 tokens, GradCache chunk 8:
//            ours = trainRetriever (src/train/trainer.ts) for one step: batchGrads/GradCache + clip + AdamW;
//            PyTorch = sentence-transformers' CachedMultipleNegativesRankingLoss + clip + torch AdamW.
//   dpo      SmolLM2-135M-Instruct (the Q4_1 GGUF, dequantized to float32 on both sides), LoRA r 8 / α 32
//            on q_proj, v_proj, one pair = 2 rows of 64 prompt + 128 completion = 192 tokens:
//            ours = trainDpo (src/train/dpo-trainer.ts) for one step; PyTorch = TRL's DPOTrainer on a PEFT
//            model (training_step + clip + optimizer step). Both compute the reference log-probs once
//            before the first step (TRL: precompute_ref_log_probs), outside the timing.
// Each (engine, threads) is its own child process: bench/training-steps-child.ts (XNNPACK threads via
// EXPANDR_WASM_THREADS) and bench/training_steps_torch.py (torch.set_num_threads; the interop venv's
// torch with OpenBLAS first on LD_LIBRARY_PATH, as bench/real-minilm.bench.ts explains). Each child runs
// one warm-up step, then one timed step per round. Figures: median step time over the rounds; the ratio
// ours ÷ PyTorch at the same thread count is the median of the per-round ratios.
//   npm run -s bench:training                                         both tasks, 1 and 2 threads, 3 rounds
//   npm run -s bench:training -- --tasks infonce --threads 2 --rounds 2 --profile
// --profile: after the rounds, one more step of ours under tf.profile, kernel time by kernel name.
// --composed-gelu: ours with GELU composed from tfjs ops (wasmKernelSwitches.gelu off), to measure the kernel.
// --xnnpack-gemm: ours with every 2D product on XNNPACK (wasmKernelSwitches.gemm off; at 1 thread the
// products otherwise run on the compiled GEMM, src/util/wasm-gemm-kernel.ts), to measure the GEMM.
// Nothing here is a pass/fail test.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { textTable } from '../src/util/format.ts';
import { scifactTexts } from './scifact-texts.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PYTHON = join(ROOT, '.cache/venv-interop/bin/python');
const OPENBLAS = join(ROOT, '.cache/openblas/root/usr/lib/x86_64-linux-gnu/openblas-pthread');
const MINILM = join(ROOT, '.cache/models/all-MiniLM-L6-v2');
const GGUF = join(ROOT, '.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf');
/** InfoNCE temperature of our default (contriever normalisation): PyTorch's MNRL scale is its inverse. */
const TEMPERATURE = 0.02;
const TASKS = ['infonce', 'dpo'] as const;
type Task = (typeof TASKS)[number];

const { values: argv } = parseArgs({
  options: {
    tasks: { type: 'string', default: TASKS.join(',') },
    threads: { type: 'string', default: '1,2' },
    rounds: { type: 'string', default: '3' },
    pairs: { type: 'string', default: '16' },
    chunk: { type: 'string', default: '8' },
    'dpo-length': { type: 'string', default: '192' },
    'dpo-prompt': { type: 'string', default: '64' },
    engines: { type: 'string', default: 'ours,pytorch' },
    profile: { type: 'boolean', default: false },
    'composed-gelu': { type: 'boolean', default: false },
    'xnnpack-gemm': { type: 'boolean', default: false },
  },
});
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const posInt = (k: string, v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${k} must be a positive integer, got ${v}`);
  return n;
};
const tasks = list(argv.tasks!) as Task[];
for (const t of tasks) if (!TASKS.includes(t)) throw new Error(`--tasks: unknown task "${t}" (${TASKS.join(', ')})`);
const threadCounts = list(argv.threads!).map((x) => posInt('threads', x));
const engines = list(argv.engines!);
for (const e of engines) if (e !== 'ours' && e !== 'pytorch') throw new Error(`--engines: unknown engine "${e}" (ours, pytorch)`);
const ROUNDS = posInt('rounds', argv.rounds!);
const PAIRS = posInt('pairs', argv.pairs!);
const CHUNK = posInt('chunk', argv.chunk!);
const DPO_LENGTH = posInt('dpo-length', argv['dpo-length']!);
const DPO_PROMPT = posInt('dpo-prompt', argv['dpo-prompt']!);
if (DPO_PROMPT >= DPO_LENGTH) throw new Error('--dpo-prompt must be below --dpo-length');

for (const [path, fix] of [
  [join(MINILM, 'model.safetensors'), 'npm run -s expandr -- fetch-model all-MiniLM-L6-v2'],
  [GGUF, 'npm run -s expandr -- fetch-model smollm2-135m-instruct'],
  [PYTHON, 'scripts/ensure-python.sh (the interop venv)'],
  [join(OPENBLAS, 'libblas.so.3'), 'mkdir -p .cache/openblas && cd .cache/openblas && apt-get download libopenblas0-pthread && dpkg-deb -x libopenblas0-pthread_*.deb root'],
]) {
  if (!existsSync(path)) throw new Error(`${path} is missing: run ${fix}`);
}

const log = (s: string) => process.stderr.write(`[training] ${s}\n`);
const load1 = () => loadavg()[0];

interface StepReply {
  ms: number;
  loss: number;
  parts: Record<string, number>;
}
interface Child {
  name: string;
  engine: 'ours' | 'pytorch';
  threads: number;
  ask: <T>(req: object) => Promise<T>;
  quit: () => Promise<void>;
}

/** A child answering one JSON line per JSON request; its stderr lines are passed through. */
function startChild(name: string, engine: Child['engine'], threads: number, cmd: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const p = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  p.stderr.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim() && !/Warning|warn\(|it\/s\]|legacy/.test(line)) process.stderr.write(`  ${name}: ${line}\n`);
  });
  const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  let exitCode: number | null = null;
  const exited = new Promise<never>((_, reject) => p.on('exit', (code) => ((exitCode = code), reject(new Error(`${name} exited with ${code}`)))));
  exited.catch(() => undefined);
  const ask = async <T,>(req: object): Promise<T> => {
    p.stdin.write(`${JSON.stringify(req)}\n`);
    for (;;) {
      const next = await Promise.race([lines.next(), exited]);
      if (next.done) throw new Error(`${name} closed its output`);
      if (!next.value.startsWith('{')) continue; // a library's print on stdout
      const r = JSON.parse(next.value) as T & { error?: string };
      if (r.error) throw new Error(`${name}: ${r.error}`);
      return r;
    }
  };
  const quit = async () => {
    if (exitCode !== null) return;
    p.stdin.write('{"cmd":"quit"}\n');
    await exited.catch(() => undefined);
  };
  return { name, engine, threads, ask, quit };
}

const ours = (threads: number) =>
  startChild(`ours ${threads}t`, 'ours', threads, process.execPath, ['--import', 'tsx', join(ROOT, 'bench/training-steps-child.ts')], { EXPANDR_WASM_THREADS: String(threads), EXPANDR_COMPOSED_GELU: argv['composed-gelu'] ? '1' : '0', EXPANDR_XNNPACK_GEMM: argv['xnnpack-gemm'] ? '1' : '0' });
const pytorch = (task: Task, threads: number) =>
  startChild(`PyTorch ${threads}t`, 'pytorch', threads, PYTHON, [join(ROOT, 'bench/training_steps_torch.py'), '--task', task, '--threads', String(threads)], {
    LD_LIBRARY_PATH: [OPENBLAS, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    OPENBLAS_NUM_THREADS: String(threads),
    OMP_NUM_THREADS: String(threads),
    TOKENIZERS_PARALLELISM: 'false',
    HF_DATASETS_OFFLINE: '1',
    HF_HUB_OFFLINE: '1',
  });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sec = (ms: number) => (ms / 1000).toFixed(2);

interface Measured {
  child: Child;
  steps: StepReply[];
  loads: number[];
  info: Record<string, unknown>;
}

async function runTask(task: Task): Promise<void> {
  const texts = await scifactTexts(400, PAIRS);
  if (texts.queries.length < PAIRS) throw new Error(`SciFact has only ${texts.queries.length} train queries with a positive`);
  // Hard negatives: the first corpus documents that are no query's positive (the step's cost is what is
  // measured; which documents they are does not change it beyond their lengths).
  const positives = new Set(texts.positives);
  const negatives = texts.docs.filter((d) => !positives.has(d)).slice(0, PAIRS);
  const children: Child[] = [];
  const measured: Measured[] = [];
  try {
    // PyTorch first for DPO: TRL's tokenisation and truncation make the pair both sides train on.
    const dpo: { pair: { prompt: number[]; chosen: number[]; rejected: number[] } | null } = { pair: null };
    for (const threads of threadCounts) {
      for (const engine of ['pytorch', 'ours'] as const) {
        if (!engines.includes(engine)) continue;
        const child = engine === 'ours' ? ours(threads) : pytorch(task, threads);
        children.push(child);
        let init: object;
        if (task === 'infonce') init = { cmd: 'init', task, chunk: CHUNK, scale: 1 / TEMPERATURE, queries: texts.queries, positives: texts.positives, negatives };
        else if (engine === 'pytorch') {
          const prompt = `${texts.positives[1]}\nPlease write a passage to answer the question.\nQuestion: ${texts.queries[0]}\nPassage:`;
          init = { cmd: 'init', prompt, chosen: texts.positives[0], rejected: negatives[0], max_length: DPO_LENGTH, max_prompt_length: DPO_PROMPT };
        } else {
          if (!dpo.pair) throw new Error('DPO: ours needs the pair from the PyTorch child (keep pytorch in --engines)');
          init = { cmd: 'init', task, pair: dpo.pair, maxLength: DPO_LENGTH };
        }
        const t0 = performance.now();
        const info = await child.ask<Record<string, unknown>>(init);
        if (engine === 'pytorch' && task === 'dpo') dpo.pair ??= info.pair as typeof dpo.pair;
        log(`${task} ${child.name}: ready in ${sec(performance.now() - t0)} s (warm-up step ${sec((info.warmupMs ?? info.warmup_ms) as number)} s), ${info.tokens} tokens${info.blas ? `, BLAS ${info.blas}` : ''}`);
        measured.push({ child, steps: [], loads: [], info });
      }
    }
    const pair = dpo.pair;
    if (pair) log(`DPO pair: prompt ${pair.prompt.length} + chosen ${pair.chosen.length} / rejected ${pair.rejected.length} ids, rows cut at ${DPO_LENGTH}`);
    for (let round = 0; round < ROUNDS; round++) {
      for (const m of measured) {
        const r = await m.child.ask<StepReply>({ cmd: 'step' });
        m.steps.push(r);
        m.loads.push(load1());
        log(`${task} round ${round + 1} ${m.child.name}: ${sec(r.ms)} s, loss ${r.loss.toFixed(5)}, load ${load1().toFixed(2)}`);
      }
    }
    report(task, measured);
    if (argv.profile) for (const m of measured.filter((x) => x.child.engine === 'ours')) await profile(task, m.child);
  } finally {
    for (const c of children) await c.quit();
  }
}

function report(task: Task, measured: Measured[]): void {
  const what =
    task === 'infonce'
      ? `InfoNCE step, all-MiniLM-L6-v2, ${PAIRS} queries + ${PAIRS} positives + ${PAIRS} hard negatives at ≤ 256 tokens, GradCache chunk ${CHUNK}`
      : `DPO step, SmolLM2-135M-Instruct + LoRA r 8 on q_proj/v_proj, 2 × ${DPO_LENGTH} tokens`;
  console.log(`\n${what}; median of ${ROUNDS} steps after a warm-up step`);
  const rows = measured.map((m) => {
    const peer = measured.find((x) => x.child.engine === 'pytorch' && x.child.threads === m.child.threads);
    const ratio = m.child.engine === 'ours' && peer ? median(m.steps.map((s, i) => s.ms / peer.steps[i].ms)) : null;
    const partNames = Object.keys(m.steps[0]?.parts ?? {});
    const parts = partNames.map((p) => `${p} ${sec(median(m.steps.map((s) => s.parts[p])))}`).join(', ');
    return [m.child.name, sec(median(m.steps.map((s) => s.ms))), m.steps.map((s) => sec(s.ms)).join(' '), ratio === null ? '' : ratio.toFixed(2), parts, median(m.loads).toFixed(2)];
  });
  console.log(textTable(['engine', 'step s', 'rounds s', 'ours ÷ PyTorch', 'parts (median s)', 'load 1m'], rows));
}

async function profile(task: Task, child: Child): Promise<void> {
  const r = await child.ask<{ ms: number; kernels: [string, number, number][] }>({ cmd: 'profile' });
  const total = r.kernels.reduce((a, k) => a + k[1], 0);
  console.log(`\n${task} ${child.name} under tf.profile: step ${sec(r.ms)} s, kernels ${sec(total)} s (the rest: JS between kernels); load ${load1().toFixed(2)}`);
  console.log(textTable(['kernel', 's', 'share', 'calls'], r.kernels.slice(0, 16).map(([n, ms, calls]) => [n, sec(ms), `${((100 * ms) / total).toFixed(1)} %`, String(calls)])));
}

const machine = () => `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
console.log(`Training-step benchmark: ${machine()}`);
console.log(`  tasks ${tasks.join(', ')}; threads ${threadCounts.join(', ')}; engines ${engines.join(', ')}; ${ROUNDS} rounds; ours' GELU ${argv['composed-gelu'] ? 'composed from tfjs ops' : 'compiled wasm kernel'}, 2D products ${argv['xnnpack-gemm'] ? 'XNNPACK' : 'compiled GEMM at 1 thread, XNNPACK at more'}`);
for (const task of tasks) await runTask(task);
console.log(`\nDone: ${machine()}`);
