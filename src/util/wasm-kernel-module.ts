// The project's compiled wasm SIMD kernels (src/util/wasm-*-kernel.c, linked into one module by
// scripts/build-wasm-kernels.sh and embedded, base64, in wasm-kernel-binaries.ts), instantiated against
// tfjs-backend-wasm's own memory: the plain build for tfjs's single-threaded builds (Module.asm.memory), the
// shared one for its threaded SIMD build (Module.wasmMemory). The instance holds no views of that memory
// (only byte offsets), so memory growth needs nothing here. It compiles on first use, synchronously;
// prepareWasmKernels() compiles it ahead, asynchronously, for a browser's main thread (where browsers have
// limited synchronous compiles to small modules). The kernels: wasm-attention-kernel.ts,
// wasm-attention-probs-kernel.ts, wasm-gather-rows-kernel.ts, wasm-gelu-kernel.ts, wasm-gemm-kernel.ts, wasm-layer-norm-kernel.ts,
// wasm-layer-norm-grad-kernel.ts, wasm-column-sum-kernel.ts, wasm-dropout-kernel.ts, wasm-adamw-kernel.ts.
// Each build comes twice: with relaxed SIMD (the GEMM's fused multiply-add) where the engine validates it
// (Chromium ≥ 114; Node 20 after backend.ts sets V8's flag), else with plain SIMD.
import * as tf from '@tensorflow/tfjs-core';
import { WASM_KERNELS_PLAIN, WASM_KERNELS_PLAIN_RELAXED, WASM_KERNELS_SHARED, WASM_KERNELS_SHARED_RELAXED } from './wasm-kernel-binaries.ts';
import { wasmInternals, type WasmBackendInternals } from './wasm-kernel-internals.ts';

/** The module's exports (pointers are byte offsets into the backend's memory). */
export interface WasmKernelExports {
  attention(q: number, k: number, v: number, mask: number, out: number, scratch: number, seq: number, heads: number, hs: number, scale: number, first: number, last: number): void;
  attention_scratch_floats(seq: number, hs: number): number;
  gather_rows(src: number, idx: number, out: number, n: number, d: number): void;
  attention_packed(q: number, k: number, v: number, starts: number, out: number, scratch: number, maxSeq: number, heads: number, hs: number, scale: number, first: number, last: number): void;
  gelu(x: number, y: number, n: number): void;
  gelu_grad(x: number, dy: number, dx: number, n: number): void;
  gemm_packed_floats(K: number, N: number): number;
  gemm_pack_b(b: number, packed: number, K: number, N: number, bk: number, bn: number): void;
  gemm_packed_a_floats(M: number, K: number): number;
  gemm_pack_a(a: number, packed: number, M: number, K: number, am: number, ak: number): void;
  gemm(a: number, am: number, ak: number, packed: number, c: number, bias: number, M: number, K: number, N: number, row0: number, row1: number, gelu: number): void;
  batch_gemm_scratch_floats(M: number, K: number, N: number, ta: number): number;
  batch_gemm(a: number, b: number, c: number, M: number, K: number, N: number, ta: number, tb: number, scratch: number, first: number, last: number): void;
  embeddings(word: number, pos: number, type: number, ids: number, types: number, out: number, T: number, d: number, row0: number, row1: number): void;
  add_layer_norm(x: number, res: number, gamma: number, beta: number, out: number, d: number, eps: number, row0: number, row1: number): void;
  layer_norm_train(x: number, res: number, gamma: number, beta: number, out: number, xhat: number, rstd: number, d: number, eps: number, row0: number, row1: number): void;
  layer_norm_grad(dy: number, xhat: number, rstd: number, gamma: number, dx: number, partials: number, d: number, block: number, row0: number, row1: number): void;
  layer_norm_grad_reduce(partials: number, blocks: number, d: number, dgamma: number, dbeta: number): void;
  dropout_lanes(x: number, out: number, n: number, states: number, keep: number): void;
  attention_probs(scores: number, mask: number, p: number, T: number, rowsPerBatch: number, scale: number, row0: number, row1: number): void;
  column_sum(x: number, out: number, rows: number, cols: number, c0: number, c1: number): void;
  attention_probs_grad(dy: number, p: number, y: number, ds: number, T: number, keep: number, scale: number, row0: number, row1: number): void;
  adamw(p: number, g: number, m: number, v: number, out: number, n: number, decay: number, b1: number, c1: number, b2: number, c2: number, bc2Sqrt: number, eps: number, stepSize: number): void;
}

/** The emscripten module fields used here (tfjs-backend-wasm 4.22's wasm-out/*.js). */
export interface EmscriptenModule {
  asm?: { memory?: WebAssembly.Memory };
  wasmMemory?: WebAssembly.Memory;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

type Build = 'plain' | 'shared';
/** Per emscripten module: the kernels' exports, or why they could not start there. */
let instances = new WeakMap<object, WasmKernelExports | Error>();
/** Compiled builds, for every module of their kind. */
const compiled = new Map<Build, WebAssembly.Module>();

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const s = atob(base64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

/** The backend module's memory and which build imports it. */
function memoryOf(mod: EmscriptenModule): { memory: WebAssembly.Memory; build: Build } {
  const memory = mod.wasmMemory ?? mod.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory) || typeof mod._malloc !== 'function') throw new Error('no WebAssembly.Memory or _malloc on the tfjs-backend-wasm module (not 4.22?)');
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  return { memory, build: shared ? 'shared' : 'plain' };
}

/** Whether this engine takes relaxed SIMD: it validates the relaxed build's own bytes. */
const relaxedValidates = () => WebAssembly.validate(decode(WASM_KERNELS_PLAIN_RELAXED));

let relaxed: boolean | undefined;
/** Whether the kernels use relaxed SIMD: by default where the engine takes it. */
export function wasmKernelsRelaxed(): boolean {
  relaxed ??= relaxedValidates();
  return relaxed;
}

/**
 * Picks the plain-SIMD build (false) or the relaxed one where it validates (true) for the kernels started
 * after this call: benchmarks and tests measure and check both in one process. Returns what is in use.
 */
export function setWasmKernelsRelaxed(on: boolean): boolean {
  relaxed = on && relaxedValidates();
  compiled.clear();
  instances = new WeakMap();
  return relaxed;
}

const bytesOf = (build: Build) =>
  decode(wasmKernelsRelaxed() ? (build === 'shared' ? WASM_KERNELS_SHARED_RELAXED : WASM_KERNELS_PLAIN_RELAXED) : build === 'shared' ? WASM_KERNELS_SHARED : WASM_KERNELS_PLAIN);

function instantiate(mod: EmscriptenModule): WasmKernelExports | Error {
  let exports = instances.get(mod);
  if (exports) return exports;
  try {
    const { memory, build } = memoryOf(mod);
    let module = compiled.get(build);
    if (!module) compiled.set(build, (module = new WebAssembly.Module(bytesOf(build))));
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as WasmKernelExports;
  } catch (e) {
    // E.g. a browser without wasm SIMD (tfjs then runs its non-SIMD build): the composed ops stay in use.
    exports = new Error(`the compiled wasm kernels did not start (${(e as Error).message})`);
  }
  instances.set(mod, exports);
  return exports;
}

/**
 * For a kernel function: the backend's internals, its emscripten module, the kernels (throws if they did not
 * start), and `at`, a tensor's byte offset on the heap (what the kernels take for it).
 */
export function wasmKernelsOf(backend: unknown): { be: WasmBackendInternals; mod: EmscriptenModule; kernels: WasmKernelExports; at(t: tf.TensorInfo): number } {
  const be = wasmInternals(backend);
  const mod = be.wasm as unknown as EmscriptenModule;
  const kernels = instantiate(mod);
  if (kernels instanceof Error) throw kernels;
  return { be, mod, kernels, at: (t) => be.dataIdMap.get(t.dataId).memoryOffset };
}

/** Runs f with `bytes` of scratch on the backend's heap: malloc'd, and freed after f, also when it throws. */
export function withHeapScratch<T>(mod: EmscriptenModule, bytes: number, f: (ptr: number) => T): T {
  const ptr = mod._malloc(bytes);
  try {
    return f(ptr);
  } finally {
    mod._free(ptr);
  }
}

/** Whether the compiled kernels run on the active wasm backend (compiles them on first call). */
export function wasmKernelsAvailable(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  return !(instantiate(wasmInternals(tf.backend()).wasm as unknown as EmscriptenModule) instanceof Error);
}

/**
 * Compiles and starts the kernels for the active wasm backend ahead of use, asynchronously. Returns the build
 * in use ('plain' or 'shared'), or why they did not start (the models then keep the composed ops).
 */
export async function prepareWasmKernels(): Promise<Build | Error> {
  if (tf.getBackend() !== 'wasm') return new Error(`the compiled wasm kernels: the active backend is ${tf.getBackend()}, not wasm`);
  const mod = wasmInternals(tf.backend()).wasm as unknown as EmscriptenModule;
  try {
    const { build } = memoryOf(mod);
    if (!compiled.has(build)) {
      compiled.set(build, await WebAssembly.compile(bytesOf(build)));
      instances.delete(mod); // a synchronous compile that failed earlier may succeed now
    }
  } catch {
    // instantiate() records why
  }
  const exports = instantiate(mod);
  return exports instanceof Error ? exports : memoryOf(mod).build;
}

/**
 * For helper threads (wasm-helper-threads.ts): the active wasm backend's shared memory, the kernels' module compiled for
 * it, and its malloc; undefined where tfjs-wasm runs a plain memory or the kernels did not start.
 */
export function sharedWasmKernels(): { memory: WebAssembly.Memory; module: WebAssembly.Module; malloc(bytes: number): number } | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const mod = wasmInternals(tf.backend()).wasm as unknown as EmscriptenModule;
  if (instantiate(mod) instanceof Error) return undefined;
  const { memory, build } = memoryOf(mod);
  const module = compiled.get(build);
  if (build !== 'shared' || !module) return undefined;
  return { memory, module, malloc: (bytes) => mod._malloc(bytes) };
}
