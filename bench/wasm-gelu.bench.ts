// Benchmark: exact GELU on tfjs-wasm in Node, the compiled SIMD kernel (src/util/wasm-gelu-kernel.ts) against
// the composed ops src/encoder/gelu.ts runs without it (wasmKernelSwitches.gelu off), forward alone and
// forward + backward under a gradient tape, interleaved in the same process on the same input.
// Default shape: one MiniLM MLP activation of encode()'s batch at 256 tokens (10 × 256 rows, 1536 columns).
//   npx tsx bench/wasm-gelu.bench.ts [--rounds 9] [--rows 2560] [--cols 1536]
// Prints measured figures and the load average; not a pass/fail test.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';
import { startWasmWithThreads } from '../src/encoder/wasm-threads.ts';

registerTfjsResolveHook();
const { gelu } = await import('../src/encoder/gelu.ts');
const { wasmKernelSwitches } = await import('../src/util/wasm-kernel-internals.ts');

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '9' }, rows: { type: 'string', default: '2560' }, cols: { type: 'string', default: '1536' } } });
const [rows, cols, rounds] = [Number(values.rows), Number(values.cols), Number(values.rounds)];
await startWasmWithThreads(1);
const x = tf.randomNormal([rows, cols], -0.3, 1.5, 'float32', 7) as tf.Tensor2D;
const dy = tf.randomNormal([rows, cols], 0, 1, 'float32', 8) as tf.Tensor2D;

type Pass = 'forward' | 'forward+backward';
const run = (kernel: boolean, pass: Pass): tf.Tensor => {
  wasmKernelSwitches.gelu = kernel;
  return pass === 'forward' ? gelu(x) : tf.grads((t: tf.Tensor) => gelu(t))([x], dy)[0];
};
const check = (pass: Pass) => tf.tidy(() => tf.max(tf.abs(tf.sub(run(true, pass), run(false, pass)))).dataSync()[0]);
const load0 = loadavg()[0];
console.log(`GELU on tfjs wasm (Node ${process.version}, 1 thread): ${rows} × ${cols}, x ~ N(−0.3, 1.5²)`);
for (const pass of ['forward', 'forward+backward'] as Pass[]) {
  const times = { kernel: [] as number[], composed: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    for (const kernel of r % 2 ? [false, true] : [true, false]) {
      const t0 = performance.now();
      const out = run(kernel, pass);
      out.dataSync();
      (kernel ? times.kernel : times.composed).push(performance.now() - t0);
      out.dispose();
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(` ${pass}: kernel vs composed max |diff| ${check(pass).toExponential(2)}`);
  for (const [name, ts] of Object.entries(times)) console.log(`  ${name.padEnd(9)} median ${median(ts).toFixed(1)} ms  (rounds: ${ts.map((t) => t.toFixed(1)).join(', ')})`);
  console.log(`  composed ÷ kernel (medians): ${(median(times.composed) / median(times.kernel)).toFixed(2)}`);
}
console.log(`load 1m ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`);
wasmKernelSwitches.gelu = true;
process.exit(0);
