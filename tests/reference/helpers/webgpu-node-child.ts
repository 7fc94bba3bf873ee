// Child process of bert-webgpu-node.test.ts: tfjs on WebGPU in Node through Dawn (npm `webgpu`) on
// SwiftShader. Runs the PyTorch-fixture checks and prints one JSON line: {result} or {skip: reason}.
// A separate process because Dawn dlopen()s libvulkan.so.1, which Debian's chromium ships in
// /usr/lib/chromium (not on the loader path): LD_LIBRARY_PATH must be set before the process starts.
import * as tf from '@tensorflow/tfjs-core';
import { create, globals } from 'webgpu';
import { readModelDir } from '../../../src/encoder/node-files.ts';
import { runBertCheck } from './bert-check.ts';
import { TINY_BERT_DIR, loadTorchFixture } from './bert-fixture.ts';

const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
const adapter = await navigator.gpu.requestAdapter();
if (!adapter) {
  print({ skip: `Dawn found no WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}, LD_LIBRARY_PATH=${process.env.LD_LIBRARY_PATH})` });
  process.exit(0);
}
// The backend registers itself only if navigator.gpu exists when its module is evaluated: import it now.
await import('@tensorflow/tfjs-backend-webgpu');
if (!(await tf.setBackend('webgpu'))) {
  print({ skip: 'tfjs could not initialise its webgpu backend on the Dawn adapter' });
  process.exit(0);
}
// Small tensors would otherwise run on the CPU (WEBGPU_CPU_FORWARD): test the GPU kernels for every op.
tf.env().set('WEBGPU_CPU_FORWARD', false);
const result = await runBertCheck(await readModelDir(TINY_BERT_DIR), loadTorchFixture());
print({ adapter: adapter.info?.description ?? 'unknown', result });
process.exit(0); // Dawn keeps the event loop alive otherwise
