// Test-only page (tests/browser/bert-webgpu.test.ts): tfjs on Chromium's WebGPU runs the PyTorch-fixture
// checks on model files handed over by the test. Exposes window.bertCheck(files, fixture).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { runBertCheck, type BertCheckResult } from '../../reference/helpers/bert-check.ts';
import type { TorchFixture } from '../../reference/helpers/bert-fixture-data.ts';

declare global {
  interface Window {
    bertCheck(filesB64: Record<string, string>, fixture: TorchFixture): Promise<BertCheckResult | { skip: string }>;
  }
}

const status = document.getElementById('status')!;

window.bertCheck = async (filesB64, fixture) => {
  if (!('gpu' in navigator)) return { skip: 'navigator.gpu is missing: WebGPU is not enabled in this Chromium' };
  const adapter = await (navigator as Navigator & { gpu: GPU }).gpu.requestAdapter();
  if (!adapter) return { skip: 'navigator.gpu.requestAdapter() returned null (no WebGPU adapter, not even SwiftShader)' };
  if (!(await tf.setBackend('webgpu'))) return { skip: 'tfjs could not initialise its webgpu backend' };
  tf.env().set('WEBGPU_CPU_FORWARD', false); // run every op on the GPU, small ones included
  const files = new Map(Object.entries(filesB64).map(([name, b64]) => [name, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]));
  status.textContent = 'running';
  const result = await runBertCheck(files, fixture);
  status.textContent = 'done';
  return result;
};
status.textContent = 'ready';
