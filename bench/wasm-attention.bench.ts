// Benchmark: one layer's attention on tfjs-wasm in Node, the compiled SIMD kernel (src/util/wasm-attention-kernel.ts)
// against the composed ops BertModel.attention runs without it (head transposes, batchMatMul on heap slices,
// scale + mask + softmax, batchMatMul, merge), interleaved in the same process on the same inputs.
// Default shape: all-MiniLM-L6-v2's encode() batch at 256 tokens (10 rows, 12 heads of 32), half the rows
// padded from token 128 on; and the packed kernel over the same tokens without the padding rows.
//   npx tsx bench/wasm-attention.bench.ts [--threads 1] [--rounds 5] [--batch 10] [--seq 256]
// Prints measured figures and the load average; not a pass/fail test.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';
import { startWasmWithThreads } from '../src/encoder/wasm-threads.ts';

registerTfjsResolveHook();
const { attentionProbs } = await import('../src/encoder/attention-probs.ts');
const { batchMatMul } = await import('../src/util/matmul.ts');
const { wasmFusedAttention, wasmPackedAttention } = await import('../src/util/wasm-attention-kernel.ts');
const { packingOf } = await import('../src/encoder/packing.ts');
const { wasmGatherRows } = await import('../src/util/wasm-gather-rows-kernel.ts');

const HEADS = 12;
const HEAD_SIZE = 32;
const { values } = parseArgs({ options: { threads: { type: 'string', default: '1' }, rounds: { type: 'string', default: '5' }, batch: { type: 'string', default: '10' }, seq: { type: 'string', default: '256' } } });
const [B, T, rounds] = [Number(values.batch), Number(values.seq), Number(values.rounds)];
const threads = await startWasmWithThreads(Number(values.threads));
const d = HEADS * HEAD_SIZE;
const scale = 1 / Math.sqrt(HEAD_SIZE);

/** BertModel.attention's composition (src/encoder/bert.ts), from the Q, K, V linear outputs on. */
function composed(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  const heads = (t: tf.Tensor2D, perm: number[], shape: [number, number, number]) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, HEADS, HEAD_SIZE]), perm), shape) as tf.Tensor3D;
  const scores = tf.reshape(batchMatMul(heads(q, [0, 2, 1, 3], [B * HEADS, T, HEAD_SIZE]), heads(k, [0, 2, 3, 1], [B * HEADS, HEAD_SIZE, T])), [B, HEADS, T, T]) as tf.Tensor4D;
  const att = attentionProbs(scores, tf.reshape(mask, [B, 1, 1, T]), scale, null);
  const y = batchMatMul(tf.reshape(att, [B * HEADS, T, T]) as tf.Tensor3D, heads(v, [0, 2, 1, 3], [B * HEADS, T, HEAD_SIZE]));
  return tf.reshape(tf.transpose(tf.reshape(y, [B, HEADS, T, HEAD_SIZE]), [0, 2, 1, 3]), [B * T, d]);
}

const rand = () => tf.randomNormal([B * T, d], 0, 1, 'float32', 7) as tf.Tensor2D;
const [q, k, v] = [rand(), rand(), rand()];
const mask = tf.tensor2d(Array.from({ length: B * T }, (_, i) => (Math.floor(i / T) % 2 === 1 && i % T >= T / 2 ? -1e9 : 0)), [B, T]);
// The same rows without their padding (BertModel's skipPadding): the tokens' rows only, attention per sequence.
const packing = packingOf(mask.dataSync().map((m) => (m === 0 ? 1 : 0)), B, T)!;
const keep = tf.tensor1d(packing.keep, 'int32');
const [pq, pk, pv] = [q, k, v].map((t) => wasmGatherRows(t, keep));
const starts = tf.tensor1d(packing.starts, 'int32');
const engines = {
  kernel: () => wasmFusedAttention(q, k, v, mask, HEADS, scale),
  packed: () => wasmPackedAttention(pq, pk, pv, starts, packing.maxSeq, HEADS, scale),
  composed: () => tf.tidy(() => composed(q, k, v, mask)),
};
const check = tf.tidy(() => tf.max(tf.abs(tf.sub(engines.kernel(), engines.composed()))).dataSync()[0]);
const checkPacked = tf.tidy(() => tf.max(tf.abs(tf.sub(wasmGatherRows(engines.kernel(), keep), engines.packed()))).dataSync()[0]);
const times: Record<string, number[]> = { kernel: [], packed: [], composed: [] };
const load0 = loadavg()[0];
for (let r = 0; r < rounds; r++) {
  for (const name of (r % 2 ? ['composed', 'packed', 'kernel'] : ['kernel', 'packed', 'composed']) as (keyof typeof engines)[]) {
    const t0 = performance.now();
    const out = engines[name]();
    out.dataSync();
    times[name].push(performance.now() - t0);
    out.dispose();
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`Attention of one layer on tfjs wasm (Node ${process.version}, ${threads} XNNPACK thread(s)): B ${B}, T ${T}, ${HEADS} heads × ${HEAD_SIZE}; kernel vs composed max |diff| ${check.toExponential(2)}, packed vs kernel ${checkPacked.toExponential(2)} (${packing.keep.length} of ${B * T} rows); load 1m ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`);
for (const [name, ts] of Object.entries(times)) console.log(`  ${name.padEnd(9)} median ${median(ts).toFixed(1)} ms  (rounds: ${ts.map((t) => t.toFixed(1)).join(', ')})`);
console.log(`  composed ÷ kernel (medians): ${(median(times.composed) / median(times.kernel)).toFixed(2)}; kernel ÷ packed: ${(median(times.kernel) / median(times.packed)).toFixed(2)}`);
process.exit(0);
