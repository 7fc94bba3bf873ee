// tfjs-backend-wasm's Identity kernel mallocs and copies; tfjs calls it (engine.clone) for every tensor an op
// saves for its gradient, so under a gradient tape each frozen weight a product touches is duplicated in the
// 4 GiB wasm heap (Qwen2.5-0.5B DPO: ~2.5 GB of copies, the step aborts; BERT-base training: ~440 MB per
// step; bench/RESULTS-decoder.md). The cpu and webgpu backends implement Identity by sharing the buffer
// (incRef); BackendWasm refcounts its data the same way and no wasm kernel writes into its inputs, so the
// same sharing is safe there. Call after '@tensorflow/tfjs-backend-wasm' has been imported (its kernels
// register on import); idempotent.
import * as tf from '@tensorflow/tfjs-core';

let installed = false;

export function shareWasmIdentity(): void {
  if (installed || !tf.getKernel('Identity', 'wasm')) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as unknown as { incRef(d: tf.DataId): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  installed = true;
}
