// Parts of a compiled kernel's work (wasm-kernel-module.ts: the GEMM's rows or slices, attention's (row, head) pairs,
// GELU's and AdamW's elements, the embeddings' and LayerNorm's rows, forward and backward) on helper threads that share tfjs-wasm's memory (its threaded build's shared
// WebAssembly.Memory), so that our kernels use the cores XNNPACK's pool would. The caller splits the work into
// parts (each kernel takes a range), hands each helper one part through a control block of int32 in that memory
// (Atomics.notify), runs the first part itself, then waits (Atomics.wait) for the helpers. The kernels' module
// has no stack or globals (scripts/build-wasm-kernels.sh checks), so a second instance on the same memory is
// safe; parts write disjoint outputs, so the result is the one-thread result bit for bit.
// The threads are made by the environment (Node: src/cli/wasm-helper-threads-node.ts; browsers:
// workers/wasm-helper-threads-browser.ts); each runs HELPER_SOURCE.
import type { WasmKernelExports } from './wasm-kernel-module.ts';
import { wasmKernelSwitches } from './wasm-kernel-internals.ts';

/** The kernels a helper can run, by their index in this list (the control block's kernel slot). */
export const HELPER_KERNELS = ['gemm', 'batch_gemm', 'attention', 'gelu', 'gelu_grad', 'embeddings', 'add_layer_norm', 'dropout_lanes', 'attention_probs', 'attention_probs_grad', 'column_sum', 'layer_norm_train', 'layer_norm_grad', 'adamw', 'attention_packed'] as const satisfies readonly (keyof WasmKernelExports)[];
export type HelperKernel = (typeof HELPER_KERNELS)[number];

/** Control block: state, kernel, argument count, which arguments are f32 (bit i), arguments, a chunked job's range, chunks done, jobs done, started. */
export const HELPER_BLOCK_INTS = 32;
const STATE_SLOT = 0;
const KERNEL_SLOT = 1;
const COUNT_SLOT = 2;
const FLOATS_SLOT = 3;
const ARGS_SLOT = 4;
const MAX_ARGS = 16;
/** Chunked jobs (runChunks): the argument index of the range's first (−1: a fixed part), n, the smallest chunk, chunks' alignment, the share of what is left a chunk takes (1/share), the counter's byte offset. */
const RANGE_ARG_SLOT = 20;
const RANGE_N_SLOT = 21;
const RANGE_MIN_SLOT = 22;
const RANGE_ALIGN_SLOT = 25;
const RANGE_SHARE_SLOT = 26;
const COUNTER_AT_SLOT = 23;
/** The shared chunk counter lives in the first helper's block. */
const COUNTER_SLOT = 24;
const CHUNKS_DONE_SLOT = 29;
const JOBS_DONE_SLOT = 30;
const STARTED_SLOT = 31;
const IDLE = 0;
const JOB = 1;
const DONE = 2;
const QUIT = 3;

/** The helper's loop: runs the kernel its control block announces on the arguments there, until told to quit. */
const HELPER_LOOP = `
const claimNext = ${claimNext};
function kernelHelper({ memory, module, block }) {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const kernels = ${JSON.stringify(HELPER_KERNELS)}.map((name) => exports[name]);
  const c = new Int32Array(memory.buffer, block, ${HELPER_BLOCK_INTS});
  const f = new Float32Array(memory.buffer, block, ${HELPER_BLOCK_INTS});
  Atomics.store(c, ${STARTED_SLOT}, 1);
  for (;;) {
    Atomics.wait(c, ${STATE_SLOT}, ${IDLE});
    const s = Atomics.load(c, ${STATE_SLOT});
    if (s === ${QUIT}) break;
    if (s !== ${JOB}) continue;
    const args = [];
    for (let i = 0; i < c[${COUNT_SLOT}]; i++) args.push((c[${FLOATS_SLOT}] >> i) & 1 ? f[${ARGS_SLOT} + i] : c[${ARGS_SLOT} + i]);
    const kernel = kernels[c[${KERNEL_SLOT}]];
    const at = c[${RANGE_ARG_SLOT}];
    if (at < 0) kernel(...args);
    else {
      // Chunks of [0, n) claimed one at a time from the counter shared with the caller and the other helpers.
      const counter = new Int32Array(memory.buffer, c[${COUNTER_AT_SLOT}], 1);
      const n = c[${RANGE_N_SLOT}], min = c[${RANGE_MIN_SLOT}], align = c[${RANGE_ALIGN_SLOT}], share = c[${RANGE_SHARE_SLOT}];
      for (let r = claimNext(counter, 0, n, min, align, share); r; r = claimNext(counter, 0, n, min, align, share)) {
        args[at] = r[0];
        args[at + 1] = r[1];
        kernel(...args);
        c[${CHUNKS_DONE_SLOT}]++;
      }
    }
    c[${JOBS_DONE_SLOT}]++;
    Atomics.store(c, ${STATE_SLOT}, ${DONE});
    Atomics.notify(c, ${STATE_SLOT});
  }
}
`;

/**
 * A helper thread's whole program (plain JavaScript, no imports), given { memory, module, block }: the shared
 * memory, the kernels' compiled module, the control block's byte offset. Node: an eval'd worker_threads
 * Worker with them as workerData; browsers: a Worker from a blob that receives them as its first message.
 */
export const HELPER_SOURCE = {
  node: `${HELPER_LOOP}\nkernelHelper(require('node:worker_threads').workerData);\n`,
  browser: `${HELPER_LOOP}\nonmessage = (e) => kernelHelper(e.data);\n`,
};

let helpers: Int32Array[] = [];

/** A zeroed control block in the shared memory: its byte offset (for the helper) and its int32 view (for setKernelHelpers). */
export function newHelperBlock(shared: { memory: WebAssembly.Memory; malloc(bytes: number): number }): { block: number; view: Int32Array } {
  const block = shared.malloc(4 * HELPER_BLOCK_INTS);
  const view = new Int32Array(shared.memory.buffer, block, HELPER_BLOCK_INTS);
  view.fill(0);
  return { block, view };
}

/** Installs the helpers' control blocks (each a view of HELPER_BLOCK_INTS int32 in the shared memory); [] for none. */
export function setKernelHelpers(blocks: Int32Array[]): void {
  for (const b of helpers) if (!blocks.includes(b)) (Atomics.store(b, STATE_SLOT, QUIT), Atomics.notify(b, STATE_SLOT));
  helpers = blocks;
}

/** Helpers installed (0 while wasmKernelSwitches.helperThreads is off). */
export function kernelHelperCount(): number {
  return wasmKernelSwitches.helperThreads ? helpers.length : 0;
}

const started = (b: Int32Array) => Atomics.load(b, STARTED_SLOT) === 1;

/** Resolves once every helper's thread runs, or after timeoutMs (a helper that never starts is just not used): how many run. */
export async function kernelHelpersStarted(timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  while (helpers.filter(started).length < helpers.length && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 5));
  return helpers.filter(started).length;
}

/** Jobs each helper has finished (tests: the parts really ran there). */
export function kernelHelperJobs(): number[] {
  return helpers.map((b) => Atomics.load(b, JOBS_DONE_SLOT));
}

/** Chunks of runChunks' ranges each helper has run. */
export function kernelHelperChunks(): number[] {
  return helpers.map((b) => Atomics.load(b, CHUNKS_DONE_SLOT));
}

/** How many parts runParts can run at once now: this thread and every helper whose thread has started (a Worker starts asynchronously). */
export function kernelThreads(): number {
  return wasmKernelSwitches.helperThreads ? 1 + helpers.filter(started).length : 1;
}

/** [first, last) ranges of [0, n) for `parts` threads, each start a multiple of `align` (a kernel's block); fewer where n is small. */
export function splitRange(n: number, parts: number, align = 1): [number, number][] {
  const step = Math.max(align, Math.ceil(n / parts / align) * align);
  const ranges: [number, number][] = [];
  for (let first = 0; first < n; first += step) ranges.push([first, Math.min(n, first + step)]);
  return ranges;
}

/**
 * Time (ms) this thread spent in its own parts and then waiting for the helpers' parts, over `calls` runParts
 * calls with at least one helper: how even a static split is in practice (benchmarks reset and read it).
 */
export const helperSplitTimes = { calls: 0, ownMs: 0, waitMs: 0 };

const f32 = new Float32Array(1);
const f32Bits = new Int32Array(f32.buffer);

/**
 * Runs `kernel` once per part, all at once: parts[0] on this thread, parts[i] on the i-th started helper
 * (parts.length ≤ kernelThreads()). Each part is the kernel's argument list; bit i of `floats` marks argument
 * i as f32. Returns when every part is done.
 */
export function runParts(kernels: WasmKernelExports, kernel: HelperKernel, parts: number[][], floats = 0): void {
  const fn = kernels[kernel] as (...args: number[]) => void;
  const ready = helpers.filter(started);
  if (parts.length > ready.length + 1) throw new Error(`runParts: ${parts.length} parts for ${ready.length + 1} threads`);
  const handed = parts.slice(1).map((args, i) => handOut(ready[i], kernel, args, floats, -1));
  timedSplit(handed, () => parts.length > 0 && fn(...parts[0]));
}

export interface ChunkPlan {
  /** Argument index of the range's first index (its last at rangeArg + 1). */
  rangeArg: number;
  /** The range is [0, n). */
  n: number;
  /** Smallest chunk (the last may be shorter): a few hundred microseconds of work at least. */
  minChunk: number;
  /** Every chunk starts at a multiple of this (a kernel's block). */
  align?: number;
  /** Helpers to use at most (kernelThreads() − 1 for all). */
  helpers: number;
  /** Bit i marks argument i as f32. */
  floats?: number;
}

/**
 * Runs `kernel` over [0, plan.n) in chunks that this thread and the started helpers claim one at a time from a
 * shared counter until none is left (guided sizes: a chunk takes 1 / (2 · threads) of what is left, at least
 * minChunk), so a thread the scheduler slows takes fewer chunks instead of holding the others up, and the
 * last chunks are small (a static split waits for its slowest part). argsOf(t) is thread t's argument list
 * (0 this thread, i the i-th helper: its own scratch, say). Only for kernels whose every output depends on
 * its own range alone: the result is then the one-thread result bit for bit.
 */
export function runChunks(kernels: WasmKernelExports, kernel: HelperKernel, argsOf: (thread: number) => number[], plan: ChunkPlan): void {
  const fn = kernels[kernel] as (...args: number[]) => void;
  const { rangeArg, n, floats = 0 } = plan;
  const align = plan.align ?? 1;
  const ready = helpers.filter(started).slice(0, Math.max(0, plan.helpers));
  // Switched off (benchmarks): one chunk per thread, a static split claimed in turn.
  const minChunk = wasmKernelSwitches.chunkedSplits ? Math.max(align, Math.ceil(plan.minChunk / align) * align) : minChunkOf(n, ready.length + 1, 1, align);
  const own = argsOf(0);
  const runRange = (first: number, last: number) => {
    own[rangeArg] = first;
    own[rangeArg + 1] = last;
    fn(...own);
  };
  if (!ready.length || n <= minChunk) {
    if (n > 0) runRange(0, n);
    return;
  }
  const counterBlock = ready[0];
  Atomics.store(counterBlock, COUNTER_SLOT, 0);
  const counterAt = counterBlock.byteOffset + 4 * COUNTER_SLOT;
  const share = 2 * (ready.length + 1);
  const handed = ready.map((block, i) => {
    block[RANGE_N_SLOT] = n;
    block[RANGE_MIN_SLOT] = minChunk;
    block[RANGE_ALIGN_SLOT] = align;
    block[RANGE_SHARE_SLOT] = share;
    block[COUNTER_AT_SLOT] = counterAt;
    return handOut(block, kernel, argsOf(i + 1), floats, rangeArg);
  });
  timedSplit(handed, () => {
    for (let r = claimNext(counterBlock, COUNTER_SLOT, n, minChunk, align, share); r; r = claimNext(counterBlock, COUNTER_SLOT, n, minChunk, align, share)) runRange(r[0], r[1]);
  });
}

/**
 * Claims the next chunk [first, last) from the counter counter[at] (the next unclaimed index); null when none is
 * left. Guided sizes: 1 / share of what is left, at least minChunk, a multiple of align. Self-contained (no names
 * from outside but Atomics and Math): the helpers' loop runs this same function from its source.
 */
function claimNext(counter: Int32Array, at: number, n: number, minChunk: number, align: number, share: number): [number, number] | null {
  for (;;) {
    const first = Atomics.load(counter, at);
    if (first >= n) return null;
    const last = Math.min(n, first + Math.max(minChunk, Math.ceil((n - first) / share / align) * align));
    if (Atomics.compareExchange(counter, at, first, last) === first) return [first, last];
  }
}

/** runChunks' smallest chunk: about a 1 / (threads · perThread) share of n, a multiple of align. */
export function minChunkOf(n: number, threads: number, perThread: number, align = 1): number {
  return align * Math.max(1, Math.ceil(n / (threads * perThread) / align));
}

/** Writes a job into a helper's block and wakes it: a fixed part (rangeArg −1) or runChunks' chunked range. */
function handOut(block: Int32Array, kernel: HelperKernel, args: number[], floats: number, rangeArg: number): Int32Array {
  if (args.length > MAX_ARGS) throw new Error(`runParts: ${kernel} with ${args.length} arguments (at most ${MAX_ARGS})`);
  block[KERNEL_SLOT] = HELPER_KERNELS.indexOf(kernel);
  block[COUNT_SLOT] = args.length;
  block[FLOATS_SLOT] = floats;
  block[RANGE_ARG_SLOT] = rangeArg;
  args.forEach((x, j) => {
    f32[0] = x;
    block[ARGS_SLOT + j] = (floats >> j) & 1 ? f32Bits[0] : x;
  });
  Atomics.store(block, STATE_SLOT, JOB);
  Atomics.notify(block, STATE_SLOT);
  return block;
}

/** Runs this thread's share, then waits for every handed-out helper; records both times (helperSplitTimes). */
function timedSplit(handed: Int32Array[], own: () => void): void {
  const t0 = handed.length ? performance.now() : 0;
  own();
  const t1 = handed.length ? performance.now() : 0;
  for (const block of handed) waitForHelper(block);
  if (handed.length) {
    helperSplitTimes.calls++;
    helperSplitTimes.ownMs += t1 - t0;
    helperSplitTimes.waitMs += performance.now() - t1;
  }
}

/** Waits until the helper's job is done (a stall of HELPER_TIMEOUT_MS throws), then marks its block idle. */
function waitForHelper(block: Int32Array): void {
  let stalled = 0;
  let last = Date.now();
  while (Atomics.load(block, STATE_SLOT) !== DONE) {
    waitWhileJob(block);
    // A gap far longer than one wait slice means this process itself was suspended (SIGSTOP, a sleeping
    // laptop, a frozen tab), helper included: that time is not the helper's stall.
    const now = Date.now();
    stalled += Math.min(now - last, MAX_SLICE_MS);
    last = now;
    if (stalled > HELPER_TIMEOUT_MS) throw new Error(`A wasm kernel helper thread did not finish its part in ${HELPER_TIMEOUT_MS / 1000} s (it stopped?): reload to start the wasm backend afresh`);
  }
  Atomics.store(block, STATE_SLOT, IDLE);
}

/** Far beyond any one kernel call (~0.1 s for MiniLM's largest product at 2,560 rows): a helper that takes longer is gone. */
const HELPER_TIMEOUT_MS = 120_000;
/** Longest time one wait slice (1 s) may count towards the stall. */
const MAX_SLICE_MS = 2000;

let canWait = true;
/** Atomics.wait (1 s slices) where the thread may block (workers, Node); a browser's main thread may not, and spins instead. */
function waitWhileJob(block: Int32Array): void {
  if (!canWait) return;
  try {
    Atomics.wait(block, STATE_SLOT, JOB, 1000);
  } catch {
    canWait = false;
  }
}
