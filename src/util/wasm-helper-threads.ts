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
export const HELPER_KERNELS = ['gemm', 'batch_gemm', 'attention', 'gelu', 'gelu_grad', 'embeddings', 'add_layer_norm', 'dropout_lanes', 'attention_probs', 'attention_probs_grad', 'column_sum', 'layer_norm_train', 'layer_norm_grad', 'adamw'] as const satisfies readonly (keyof WasmKernelExports)[];
export type HelperKernel = (typeof HELPER_KERNELS)[number];

/** Control block: state, kernel, argument count, which arguments are f32 (bit i), arguments, jobs done, started. */
export const HELPER_BLOCK_INTS = 32;
const STATE_SLOT = 0;
const KERNEL_SLOT = 1;
const COUNT_SLOT = 2;
const FLOATS_SLOT = 3;
const ARGS_SLOT = 4;
const MAX_ARGS = 16;
const JOBS_DONE_SLOT = 30;
const STARTED_SLOT = 31;
const IDLE = 0;
const JOB = 1;
const DONE = 2;
const QUIT = 3;

/** The helper's loop: runs the kernel its control block announces on the arguments there, until told to quit. */
const HELPER_LOOP = `
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
    kernels[c[${KERNEL_SLOT}]](...args);
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
  const handed: Int32Array[] = [];
  parts.slice(1).forEach((args, i) => {
    if (args.length > MAX_ARGS) throw new Error(`runParts: ${kernel} with ${args.length} arguments (at most ${MAX_ARGS})`);
    const block = ready[i];
    block[KERNEL_SLOT] = HELPER_KERNELS.indexOf(kernel);
    block[COUNT_SLOT] = args.length;
    block[FLOATS_SLOT] = floats;
    args.forEach((x, j) => {
      f32[0] = x;
      block[ARGS_SLOT + j] = (floats >> j) & 1 ? f32Bits[0] : x;
    });
    Atomics.store(block, STATE_SLOT, JOB);
    Atomics.notify(block, STATE_SLOT);
    handed.push(block);
  });
  if (parts.length > 0) fn(...parts[0]);
  for (const block of handed) {
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
