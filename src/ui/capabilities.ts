// What this browser offers for the heavy parts (WebGPU, storage). Import and BM25 need neither.
export interface Capabilities {
  webgpu: 'available' | 'missing' | 'no-adapter';
  adapterInfo?: string;
  storage?: { usage: number; quota: number; persisted: boolean };
}

export async function detectCapabilities(): Promise<Capabilities> {
  const caps: Capabilities = { webgpu: 'missing' };
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu) {
    try {
      const adapter = (await gpu.requestAdapter()) as { info?: { vendor?: string; architecture?: string } } | null;
      caps.webgpu = adapter ? 'available' : 'no-adapter';
      if (adapter?.info) caps.adapterInfo = [adapter.info.vendor, adapter.info.architecture].filter(Boolean).join(' ');
    } catch {
      caps.webgpu = 'no-adapter';
    }
  }
  if (navigator.storage?.estimate) {
    const { usage = 0, quota = 0 } = await navigator.storage.estimate();
    const persisted = (await navigator.storage.persisted?.()) ?? false;
    caps.storage = { usage, quota, persisted };
  }
  return caps;
}
