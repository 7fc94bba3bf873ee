// tfjs backend selection for the runner (Node): `--backend cpu|wasm|webgpu`, wasm by default.
// webgpu in Node goes through the npm `webgpu` package (Dawn) on SwiftShader's Vulkan ICD here
// (DESIGN.md §3): VK_ICD_FILENAMES and XDG_RUNTIME_DIR must be set before Dawn starts.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { join } from 'node:path';
import { ExpandrError, UsageError } from '../errors.ts';
import { installLeanGradients } from '../util/lean-gradients.ts';
import { shareWasmIdentity } from '../util/wasm-identity.ts';

export const BACKENDS = ['cpu', 'wasm', 'webgpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export const DEFAULT_BACKEND: BackendName = 'wasm';
/** Debian chromium's SwiftShader Vulkan driver: the GPU-less machines' WebGPU. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export const BACKEND_HELP = `  --backend NAME       tfjs backend: wasm (default), cpu (slow, for tiny models) or webgpu (Dawn via npm webgpu)
                       (wasm uses one XNNPACK thread per core; EXPANDR_WASM_THREADS=N sets another count)`;

/**
 * XNNPACK threads of the wasm backend: EXPANDR_WASM_THREADS, else one per core. Measured on idle cores
 * (bench/RESULTS-minilm.md, 2026-12-04): all-MiniLM-L6-v2 encodes 6.24 docs/s with 2 threads against
 * 3.85 with 1 on the 2-core machine; the products are split by output tile, so the numbers do not change.
 */
export function wasmThreads(env: Record<string, string | undefined> = process.env): number {
  const v = env.EXPANDR_WASM_THREADS;
  if (v === undefined || v === '') return Math.max(1, availableParallelism());
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`EXPANDR_WASM_THREADS must be a whole number from 1 to 64, got "${v}".`);
  return n;
}

export function parseBackend(name: string | undefined): BackendName {
  const b = name ?? DEFAULT_BACKEND;
  if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, got "${b}".`);
  return b as BackendName;
}

/** Installs WebGPU into this Node process (idempotent). */
async function installNodeWebGpu(): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return;
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `expandr-xdg-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  const { create, globals } = (await import('webgpu')) as { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
  Object.assign(globalThis, globals);
  // Node ≥ 21 defines navigator as a getter: redefine rather than assign.
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: create([]) }, configurable: true, writable: true });
}

/** (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd) */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

/**
 * Relaxed SIMD (the compiled GEMM's fused multiply-add, src/util/wasm-kernel-module.ts) is on by default in
 * Chromium since 114 but behind a flag in Node 20's V8 (11.3); set it before any kernel compiles.
 */
export function enableRelaxedSimd(): boolean {
  if (!WebAssembly.validate(RELAXED_SIMD_PROBE)) setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(RELAXED_SIMD_PROBE);
}

/** Makes `name` the active tfjs backend; throws with the fix when it cannot start. Returns the name. */
export async function useBackend(name: BackendName): Promise<BackendName> {
  installLeanGradients();
  if (tf.getBackend() === name) return name;
  try {
    if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
    else if (name === 'wasm') {
      enableRelaxedSimd();
      await import('@tensorflow/tfjs-backend-wasm');
      shareWasmIdentity();
      // Not tf.findBackend: it would start the backend with tfjs' own choice (one thread in Node).
      if (!('wasm' in (tf.engine() as unknown as { registry: Record<string, unknown> }).registry)) {
        const { startWasmWithThreads } = await import('../encoder/wasm-threads.ts');
        const threads = await startWasmWithThreads(wasmThreads());
        // The compiled kernels' work over as many threads as XNNPACK's pool has (src/util/wasm-helper-threads.ts).
        if (threads > 1) await (await import('./wasm-helper-threads-node.ts')).startKernelHelpers(threads - 1);
      }
    }
    else {
      await installNodeWebGpu();
      await import('@tensorflow/tfjs-backend-webgpu');
    }
  } catch (e) {
    throw new ExpandrError(`The ${name} backend could not be loaded (${(e as Error).message}). Run \`npm install\`, or pick another --backend.`);
  }
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new ExpandrError(`The ${name} backend failed to start (${(e as Error).message}).${name === 'webgpu' ? ` WebGPU in Node needs a Vulkan driver (here: ${SWIFTSHADER_ICD} from Debian chromium).` : ''} Try --backend wasm.`);
  }
  if (!ok || tf.getBackend() !== name) {
    throw new ExpandrError(`The ${name} backend did not start.${name === 'webgpu' ? ' No WebGPU adapter was found (Dawn + a Vulkan driver are needed).' : ''} Try --backend wasm.`);
  }
  return name;
}
