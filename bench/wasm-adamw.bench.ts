// Benchmark: one AdamW step (src/train/optimizer.ts, the host path on wasm) over all-MiniLM-L6-v2's variables
// (22.7 M floats: 30522×384 word embeddings, positions, token types, 6 layers of 4 × 384×384 + 384×1536 +
// 1536×384 with biases and 2 LayerNorms, the pooler), on tfjs-wasm in Node, interleaved in one process:
// the JavaScript loop over host moments (wasmKernelSwitches.adamw off: dataSync of p and g, a Math.fround per
// operation, an upload of the new p) against the compiled pass (src/util/wasm-adamw-kernel.ts) on 1 thread
// (wasmKernelSwitches.helperThreads off) and on this thread + helpers. Each way has its own optimizer (so its
// moments stay in their own form: host arrays or heap tensors); all update the same variables. 'compiled,
// moments copied' keeps host arrays as a model too large for heap moments does (BERT-base), each variable's pair
// copied into the heap for its pass and back.
//   npx tsx bench/wasm-adamw.bench.ts [--rounds 7] [--threads 2]
// Prints measured figures and the load average; not a pass/fail test.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';
import { startWasmWithThreads } from '../src/encoder/wasm-threads.ts';

registerTfjsResolveHook();
const { AdamW } = await import('../src/train/optimizer.ts');
const { wasmKernelSwitches } = await import('../src/util/wasm-kernel-internals.ts');
const { startKernelHelpers } = await import('../src/cli/wasm-helper-threads-node.ts');
const { prepareWasmKernels } = await import('../src/util/wasm-kernel-module.ts');

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, threads: { type: 'string', default: '2' } } });
const [rounds, threads] = [Number(values.rounds), Number(values.threads)];
const got = await startWasmWithThreads(threads);
const build = await prepareWasmKernels();
const helpers = got > 1 ? await startKernelHelpers(got - 1) : 0;

const d = 384;
const layer = [[d, d], [d], [d, d], [d], [d, d], [d], [d, d], [d], [d], [d], [d, 4 * d], [4 * d], [4 * d, d], [d], [d], [d]];
const shapes = [[30522, d], [512, d], [2, d], [d], [d], ...Array.from({ length: 6 }, () => layer).flat(), [d, d], [d]];
const total = shapes.reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);
const variables = shapes.map((sh, i) => tf.tidy(() => tf.variable(tf.randomNormal(sh, 0, 0.05, 'float32', i))));
const grads = shapes.map((sh, i) => tf.randomNormal(sh, 0, 1e-3, 'float32', 1000 + i));

type Way = 'js loop' | 'compiled, 1 thread' | `compiled, ${number} threads` | 'compiled, moments copied';
const ways: Way[] = ['js loop', 'compiled, 1 thread', ...(helpers > 0 ? [`compiled, ${helpers + 1} threads` as Way] : []), 'compiled, moments copied'];
const optimizers = new Map(ways.map((w) => [w, new AdamW(variables, { weightDecay: 0.01 }, 'auto', w === 'compiled, moments copied' ? 0 : undefined)]));
const setWay = (w: Way) => {
  wasmKernelSwitches.adamw = w !== 'js loop';
  wasmKernelSwitches.helperThreads = w !== 'compiled, 1 thread';
};
const step = (w: Way, lr: number) => {
  setWay(w);
  const t0 = performance.now();
  optimizers.get(w)!.step(grads, lr);
  return performance.now() - t0;
};

const load0 = loadavg()[0];
console.log(`AdamW step on tfjs wasm (Node ${process.version}, ${build} kernels build, ${helpers} helper threads): ${shapes.length} variables, ${total.toLocaleString('en')} floats`);
for (const w of ways) step(w, 1e-4); // warm-up: each optimizer makes its moments
const times = new Map<Way, number[]>(ways.map((w) => [w, []]));
for (let r = 0; r < rounds; r++) {
  const order = ways.map((_, i) => ways[(i + r) % ways.length]);
  for (const w of order) times.get(w)!.push(step(w, 1e-4 * (1 + r / rounds)));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [w, ts] of times) console.log(`  ${w.padEnd(20)} median ${median(ts).toFixed(1).padStart(7)} ms  (rounds: ${ts.map((t) => t.toFixed(1)).join(', ')})`);
const js = median(times.get('js loop')!);
for (const w of ways.slice(1)) console.log(`  js loop ÷ ${w} (medians): ${(js / median(times.get(w)!)).toFixed(1)}`);
console.log(`  heap tensors: ${tf.memory().numTensors}, ${(tf.memory().numBytes / 2 ** 20).toFixed(0)} MiB (the compiled ways' moments: ${((2 * 4 * total) / 2 ** 20).toFixed(0)} MiB each)`);
console.log(`load 1m ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`);
setWay('compiled, 1 thread');
wasmKernelSwitches.helperThreads = true;
process.exit(0);
