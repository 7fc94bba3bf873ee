import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { it } from 'vitest';
async function run(f: () => tf.Tensor) { const out: Record<string, Float32Array> = {}; for (const b of ['cpu','wasm']) { await tf.setBackend(b); const t = f(); out[b] = (await t.data()) as Float32Array; } let m=0; for (let i=0;i<out.cpu.length;i++) m=Math.max(m,Math.abs(out.cpu[i]-out.wasm[i])); return m; }
it('probe', async () => {
  const x = () => tf.tensor(Array.from({length: 6*8}, (_, i) => Math.sin(i)), [6, 8]);
  const W = () => tf.tensor(Array.from({length: 5*8}, (_, i) => Math.cos(i)), [5, 8]);
  const b = () => tf.tensor(Array.from({length: 5}, (_, i) => i), [5]);
  console.log('fused transposeB bias', await run(() => tf.fused.matMul({a: x(), b: W(), transposeB: true, bias: b()})));
  const Wt = () => tf.transpose(W());
  console.log('fused noTrans bias', await run(() => tf.fused.matMul({a: x(), b: Wt(), bias: b()})));
  for (const be of ['cpu','wasm']) { await tf.setBackend(be); console.log(be, Array.from(await tf.fused.matMul({a: x(), b: W(), transposeB: true, bias: b()}).data()).slice(0,5), Array.from(await tf.add(tf.matMul(x(), W(), false, true), b()).data()).slice(0,5)); }
});
