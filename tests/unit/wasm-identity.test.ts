// The wasm Identity kernel shares its input's buffer (src/util/wasm-identity.ts): clones cost no heap,
// disposing one holder keeps the data for the other, and gradients are unchanged.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { shareWasmIdentity } from '../../src/util/wasm-identity.ts';

describe('wasm Identity shares buffers', () => {
  beforeAll(async () => {
    shareWasmIdentity();
    await tf.setBackend('wasm');
    await tf.ready();
  });

  it('a clone shares the buffer and survives disposing the original', () => {
    const x = tf.randomNormal([512, 512], 0, 1, 'float32', 7);
    const backend = tf.backend() as unknown as { refCount(d: tf.DataId): number };
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId); // no second buffer in the wasm heap
    expect(backend.refCount(x.dataId)).toBe(2);
    const expected = x.dataSync().slice();
    x.dispose();
    expect(backend.refCount(y.dataId)).toBe(1);
    expect(Array.from(y.dataSync())).toEqual(Array.from(expected));
    y.dispose();
    expect(backend.refCount(y.dataId)).toBe(0);
  });

  it('gradients through saved tensors equal the cpu backend', async () => {
    const a = [1, 2, 3, 4, 5, 6];
    const w = [0.5, -1, 2, 0.25, 3, -0.75];
    const grads = () => {
      const x = tf.tensor2d(a, [2, 3]);
      const W = tf.tensor2d(w, [3, 2]);
      const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(tf.matMul(xx as tf.Tensor2D, ww as tf.Tensor2D))))([x, W]);
      const out = g.map((t) => Array.from(t.dataSync()));
      tf.dispose([x, W, ...g]);
      return out;
    };
    const onWasm = grads();
    const leaked = tf.memory().numTensors;
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    const onCpu = grads();
    await tf.setBackend('wasm');
    expect(onWasm).toEqual(onCpu);
    expect(tf.memory().numTensors).toBe(leaked);
  });
});
