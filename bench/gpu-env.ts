// Where WebGPU comes from for bench/gpu.bench.ts: the Vulkan driver (ICD) Dawn and Chromium load, the
// library path Dawn needs for libvulkan, and the Chromium flags that turn on WebGPU over Vulkan.
// Set in this process's environment before any child or browser starts, so that every run inherits the
// same driver (encoder.bench.ts and decoder.bench.ts keep a VK_ICD_FILENAMES that is already set).
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SWIFTSHADER_ICD } from '../src/cli/backend.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** Debian chromium ships libvulkan.so.1 here, outside the loader path; Dawn dlopen()s it. */
const CHROMIUM_LIB = '/usr/lib/chromium';
/** Where Vulkan loaders look for ICD manifests; the last is where NVIDIA's container runtime mounts its driver. */
export const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'];
/** Software drivers: figures on them describe the CPU, not a GPU. */
const SOFTWARE_ICD = /swiftshader|lvp_icd|llvmpipe/i;

/**
 * Chromium flags for WebGPU on a real GPU in headless Linux: Vulkan for Dawn, ANGLE on Vulkan, and no GPU
 * block-list (headless servers are often on it). The harness adds --enable-unsafe-webgpu and
 * --enable-unsafe-swiftshader itself; Chromium still prefers a hardware adapter when one is there.
 */
export const GPU_CHROMIUM_FLAGS = ['--enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan', '--use-angle=vulkan', '--use-vulkan=native', '--ignore-gpu-blocklist', '--disable-vulkan-surface', '--enable-gpu'];

export interface VulkanChoice {
  /** VK_ICD_FILENAMES as set ('' = left to the loader's search). */
  icd: string;
  /** 'given' (flag or environment), 'found' (hardware ICDs in ICD_DIRS), 'swiftshader' (none found). */
  how: 'given' | 'found' | 'swiftshader';
}

/** Hardware ICD manifests in the loader's directories (software ones left out). */
export function hardwareIcds(dirs: string[] = ICD_DIRS): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.json') && !SOFTWARE_ICD.test(f)) out.push(join(dir, f));
  }
  return out;
}

/**
 * Picks the Vulkan driver: `--vulkan-icd PATH` or VK_ICD_FILENAMES when given, else every hardware ICD
 * found, else SwiftShader. 'swiftshader' forces SwiftShader.
 */
export function chooseVulkan(flag: string, env: NodeJS.ProcessEnv = process.env): VulkanChoice {
  if (flag === 'swiftshader') return { icd: SWIFTSHADER_ICD, how: 'swiftshader' };
  if (flag && flag !== 'auto') return { icd: flag, how: 'given' };
  if (env.VK_ICD_FILENAMES) return { icd: env.VK_ICD_FILENAMES, how: 'given' };
  const found = hardwareIcds();
  return found.length ? { icd: found.join(':'), how: 'found' } : { icd: SWIFTSHADER_ICD, how: 'swiftshader' };
}

/** Sets this process's environment for Dawn and Chromium (children inherit it). */
export function applyVulkan(choice: VulkanChoice, env: NodeJS.ProcessEnv = process.env): void {
  for (const path of choice.icd.split(':')) {
    if (!existsSync(path)) throw new Error(`bench/gpu-env.ts: the Vulkan ICD ${path} does not exist: pass --vulkan-icd with a manifest from ${ICD_DIRS.join(', ')}, or 'swiftshader'`);
  }
  env.VK_ICD_FILENAMES = choice.icd;
  if (!env.XDG_RUNTIME_DIR) {
    const dir = join(ROOT, '.cache/xdg-runtime');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    env.XDG_RUNTIME_DIR = dir;
  }
  // The system's libvulkan first where there is one; Debian chromium's copy otherwise.
  if (existsSync(CHROMIUM_LIB) && !(env.LD_LIBRARY_PATH ?? '').split(':').includes(CHROMIUM_LIB)) {
    env.LD_LIBRARY_PATH = [env.LD_LIBRARY_PATH, CHROMIUM_LIB].filter(Boolean).join(':');
  }
}
