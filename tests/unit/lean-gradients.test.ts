// The memory-lean backprop (src/util/lean-gradients.ts) against tfjs-core's own engine.gradients: the same
// gradients bit for bit (same tape, same gradient functions, same order of accumulation), lower peak
// memory, no leaks, caller-owned tensors left alone, higher-order gradients intact.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BertModel } from '../../src/encoder/bert.ts';
import type { BertConfig } from '../../src/encoder/config.ts';
import type { TokenizedBatch } from '../../src/encoder/types.ts';
import { installLeanGradients } from '../../src/util/lean-gradients.ts';

type Gradients = (f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allow?: boolean) => { value: tf.Tensor; grads: tf.Tensor[] };
const engine = tf.engine() as unknown as { gradients: Gradients };
const stock: Gradients = Object.getPrototypeOf(engine).gradients;

/** Runs `f` with tfjs-core's stock gradients, then puts the lean ones back. */
function withStock<T>(f: () => T): T {
  engine.gradients = stock;
  try {
    return f();
  } finally {
    delete (engine as { gradients?: Gradients }).gradients; // back to the prototype's…
    leanAgain();
  }
}
let leanFn: Gradients;
function leanAgain() {
  engine.gradients = leanFn;
}

const CONFIG: BertConfig = {
  vocabSize: 50,
  hiddenSize: 32,
  numLayers: 2,
  numHeads: 4,
  intermediateSize: 64,
  hiddenAct: 'gelu',
  maxPositions: 64,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  hiddenDropout: 0.1,
  attentionDropout: 0.1,
  initializerRange: 0.02,
};

function batch(B: number, T: number): TokenizedBatch {
  const inputIds = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % CONFIG.vocabSize);
  const attentionMask = Int32Array.from({ length: B * T }, (_, i) => (i % T < T - (i / T | 0) ? 1 : 0)); // row b has b padding tokens
  return { batch: B, seqLen: T, inputIds, attentionMask, tokenTypeIds: new Int32Array(B * T) };
}

/** Gradients of a scalar of the model's hidden states (dropout on, seeded) w.r.t. its variables. */
function modelGrads(model: BertModel, b: TokenizedBatch): Float32Array[] {
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(model.forward(b, { training: true, seed: 11 }))) as tf.Scalar, model.variables as tf.Variable[]);
  const out = model.variables.map((v) => grads[v.name].dataSync() as Float32Array);
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  installLeanGradients();
  leanFn = engine.gradients;
});
afterEach(leanAgain);

describe('lean gradients', () => {
  it('is installed on the engine instance (the prototype keeps the stock one)', () => {
    expect(engine.gradients).not.toBe(stock);
  });

  it('gives the stock gradients of a BERT model bit for bit, without leaking tensors', () => {
    const model = BertModel.random(CONFIG, 3);
    const b = batch(3, 12);
    const before = tf.memory().numTensors;
    const lean = modelGrads(model, b);
    expect(tf.memory().numTensors).toBe(before);
    const ref = withStock(() => modelGrads(model, b));
    expect(lean.length).toBe(ref.length);
    lean.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(ref[i])));
    model.dispose();
  });

  it('peaks far lower than stock on a deep chain (gradients freed once consumed)', async () => {
    const x = tf.variable(tf.randomNormal([256, 256], 0, 1, 'float32', 5));
    let forwardBytes = 0; // held when the backward pass starts: the activations the tape saved
    const f = () => {
      let h: tf.Tensor = x;
      for (let i = 0; i < 40; i++) {
        const hi = h;
        h = tf.tidy(() => tf.sin(tf.mul(hi, 1.01))); // the tape keeps what the gradients need
      }
      forwardBytes = tf.memory().numBytes;
      return tf.sum(h) as tf.Scalar;
    };
    const peak = async (run: () => void) => (await tf.profile(run)).peakBytes;
    const run = () => {
      const r = tf.variableGrads(f, [x]);
      tf.dispose([r.value, ...Object.values(r.grads)]);
    };
    const layer = 256 * 256 * 4;
    const leanExtra = ((await peak(run)) - forwardBytes) / layer;
    const stockExtra = ((await withStock(() => peak(run))) - forwardBytes) / layer;
    // Beyond the saved activations, stock's backward pass keeps every gradient of the chain (~40 layers);
    // lean holds one or two at a time.
    expect(stockExtra).toBeGreaterThan(30);
    expect(leanExtra).toBeLessThanOrEqual(3);
    x.dispose();
  });

  it('leaves a caller-supplied dy and the inputs alive, and gives their gradients', () => {
    const a = tf.tensor1d([1, 2, 3]);
    const dy = tf.tensor1d([1, 0.5, -1]);
    const [ga] = tf.grads((t: tf.Tensor) => tf.mul(tf.square(t), 3))([a], dy);
    expect(Array.from(ga.dataSync())).toEqual([6, 6, -18]); // 6·a·dy
    expect(a.isDisposed || dy.isDisposed).toBe(false);
    tf.dispose([a, dy, ga]);
  });

  it('keeps higher-order gradients right (saved tensors stay while an outer gradient records)', () => {
    const x = tf.tensor1d([0.5, 2, -1]);
    const d2 = tf.grad(tf.grad((t: tf.Tensor) => tf.sum(tf.pow(t, 3))))(x); // d²/dx² Σx³ = 6x
    expect(Array.from(d2.dataSync())).toEqual([3, 12, -6]);
    tf.dispose([x, d2]);
  });

  it('reports a missing gradient path as stock does', () => {
    const x = tf.variable(tf.scalar(1));
    expect(() => tf.grad(() => tf.scalar(2))(x)).toThrow(/Cannot compute gradient of y=f\(x\)/);
    x.dispose();
  });
});
