// Whether a gradient tape is recording. Kernels without a gradient of their own (the fused inference
// kernels) may run only outside one. tfjs has no public query: engine.state.gradientDepth is its counter.
import * as tf from '@tensorflow/tfjs-core';

export function recordingGradients(): boolean {
  return (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state?.gradientDepth !== 0;
}
