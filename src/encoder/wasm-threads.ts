// Multi-threaded tfjs-wasm in Node (XNNPACK's thread pool: the matrix products, most of an encoder's time).
// tfjs-backend-wasm 4.22 ships a threaded SIMD build but never uses it in Node, for three reasons worked
// around here (read in tfjs-backend-wasm/src/backend_wasm.ts, flags_wasm.ts and src/cc/backend.cc):
//  1. WASM_HAS_MULTITHREAD_SUPPORT is hard-wired false under IS_NODE (tensorflow/tfjs#3830): set it true.
//  2. The pthread workers are started from a blob: URL (URL.createObjectURL of the worker source), which
//     Node's worker_threads refuse (ERR_WORKER_PATH); and the worker then importScripts() the main script,
//     which in Node is the CommonJS bundle, not the Emscripten factory. So the worker source is written to a
//     temporary file that imports the factory (wasm-out/tfjs-backend-wasm-threaded-simd.js) directly, and
//     URL.createObjectURL answers that file's path for the worker blob during start-up.
//  3. backend.cc caps the pool at emscripten_num_logical_cores() / 2 — os.cpus().length / 2 in Node, so 1
//     on a 2-core machine — read once when the module is instantiated: os.cpus() reports 2 × `threads`
//     entries during start-up only.
// The pool's workers start without this process's execArgv, and are unref()'d afterwards, so they do not keep the process alive.
// Browsers need none of this (cross-origin isolation gives them the threaded build).
// Opt-in, not the default: measured on the shared 2-core dev machine (load 4–14 from other processes), one
// 4096×384×1536 product ran 1.3× faster with 2 threads, but a whole MiniLM encode ran slower (1.29 vs
// 2.01 docs/s at 256 tokens, bench/encoder.bench.ts --wasm-threads 2 vs 1): attention's ~1,000 small
// products per batch pay the pool's dispatch, and a busy second core gives nothing back. Worth re-measuring
// on idle cores (encoder.bench.ts --wasm-threads N).
import * as tf from '@tensorflow/tfjs-core';
import { shareWasmIdentity } from '../util/wasm-identity.ts';

interface EmscriptenWorker {
  unref?: () => void;
}
interface WasmModuleWithThreads {
  PThread?: { unusedWorkers: EmscriptenWorker[]; runningWorkers: EmscriptenWorker[] };
}

/**
 * Starts tfjs's wasm backend with `threads` XNNPACK threads (Node only) and makes it the active backend.
 * Call before anything else starts the wasm backend. Returns the thread count in use (1 if the threaded
 * build could not start, in which case the plain build runs).
 */
export async function startWasmWithThreads(threads: number): Promise<number> {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
  shareWasmIdentity();
  // Not tf.findBackend: it would start the backend.
  if ('wasm' in (tf.engine() as unknown as { registry: Record<string, unknown> }).registry) throw new Error('startWasmWithThreads: the wasm backend has already started');
  if (threads === 1 || typeof process === 'undefined' || !process.versions?.node) {
    if (!(await tf.setBackend('wasm'))) throw new Error('The wasm backend did not start');
    return wasmBackend.getThreadsCount();
  }
  const { createRequire } = await import('node:module');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const os = (await import('node:os')).default;
  const require = createRequire(import.meta.url);
  const wasmOut = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'wasm-out');
  const factory = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  const contents = (require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string }).wasmWorkerContents;
  const fromMainScript = 'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}';
  if (!contents.includes(fromMainScript)) throw new Error('startWasmWithThreads: unexpected tfjs-backend-wasm worker source (not 4.22?)');
  // As tfjs does before making its blob: the source's "\n" escapes were unescaped by the template literal.
  const workerSource = contents.replace(fromMainScript, `if(true){importScripts(${JSON.stringify(factory)})}`).replace(/\n/g, '\\n');
  const workerPath = join(mkdtempSync(join(os.tmpdir(), 'tfjs-wasm-threads-')), 'worker.cjs');
  writeFileSync(workerPath, workerSource);

  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  // The pool's workers would inherit this process's execArgv (loaders, --import preloads) and run them:
  // they need none (plain CommonJS), so Emscripten gets a Worker that starts them bare.
  const workerThreads = (await import('node:worker_threads')).default as unknown as { Worker: typeof import('node:worker_threads').Worker };
  const NodeWorker = workerThreads.Worker;
  workerThreads.Worker = class extends NodeWorker {
    constructor(file: string | URL, options: import('node:worker_threads').WorkerOptions = {}) {
      super(file, { ...options, execArgv: [] });
    }
  };
  URL.createObjectURL = (obj: Blob | MediaSource) => (obj instanceof Blob && obj.type === 'application/javascript' ? workerPath : createObjectURL(obj as Blob));
  os.cpus = () => {
    const real = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasmBackend.setThreadsCount(threads);
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('The wasm backend did not start');
    await tf.ready();
  } finally {
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
    workerThreads.Worker = NodeWorker;
  }
  const pthread = ((tf.backend() as unknown as { wasm: WasmModuleWithThreads }).wasm).PThread;
  for (const w of [...(pthread?.unusedWorkers ?? []), ...(pthread?.runningWorkers ?? [])]) w.unref?.();
  return wasmBackend.getThreadsCount();
}
