// Benchmark: BERT's training attention probabilities, dropout(softmax(s·scale + mask)) forward + backward under a
// gradient tape (src/encoder/attention-probs.ts), on tfjs-wasm in Node, three ways interleaved in one process on
// the same input: all tfjs ops (tf.softmax, tf.dropout drawing in JavaScript, the composed backward), tfjs ops with
// the compiled dropout pass (wasm-dropout-kernel.ts), and the compiled softmax + backward as well
// (wasm-attention-probs-kernel.ts). Default shape: one MiniLM layer of a GradCache chunk at 256 tokens.
//   npx tsx bench/wasm-attention-probs.bench.ts [--rounds 7] [--batch 8] [--seq 256] [--threads 2]
// Prints measured figures and the load average; not a pass/fail test.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';
import { startWasmWithThreads } from '../src/encoder/wasm-threads.ts';

registerTfjsResolveHook();
const { attentionProbs } = await import('../src/encoder/attention-probs.ts');
const { wasmKernelSwitches } = await import('../src/util/wasm-kernel-internals.ts');
const { startKernelHelpers } = await import('../src/cli/wasm-helper-threads-node.ts');
const { prepareWasmKernels } = await import('../src/util/wasm-kernel-module.ts');

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, batch: { type: 'string', default: '8' }, seq: { type: 'string', default: '256' }, threads: { type: 'string', default: '2' } } });
const [B, T, rounds, threads] = [Number(values.batch), Number(values.seq), Number(values.rounds), Number(values.threads)];
const H = 12;
const got = await startWasmWithThreads(threads);
await prepareWasmKernels();
const helpers = got > 1 ? await startKernelHelpers(got - 1) : 0;
const scores = tf.randomNormal([B, H, T, T], 0, 3, 'float32', 4) as tf.Tensor4D;
const mask = tf.tensor4d(Array.from({ length: B * T }, (_, i) => (i % T >= T - 20 * (Math.floor(i / T) % 3) ? -1e9 : 0)), [B, 1, 1, T]);
const dy = tf.randomNormal([B, H, T, T], 0, 1, 'float32', 5);
const drop = { rate: 0.1, seed: 1234 };

const ways = { 'tfjs ops': [false, false], 'tfjs ops + compiled dropout': [false, true], compiled: [true, true] } as const;
type Way = keyof typeof ways;
const run = (way: Way) => {
  [wasmKernelSwitches.attentionProbs, wasmKernelSwitches.dropout] = ways[way];
  // The data read outside tidy: tidy walks what it returns, element by element for a typed array.
  const g = tf.tidy(() => tf.grads((s: tf.Tensor) => attentionProbs(s as tf.Tensor4D, mask, 0.125, drop))([scores], dy)[0]);
  const data = g.dataSync();
  g.dispose();
  return data;
};
const reference = run('tfjs ops');
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const load0 = loadavg()[0];
console.log(`attention probabilities, forward + backward, on tfjs wasm (Node ${process.version}, ${got} thread(s), ${helpers} helper(s)): (${B}, ${H}, ${T}, ${T}), dropout 0.1`);
const times = Object.fromEntries(Object.keys(ways).map((w) => [w, [] as number[]])) as Record<Way, number[]>;
for (let r = 0; r < rounds; r++) {
  const order = (Object.keys(ways) as Way[])[r % 2 ? 'reverse' : 'slice']();
  for (const way of order) {
    const t0 = performance.now();
    const g = run(way);
    times[way].push(performance.now() - t0);
    if (r === 0) console.log(` ${way}: max |Δ gradient| against tfjs ops ${maxDiff(g, reference).toExponential(2)}`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, ts] of Object.entries(times)) console.log(`  ${name.padEnd(28)} median ${median(ts).toFixed(1)} ms  (rounds: ${ts.map((t) => t.toFixed(1)).join(', ')})`);
console.log(`  tfjs ops ÷ compiled (medians): ${(median(times['tfjs ops']) / median(times.compiled)).toFixed(2)}; tfjs ops + compiled dropout ÷ compiled: ${(median(times['tfjs ops + compiled dropout']) / median(times.compiled)).toFixed(2)}`);
console.log(`load 1m ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`);
Object.assign(wasmKernelSwitches, { attentionProbs: true, dropout: true });
process.exit(0);
