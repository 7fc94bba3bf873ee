// Rows of a compiled GEMM call (wasm-gemm-kernel.ts) on helper threads that share tfjs-wasm's memory (its
// threaded build's shared WebAssembly.Memory), so that the GEMM uses the cores XNNPACK's pool would. The caller
// packs B (and A) itself, hands each helper a row range through a control block of 16 int32 in that memory
// (Atomics.notify), runs the first range, then waits (Atomics.wait) for the helpers. The kernels' module has no
// stack or globals (scripts/build-wasm-kernels.sh checks), so a second instance on the same memory is safe.
// The threads are made by the environment (Node: src/cli/gemm-helpers-node.ts; browsers:
// workers/gemm-helpers-browser.ts); each runs GEMM_HELPER_SOURCE.
import type { WasmKernelExports } from './wasm-kernel-module.ts';

/** Control block: [0] state, [1..11] gemm's arguments, [12] jobs done (for tests), [13] 1 once the helper runs. */
export const GEMM_BLOCK_INTS = 16;
const IDLE = 0;
const JOB = 1;
const DONE = 2;
const QUIT = 3;
/** Control-block slots beside the state and gemm's arguments. */
const JOBS_DONE_SLOT = 12;
const STARTED_SLOT = 13;
/** Rows per part are a multiple of the micro-tile's 6, so a packed A's blocks are never cut. */
const MR = 6;
/** Below this many rows the hand-over costs more than the second thread gains. */
export const GEMM_SPLIT_MIN_ROWS = 96;

/** The helper's loop: runs gemm for each job its control block announces, until told to quit. */
const HELPER_LOOP = `
function gemmHelper({ memory, module, block }) {
  const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm;
  const c = new Int32Array(memory.buffer, block, ${GEMM_BLOCK_INTS});
  Atomics.store(c, ${STARTED_SLOT}, 1);
  for (;;) {
    Atomics.wait(c, 0, ${IDLE});
    const s = Atomics.load(c, 0);
    if (s === ${QUIT}) break;
    if (s !== ${JOB}) continue;
    gemm(c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11]);
    c[${JOBS_DONE_SLOT}]++;
    Atomics.store(c, 0, ${DONE});
    Atomics.notify(c, 0);
  }
}
`;

/**
 * A helper thread's whole program (plain JavaScript, no imports), given { memory, module, block }: the shared
 * memory, the kernels' compiled module, the control block's byte offset. Node: an eval'd worker_threads
 * Worker with them as workerData; browsers: a Worker from a blob that receives them as its first message.
 */
export const GEMM_HELPER_SOURCE = {
  node: `${HELPER_LOOP}\ngemmHelper(require('node:worker_threads').workerData);\n`,
  browser: `${HELPER_LOOP}\nonmessage = (e) => gemmHelper(e.data);\n`,
};

let helpers: Int32Array[] = [];

/** A zeroed control block in the shared memory: its byte offset (for the helper) and its int32 view (for setGemmHelpers). */
export function newGemmBlock(shared: { memory: WebAssembly.Memory; malloc(bytes: number): number }): { block: number; view: Int32Array } {
  const block = shared.malloc(4 * GEMM_BLOCK_INTS);
  const view = new Int32Array(shared.memory.buffer, block, GEMM_BLOCK_INTS);
  view.fill(0);
  return { block, view };
}

/** Installs the helpers' control blocks (each a view of GEMM_BLOCK_INTS int32 in the shared memory); [] for none. */
export function setGemmHelpers(blocks: Int32Array[]): void {
  for (const b of helpers) if (!blocks.includes(b)) (Atomics.store(b, 0, QUIT), Atomics.notify(b, 0));
  helpers = blocks;
}

export function gemmHelperCount(): number {
  return helpers.length;
}

/** Resolves once every helper's thread runs, or after timeoutMs (a helper that never starts is just not used): how many run. */
export async function gemmHelpersStarted(timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  const ready = () => helpers.filter((b) => Atomics.load(b, STARTED_SLOT) === 1).length;
  while (ready() < helpers.length && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 5));
  return ready();
}

/** Jobs each helper has finished (tests: the rows really ran there). */
export function gemmHelperJobs(): number[] {
  return helpers.map((b) => Atomics.load(b, JOBS_DONE_SLOT));
}

/** gemm(a, am, ak, packed, c, bias, M, K, N) over rows [0, M): split over this thread and the helpers when M is large enough. */
export function gemmRows(kernels: WasmKernelExports, a: number, am: number, ak: number, packed: number, c: number, bias: number, M: number, K: number, N: number): void {
  if (helpers.length === 0 || M < GEMM_SPLIT_MIN_ROWS) {
    kernels.gemm(a, am, ak, packed, c, bias, M, K, N, 0, M);
    return;
  }
  // Only helpers whose thread has started (a Worker starts asynchronously); the rows rest here otherwise.
  const ready = helpers.filter((b) => Atomics.load(b, STARTED_SLOT) === 1);
  const step = Math.ceil(M / (ready.length + 1) / MR) * MR;
  const started: Int32Array[] = [];
  ready.forEach((block, i) => {
    const row0 = (i + 1) * step;
    const row1 = Math.min(M, row0 + step);
    if (row0 >= row1) return;
    block.set([a, am, ak, packed, c, bias, M, K, N, row0, row1], 1);
    Atomics.store(block, 0, JOB);
    Atomics.notify(block, 0);
    started.push(block);
  });
  kernels.gemm(a, am, ak, packed, c, bias, M, K, N, 0, Math.min(M, step));
  for (const block of started) {
    const t0 = Date.now();
    while (Atomics.load(block, 0) !== DONE) {
      waitWhileJob(block);
      if (Date.now() - t0 > HELPER_TIMEOUT_MS) throw new Error(`A GEMM helper thread did not finish its rows in ${HELPER_TIMEOUT_MS / 1000} s (it stopped?): reload to start the wasm backend afresh`);
    }
    Atomics.store(block, 0, IDLE);
  }
}

/** Far beyond any one product's rows (~0.1 s for MiniLM's largest at 2,560 rows): a helper that takes longer is gone. */
const HELPER_TIMEOUT_MS = 120_000;

let canWait = true;
/** Atomics.wait (1 s slices) where the thread may block (workers, Node); a browser's main thread may not, and spins instead. */
function waitWhileJob(block: Int32Array): void {
  if (!canWait) return;
  try {
    Atomics.wait(block, 0, JOB, 1000);
  } catch {
    canWait = false;
  }
}
