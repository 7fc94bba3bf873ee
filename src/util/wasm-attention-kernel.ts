// Scaled dot-product attention as ONE compiled wasm SIMD call per layer for tfjs-backend-wasm (kernel
// WASM_FUSED_ATTENTION, inference only: no gradient, no dropout). Composed from tfjs ops, attention is 4 head
// transposes, 2 batched products (2·B·heads small XNNPACK calls, each waking the thread pool), scale, mask
// add and softmax. Here src/util/wasm-attention-kernel.c (embedded, base64, in wasm-attention-binaries.ts)
// reads Q, K, V straight from the linear layers' (B·T, d) outputs on the wasm heap and writes (B·T, d)
// heads side by side. Same contract as webgpuFusedAttention (webgpu-attention-kernel.ts).
// The kernel is a second wasm module instantiated against the backend's own memory: plain for tfjs's
// single-threaded builds (Module.asm.memory), shared for its threaded SIMD build (Module.wasmMemory). It
// holds no views of that memory (only byte offsets), so memory growth needs nothing here. Its scratch
// comes from the backend's _malloc and goes back with _free. It compiles on first use, synchronously;
// prepareWasmFusedAttention() compiles it ahead, asynchronously, for a browser's main thread (where
// browsers have limited synchronous compiles to small modules).
import * as tf from '@tensorflow/tfjs-core';
import { ATTENTION_WASM_PLAIN, ATTENTION_WASM_SHARED } from './wasm-attention-binaries.ts';
import { wasmInternals } from './wasm-kernel-internals.ts';

export const WASM_FUSED_ATTENTION = 'ExpandrWasmFusedAttention';

interface AttentionExports {
  attention(q: number, k: number, v: number, mask: number, out: number, scratch: number, seq: number, heads: number, hs: number, scale: number, first: number, last: number): void;
  attention_scratch_floats(seq: number, hs: number): number;
}

/** The emscripten module fields used here (tfjs-backend-wasm 4.22's wasm-out/*.js). */
interface EmscriptenModule {
  asm?: { memory?: WebAssembly.Memory };
  wasmMemory?: WebAssembly.Memory;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

type Build = 'plain' | 'shared';
/** Per emscripten module: the kernel's exports, or why it could not start there. */
const instances = new WeakMap<object, AttentionExports | Error>();
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

const bytesOf = (build: Build) => decode(build === 'shared' ? ATTENTION_WASM_SHARED : ATTENTION_WASM_PLAIN);

function instantiate(mod: EmscriptenModule): AttentionExports | Error {
  let exports = instances.get(mod);
  if (exports) return exports;
  try {
    const { memory, build } = memoryOf(mod);
    let module = compiled.get(build);
    if (!module) compiled.set(build, (module = new WebAssembly.Module(bytesOf(build))));
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as AttentionExports;
  } catch (e) {
    // E.g. a browser without wasm SIMD (tfjs then runs its non-SIMD build): the composed ops stay in use.
    exports = new Error(`${WASM_FUSED_ATTENTION}: the compiled kernel did not start (${(e as Error).message})`);
  }
  instances.set(mod, exports);
  return exports;
}

/** Whether the compiled attention kernel runs on the active wasm backend (compiles it on first call). */
export function wasmFusedAttentionAvailable(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  return !(instantiate(wasmInternals(tf.backend()).wasm as unknown as EmscriptenModule) instanceof Error);
}

/**
 * Compiles and starts the kernel for the active wasm backend ahead of use, asynchronously. Returns the build
 * in use ('plain' or 'shared'), or why it did not start (forward() then keeps the composed ops).
 */
export async function prepareWasmFusedAttention(): Promise<Build | Error> {
  if (tf.getBackend() !== 'wasm') return new Error(`${WASM_FUSED_ATTENTION}: the active backend is ${tf.getBackend()}, not wasm`);
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

function fusedAttentionKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const { q, k, v, mask } = inputs as Record<'q' | 'k' | 'v' | 'mask', tf.TensorInfo>;
  const { heads, scale } = attrs as { heads: number; scale: number };
  const [batch, seq] = mask.shape;
  const [rows, d] = q.shape;
  const hs = d / heads;
  const same = (t: tf.TensorInfo) => t.shape.length === 2 && t.shape[0] === rows && t.shape[1] === d && t.dtype === 'float32';
  if (!same(q) || !same(k) || !same(v) || mask.shape.length !== 2 || mask.dtype !== 'float32' || rows !== batch * seq || !Number.isInteger(hs) || hs % 4 !== 0) {
    throw new Error(`${WASM_FUSED_ATTENTION}: expects float32 q, k, v (B·T, d) with d/heads a multiple of 4 and mask (B, T); got q [${q.shape}], k [${k.shape}], v [${v.shape}], mask [${mask.shape}], heads ${heads}`);
  }
  const be = wasmInternals(backend);
  const mod = be.wasm as unknown as EmscriptenModule;
  const kernel = instantiate(mod);
  if (kernel instanceof Error) throw kernel;
  const out = be.makeOutput([rows, d], 'float32');
  const at = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId).memoryOffset;
  const scratch = mod._malloc(4 * kernel.attention_scratch_floats(seq, hs));
  try {
    kernel.attention(at(q), at(k), at(v), at(mask), at(out), scratch, seq, heads, hs, scale, 0, batch * heads);
  } finally {
    mod._free(scratch);
  }
  return out;
}

let registered = false;

/** Registers WASM_FUSED_ATTENTION for the wasm backend (idempotent). */
export function registerWasmFusedAttention(): void {
  if (registered || tf.getKernel(WASM_FUSED_ATTENTION, 'wasm')) return;
  tf.registerKernel({ kernelName: WASM_FUSED_ATTENTION, backendName: 'wasm', kernelFunc: fusedAttentionKernel as unknown as tf.KernelFunc });
  registered = true;
}

/**
 * softmax(q·kᵀ·scale + mask)·v per head, heads side by side: q, k, v (B·T, d) as the linear layers give
 * them, maskAdd (B, T) additive (0 or a large negative). → (B·T, d). Wasm only, no gradient; d/heads a
 * multiple of 4. wasmKernelSwitches.fusedAttention decides whether BertModel uses it.
 */
export function wasmFusedAttention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, maskAdd: tf.Tensor2D, heads: number, scale: number): tf.Tensor2D {
  registerWasmFusedAttention();
  return tf.engine().runKernel(WASM_FUSED_ATTENTION, { q, k, v, mask: maskAdd } as unknown as tf.NamedTensorMap, { heads, scale } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}
