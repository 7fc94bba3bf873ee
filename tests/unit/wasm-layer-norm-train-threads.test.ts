// The training LayerNorm (src/util/wasm-layer-norm-grad-kernel.ts) with its rows split over a helper thread on
// tfjs-wasm's threaded build (shared memory, helpers from src/cli/wasm-helper-threads-node.ts): forward and
// backward each hand the helper a part, and every output — dγ and dβ included, summed over a block grid that
// the split does not move — equals the one-thread result bit for bit, and the composed ops on cpu within rounding.
// The plain build, bad shapes and BertModel: wasm-layer-norm-train.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, expect, it } from 'vitest';
import { startKernelHelpers } from '../../src/cli/wasm-helper-threads-node.ts';
import { kernelHelperJobs } from '../../src/util/wasm-helper-threads.ts';
import { GRAD_BLOCK_ROWS } from '../../src/util/wasm-layer-norm-grad-kernel.ts';
import { ROWS_SPLIT_MIN } from '../../src/util/wasm-layer-norm-kernel.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { maxDiff } from './helpers/attention-reference.ts';
import { layerNormGrads, relDiff } from './helpers/layer-norm-reference.ts';
import { useThreadedWasm } from './helpers/threaded-wasm.ts';

/** As wasm-layer-norm-train.test.ts. */
const LAYER_NORM_TOL = 2e-6;
const GRAD_RTOL = 1e-5;

const sharedWasmKernels = useThreadedWasm();

describe('wasmAddLayerNormTrain split over a helper thread', () => {
  // Rows off the thread split and the block grid: forward parts [0, 49) + [49, 97), backward [0, 64) + [64, 97).
  for (const [rows, d] of [[ROWS_SPLIT_MIN + 33, 384], [5 * GRAD_BLOCK_ROWS + 7, 36]] as const) {
    it(`equals one thread bit for bit and the composed ops on cpu: ${rows} rows × ${d}, with and without a residual`, async (ctx) => {
      await sharedWasmKernels(ctx);
      expect(await startKernelHelpers(1)).toBe(1);
      for (const withResidual of [false, true]) {
        const jobs = kernelHelperJobs()[0];
        const split = layerNormGrads('wasm', rows, d, withResidual);
        expect(kernelHelperJobs()[0] - jobs, 'the helper ran a part of the forward and of the backward').toBe(2);
        wasmKernelSwitches.helperThreads = false;
        let alone: typeof split;
        try {
          alone = layerNormGrads('wasm', rows, d, withResidual);
        } finally {
          wasmKernelSwitches.helperThreads = true;
        }
        expect(kernelHelperJobs()[0] - jobs).toBe(2);
        expect(Buffer.from(split.y.buffer)).toEqual(Buffer.from(alone.y.buffer));
        split.grads.forEach((g, i) => expect(Buffer.from(g.buffer).equals(Buffer.from(alone.grads[i].buffer)), `gradient ${i} bit for bit`).toBe(true));
        expect(await tf.setBackend('cpu')).toBe(true);
        const ref = layerNormGrads('composed', rows, d, withResidual);
        expect(await tf.setBackend('wasm')).toBe(true);
        expect(maxDiff(split.y, ref.y)).toBeLessThan(LAYER_NORM_TOL);
        split.grads.forEach((g, i) => expect(relDiff(g, ref.grads[i]), `gradient ${i}`).toBeLessThan(GRAD_RTOL));
      }
    });
  }
});
