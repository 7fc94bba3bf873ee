// Benchmark: BERT's training residual + LayerNorm, forward + backward under a gradient tape (gradients w.r.t. x,
// residual, γ, β), on tfjs-wasm in Node, two ways interleaved in one process on the same input: the tfjs ops
// BertModel composes without the kernels (wasmKernelSwitches.layerNormTrain off: add, mean, sub, square,
// mean, add, rsqrt, mul, mul, add and their autograd) and the compiled forward + backward
// (src/util/wasm-layer-norm-grad-kernel.ts). Default shape: one MiniLM LayerNorm of a GradCache chunk (8 × 256 rows, 384).
//   npx tsx bench/wasm-layer-norm.bench.ts [--rounds 9] [--rows 2048] [--cols 384] [--threads 2]
// Prints measured figures and the load average; not a pass/fail test.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';
import { startWasmWithThreads } from '../src/encoder/wasm-threads.ts';

registerTfjsResolveHook();
await import('@tensorflow/tfjs-core/dist/register_all_gradients');
const { wasmAddLayerNormTrain } = await import('../src/util/wasm-layer-norm-grad-kernel.ts');
const { startKernelHelpers } = await import('../src/cli/wasm-helper-threads-node.ts');
const { prepareWasmKernels } = await import('../src/util/wasm-kernel-module.ts');

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '9' }, rows: { type: 'string', default: '2048' }, cols: { type: 'string', default: '384' }, threads: { type: 'string', default: '2' } } });
const [rows, d, rounds, threads] = [Number(values.rows), Number(values.cols), Number(values.rounds), Number(values.threads)];
const EPS = 1e-12;
const got = await startWasmWithThreads(threads);
await prepareWasmKernels();
const helpers = got > 1 ? await startKernelHelpers(got - 1) : 0;
const x = tf.randomNormal([rows, d], 0, 2, 'float32', 1) as tf.Tensor2D;
const res = tf.randomNormal([rows, d], 0, 1, 'float32', 2) as tf.Tensor2D;
const gamma = tf.randomNormal([d], 1, 0.2, 'float32', 3) as tf.Tensor1D;
const beta = tf.randomNormal([d], 0, 0.1, 'float32', 4) as tf.Tensor1D;
const dy = tf.randomNormal([rows, d], 0, 1, 'float32', 5) as tf.Tensor2D;

/** As BertModel.addLayerNorm / layerNorm without the kernels. */
function composed(xi: tf.Tensor2D, ri: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor2D {
  const y = tf.add(xi, ri);
  const centred = tf.sub(y, tf.mean(y, -1, true));
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), EPS))), g), b);
}
const ways = { composed, compiled: (xi: tf.Tensor2D, ri: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D) => wasmAddLayerNormTrain(xi, ri, g, b, EPS) };
type Way = keyof typeof ways;
const run = (way: Way) => {
  // The arrays read outside tf.tidy: it would walk every element of a returned typed array looking for tensors.
  const grads = tf.tidy(() => tf.grads((...t: tf.Tensor[]) => ways[way](t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, t[2] as tf.Tensor1D, t[3] as tf.Tensor1D))([x, res, gamma, beta], dy));
  const data = grads.map((t) => t.dataSync());
  tf.dispose(grads);
  return data;
};
const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let [m, s] = [0, 0];
  for (let i = 0; i < a.length; i++) [m, s] = [Math.max(m, Math.abs(a[i] - b[i])), Math.max(s, Math.abs(b[i]))];
  return m / s;
};
const load0 = loadavg()[0];
console.log(`residual + LayerNorm, forward + backward, on tfjs wasm (Node ${process.version}, ${got} thread(s), ${helpers} helper(s)): (${rows}, ${d})`);
const [ref, mine] = [run('composed'), run('compiled')];
console.log(` compiled vs composed, max |Δ| / max |composed| of ∂x, ∂residual, ∂γ, ∂β: ${mine.map((g, i) => maxRel(g, ref[i]).toExponential(2)).join(', ')}`);
const times: Record<Way, number[]> = { composed: [], compiled: [] };
for (let r = 0; r < rounds; r++) {
  for (const way of (r % 2 ? ['compiled', 'composed'] : ['composed', 'compiled']) as Way[]) {
    const t0 = performance.now();
    run(way);
    times[way].push(performance.now() - t0);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, ts] of Object.entries(times)) console.log(`  ${name.padEnd(9)} median ${median(ts).toFixed(1)} ms  (rounds: ${ts.map((t) => t.toFixed(1)).join(', ')})`);
console.log(`  composed ÷ compiled (medians): ${(median(times.composed) / median(times.compiled)).toFixed(2)}`);
console.log(`load 1m ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`);
process.exit(0);
