// What this browser offers for the heavy parts: the WebGPU adapter (info, the limits that bound model
// size, shader-f16), storage (usage, quota, persistence), each with guidance when something is missing.
// Import and BM25 need neither. Browser-only (navigator.gpu, navigator.storage).

/** The adapter limits that decide which models fit (a weight matrix or KV cache is one buffer). */
export const KEY_LIMITS = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup'] as const;
/** WebLLM's q4f16 models need shader-f16; tfjs runs in f32 without it. */
export const KEY_FEATURES = ['shader-f16', 'timestamp-query', 'subgroups'] as const;
/** Below this binding size a 0.5B model's embedding matrix (151936 × 896 × 4 B ≈ 545 MB) does not fit. */
export const LARGE_MODEL_BINDING = 545 * 2 ** 20;
/** Less free quota than this cannot hold a dataset plus two small models and their checkpoints. */
export const MIN_FREE_STORAGE = 2 * 2 ** 30;

export interface Capabilities {
  webgpu: 'available' | 'missing' | 'no-adapter';
  adapterInfo?: string;
  adapter?: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    limits: Record<string, number>;
    features: string[];
    /** SwiftShader and other software adapters: correct but ~1 GFLOP/s. */
    fallback: boolean;
  };
  storage?: { usage: number; quota: number; persisted: boolean };
}

export interface Guidance {
  level: 'ok' | 'warn' | 'error';
  text: string;
}

interface GpuAdapterLike {
  info?: Record<string, string | boolean | undefined>;
  limits?: Record<string, number>;
  features?: Iterable<string>;
  isFallbackAdapter?: boolean;
}

export async function detectCapabilities(): Promise<Capabilities> {
  const caps: Capabilities = { webgpu: 'missing' };
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(options?: unknown): Promise<unknown> } }).gpu;
  if (gpu) {
    try {
      const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) as GpuAdapterLike | null;
      caps.webgpu = adapter ? 'available' : 'no-adapter';
      if (adapter) caps.adapter = describeAdapter(adapter);
      if (caps.adapter) caps.adapterInfo = [caps.adapter.vendor, caps.adapter.architecture].filter(Boolean).join(' ') || caps.adapter.description;
    } catch {
      caps.webgpu = 'no-adapter';
    }
  }
  const storage = await storageNow();
  if (storage) caps.storage = storage;
  return caps;
}

/** This site's storage now (usage changes with every import, encoding and kept model); undefined where unknown. */
export async function storageNow(): Promise<Capabilities['storage']> {
  if (!navigator.storage?.estimate) return undefined;
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  const persisted = (await navigator.storage.persisted?.()) ?? false;
  return { usage, quota, persisted };
}

function describeAdapter(a: GpuAdapterLike): NonNullable<Capabilities['adapter']> {
  const info = a.info ?? {};
  const limits: Record<string, number> = {};
  // GPUSupportedLimits has its values on the prototype (getters): read them by name, not Object.keys.
  const names = new Set<string>(KEY_LIMITS);
  for (const k in a.limits ?? {}) names.add(k);
  for (const k of names) {
    const v = (a.limits as Record<string, unknown> | undefined)?.[k];
    if (typeof v === 'number') limits[k] = v;
  }
  const s = (k: string) => (typeof info[k] === 'string' ? (info[k] as string) : '');
  const description = s('description');
  const fallback = !!a.isFallbackAdapter || !!info.isFallbackAdapter || /swiftshader/i.test(`${s('vendor')} ${s('architecture')} ${description}`);
  return { vendor: s('vendor'), architecture: s('architecture'), device: s('device'), description, limits, features: [...(a.features ?? [])].sort(), fallback };
}

/** Asks the browser to keep this site's storage (models, checkpoints) under storage pressure. */
export async function requestPersistence(): Promise<boolean> {
  return (await navigator.storage?.persist?.()) ?? false;
}

/** What to tell the user about these capabilities, most serious first. Pure: unit-testable. */
export function guidance(capabilities: Capabilities): Guidance[] {
  const out: Guidance[] = [];
  if (capabilities.webgpu === 'missing') out.push({ level: 'error', text: 'WebGPU is not available in this browser: use Chrome 113+ or enable chrome://flags/#enable-unsafe-webgpu. Encoding and training fall back to WebAssembly on the CPU (slow); WebLLM needs WebGPU.' });
  if (capabilities.webgpu === 'no-adapter') out.push({ level: 'error', text: 'WebGPU is present but no GPU adapter was granted: check that hardware acceleration is on in the browser settings (chrome://settings/system) and that the GPU is not blocklisted (chrome://gpu).' });
  const a = capabilities.adapter;
  if (a?.fallback) out.push({ level: 'warn', text: 'The adapter is a software renderer (SwiftShader): everything runs, but only tiny models are practical. Use a machine with a GPU for real runs.' });
  if (a && !a.features.includes('shader-f16')) out.push({ level: 'warn', text: 'No shader-f16: WebLLM\'s q4f16 models cannot run here; the tfjs decoder (f32) still works.' });
  const bind = a?.limits.maxStorageBufferBindingSize;
  if (bind !== undefined && bind < LARGE_MODEL_BINDING) out.push({ level: 'warn', text: `maxStorageBufferBindingSize is ${(bind / 2 ** 20).toFixed(0)} MB: models with a large embedding matrix (Qwen2.5-0.5B needs ~545 MB in f32) will not fit one buffer; use a smaller model or WebLLM's quantised presets.` });
  const st = capabilities.storage;
  if (st) {
    if (st.quota - st.usage < MIN_FREE_STORAGE) out.push({ level: 'warn', text: 'Less than 2 GB of storage is free for this site: free disk space or remove stored datasets and models.' });
    if (!st.persisted) out.push({ level: 'warn', text: 'Storage is not persistent: the browser may evict stored models and checkpoints under pressure. Press "Keep storage" (Chrome grants it to bookmarked or installed sites).' });
  }
  if (out.length === 0) out.push({ level: 'ok', text: 'This browser has everything the app needs.' });
  return out;
}
