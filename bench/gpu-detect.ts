// Which WebGPU adapter bench/gpu.bench.ts measures on, in Node (Dawn, in a child process: the Vulkan
// environment must be set before Dawn starts) and in Chromium (the page's navigator.gpu), plus what
// nvidia-smi says where it exists. SwiftShader (or another software adapter) means there is no GPU:
// the report then labels every figure as not absolute.
import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '..');
/** A child's adapter request should answer in seconds; Dawn on a broken driver can hang instead. */
const ADAPTER_TIMEOUT_MS = 120_000;

export interface AdapterFacts {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** GPUAdapterInfo.isFallbackAdapter (or GPUAdapter's, in older implementations). */
  fallback: boolean;
  shaderF16: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export type AdapterReport = { ok: true; facts: AdapterFacts } | { ok: false; why: string };

/** Software rasterisers that implement WebGPU on the CPU. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software/i;

export function isSoftware(f: AdapterFacts): boolean {
  return f.fallback || SOFTWARE.test(`${f.vendor} ${f.architecture} ${f.device} ${f.description}`);
}

export function describeAdapter(r: AdapterReport): string {
  if (!r.ok) return `none (${r.why})`;
  const f = r.facts;
  const names = [f.vendor, f.architecture, f.device, f.description].filter(Boolean).join(' / ') || '(no adapter info)';
  return `${names}; shader-f16 ${f.shaderF16 ? 'yes' : 'no'}; maxBufferSize ${(f.maxBufferSize / 2 ** 30).toFixed(2)} GiB${isSoftware(f) ? '; SOFTWARE (no GPU)' : ''}`;
}

/** The adapter Dawn (npm `webgpu`) gets in a fresh Node process with this process's environment. */
export function nodeAdapter(): AdapterReport {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/gpu-adapter-node.ts')], { cwd: ROOT, env: process.env, encoding: 'utf8', timeout: ADAPTER_TIMEOUT_MS });
  const line = (r.stdout ?? '').trim().split('\n').at(-1) ?? '';
  if (r.status === 0 && line.startsWith('{')) return JSON.parse(line) as AdapterReport;
  return { ok: false, why: `bench/gpu-adapter-node.ts ${r.error ? r.error.message : `exited ${r.status}`}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
}

/** The adapter this Chromium page gets (high-performance preference, as tfjs-webgpu asks). */
export async function chromiumAdapter(page: Page): Promise<AdapterReport> {
  return page.evaluate(async (): Promise<AdapterReport> => {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) return { ok: false, why: 'navigator.gpu is missing (WebGPU not enabled in this Chromium)' };
    const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!a) return { ok: false, why: 'requestAdapter() returned null' };
    const info = a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    return {
      ok: true,
      facts: {
        vendor: info.vendor,
        architecture: info.architecture,
        device: info.device,
        description: info.description,
        fallback: !!(info.isFallbackAdapter ?? (a as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter),
        shaderF16: a.features.has('shader-f16'),
        maxBufferSize: a.limits.maxBufferSize,
        maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize,
      },
    };
  });
}

/** nvidia-smi's name, driver and memory of each GPU, or null where there is no nvidia-smi. */
export function nvidiaSmi(): string | null {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8', timeout: 30_000 }).trim();
  } catch {
    return null;
  }
}

/** `chromium --version` (the browser the harness launches), or null. */
export function chromiumVersion(path: string): string | null {
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
