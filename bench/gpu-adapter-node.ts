// Child process of bench/gpu-detect.ts: asks Dawn (npm `webgpu`) for a high-performance adapter and
// prints one JSON line, an AdapterReport. Its own process because Dawn reads the Vulkan environment
// (VK_ICD_FILENAMES, LD_LIBRARY_PATH) when it starts.
import type { AdapterFacts, AdapterReport } from './gpu-detect.ts';

let report: AdapterReport;
try {
  const { create } = (await import('webgpu')) as { create: (flags: string[]) => GPU };
  const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
  if (!a) report = { ok: false, why: 'Dawn: requestAdapter() returned null (no Vulkan driver answered)' };
  else {
    const info = a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    const facts: AdapterFacts = {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      fallback: !!info.isFallbackAdapter,
      shaderF16: a.features.has('shader-f16'),
      maxBufferSize: a.limits.maxBufferSize,
      maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize,
    };
    report = { ok: true, facts };
  }
} catch (e) {
  report = { ok: false, why: `Dawn failed: ${(e as Error).message.split('\n')[0]}` };
}
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0); // Dawn keeps the event loop alive otherwise
