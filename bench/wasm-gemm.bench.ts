// Benchmark: the 2D products of a MiniLM layer on tfjs-wasm in Node, at one thread (or --threads N: XNNPACK's
// pool of N, the GEMM's rows over itself and N − 1 helper threads, src/util/wasm-helper-threads.ts): the compiled GEMM
// (src/util/wasm-gemm-kernel.ts) in its plain wasm SIMD and relaxed SIMD (fused multiply-add) builds, against
// what matmul.ts ran before it, XNNPACK through tfjs (tf.fused.matMul with the bias; the backward products as
// an explicit transpose + plain product, tfjs-wasm's only fast path). Interleaved rounds, same process, same
// inputs; max |diff| against XNNPACK's result.
// Default: encode()'s batch at 256 tokens (2,560 rows) through MiniLM's shapes (384 → 384, 384 → 1536, 1536 → 384).
//   npx tsx bench/wasm-gemm.bench.ts [--rounds 7] [--rows 2560] [--threads 1]
// Prints measured figures and the load average; not a pass/fail test.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { enableRelaxedSimd } from '../src/cli/backend.ts';
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';
import { startWasmWithThreads } from '../src/encoder/wasm-threads.ts';

registerTfjsResolveHook();
const relaxedOk = enableRelaxedSimd();
const { wasmGemm } = await import('../src/util/wasm-gemm-kernel.ts');
const { setWasmKernelsRelaxed } = await import('../src/util/wasm-kernel-module.ts');

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, rows: { type: 'string', default: '2560' }, threads: { type: 'string', default: '1' } } });
const [M, rounds] = [Number(values.rows), Number(values.rounds)];
const threads = await startWasmWithThreads(Number(values.threads));
const helpers = threads > 1 ? await (await import('../src/cli/wasm-helper-threads-node.ts')).startKernelHelpers(threads - 1) : 0;

type Way = 'XNNPACK' | 'GEMM plain' | 'GEMM relaxed';
type Product = 'x·W + b' | 'dy·Wᵀ' | 'xᵀ·dy';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load0 = loadavg()[0];
console.log(`2D products on tfjs wasm (Node ${process.version}, ${threads} thread(s): XNNPACK's pool; the GEMM on this thread + ${helpers} helper(s)), ${M} rows; relaxed SIMD ${relaxedOk ? 'available' : 'NOT available (plain build only)'}`);
const totals: Record<Way, number> = { XNNPACK: 0, 'GEMM plain': 0, 'GEMM relaxed': 0 };
for (const [K, N] of [[384, 384], [384, 1536], [1536, 384]]) {
  const x = tf.randomUniform([M, K], -1, 1, 'float32', 1) as tf.Tensor2D;
  const w = tf.randomUniform([K, N], -0.1, 0.1, 'float32', 2) as tf.Tensor2D;
  const b = tf.randomUniform([N], -1, 1, 'float32', 3) as tf.Tensor1D;
  const dy = tf.randomUniform([M, N], -1, 1, 'float32', 4) as tf.Tensor2D;
  const run = (way: Way, p: Product): tf.Tensor2D => {
    if (way === 'XNNPACK') {
      if (p === 'x·W + b') return tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D;
      return tf.tidy(() => (p === 'dy·Wᵀ' ? tf.matMul(dy, tf.transpose(w)) : tf.matMul(tf.transpose(x), dy)));
    }
    if (p === 'x·W + b') return wasmGemm(x, w, { bias: b });
    return p === 'dy·Wᵀ' ? wasmGemm(dy, w, { transposeB: true }) : wasmGemm(x, dy, { transposeA: true });
  };
  for (const p of ['x·W + b', 'dy·Wᵀ', 'xᵀ·dy'] as Product[]) {
    const times: Record<Way, number[]> = { XNNPACK: [], 'GEMM plain': [], 'GEMM relaxed': [] };
    const ways: Way[] = relaxedOk ? ['XNNPACK', 'GEMM plain', 'GEMM relaxed'] : ['XNNPACK', 'GEMM plain'];
    const diffs: string[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const way of r % 2 ? [...ways].reverse() : ways) {
        if (way !== 'XNNPACK') setWasmKernelsRelaxed(way === 'GEMM relaxed');
        const t0 = performance.now();
        const out = run(way, p);
        out.dataSync();
        times[way].push(performance.now() - t0);
        if (r === 0 && way !== 'XNNPACK') diffs.push(`${way} ${tf.tidy(() => tf.max(tf.abs(tf.sub(out, run('XNNPACK', p)))).dataSync()[0]).toExponential(1)}`);
        out.dispose();
      }
    }
    const gflop = (2 * M * K * N) / 1e6;
    const line = ways.map((way) => `${way} ${median(times[way]).toFixed(1)} ms (${(gflop / median(times[way])).toFixed(1)} GFLOP/s)`).join(' · ');
    const ratios = ways.slice(1).map((way) => `${way} ${(median(times.XNNPACK) / median(times[way])).toFixed(2)}×`).join(', ');
    console.log(` ${K}→${N} ${p.padEnd(7)}: ${line}; XNNPACK ÷ ${ratios}; max |diff| ${diffs.join(', ')}`);
    for (const way of ways) totals[way] += median(times[way]);
  }
  tf.dispose([x, w, b, dy]);
}
console.log(` all nine products (one layer's linear shapes, forward and both backward): ${Object.entries(totals).filter(([, t]) => t > 0).map(([way, t]) => `${way} ${t.toFixed(0)} ms`).join(' · ')}; XNNPACK ÷ GEMM relaxed ${(totals.XNNPACK / (totals['GEMM relaxed'] || totals['GEMM plain'])).toFixed(2)}×`);
console.log(`load 1m ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`);
setWasmKernelsRelaxed(true);
process.exit(0);
