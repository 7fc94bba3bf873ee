// Custom tfjs kernels register themselves on first use; tfjs warns and overwrites on a second registration
// (another bundle copy, a hot reload), so each registration first asks the registry.
import * as tf from '@tensorflow/tfjs-core';

type KernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }) => tf.TensorInfo | tf.TensorInfo[];

/** Registers kernelFunc as kernelName on backendName unless one is registered; true when it registered now. */
export function registerKernelOnce(kernelName: string, backendName: string, kernelFunc: KernelFunc): boolean {
  if (tf.getKernel(kernelName, backendName)) return false;
  tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  return true;
}
