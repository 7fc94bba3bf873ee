// Inference without the padding (src/encoder/packing.ts, wasmPackedAttention in src/util/wasm-attention-kernel.{c,ts},
// BertModel.forward's skipPadding): the index arrays, the packed attention kernel against the padded one (the same
// floats for every token: padding keys add exact zeros there) and against the composed ops, and the whole model and
// BertEncoder.embed with the packing on and off.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { BertModel } from '../../src/encoder/bert.ts';
import type { BertConfig } from '../../src/encoder/config.ts';
import { BertEncoder } from '../../src/encoder/encoder.ts';
import { packingOf } from '../../src/encoder/packing.ts';
import { DEFAULT_ENCODER_SETTINGS } from '../../src/encoder/presets.ts';
import { tokenizerJsonFromVocab, WordPieceTokenizer } from '../../src/encoder/tokenizer.ts';
import type { TokenizedBatch } from '../../src/encoder/types.ts';
import { WASM_PACKED_ATTENTION, wasmFusedAttention, wasmPackedAttention } from '../../src/util/wasm-attention-kernel.ts';
import { WASM_GATHER_ROWS, wasmGatherRows } from '../../src/util/wasm-gather-rows-kernel.ts';
import { prepareWasmKernels } from '../../src/util/wasm-kernel-module.ts';
import { wasmKernelSwitches } from '../../src/util/wasm-kernel-internals.ts';
import { attentionCase, caseLength, composedAttention, maxDiff, packedCase, type AttentionCase } from './helpers/attention-reference.ts';

/** As encoder-wasm-attention.test.ts: the same kernel against the composed ops. */
const ATTENTION_TOL = 1e-5;

async function onWasm(): Promise<void> {
  expect(await tf.setBackend('wasm')).toBe(true);
  expect(await prepareWasmKernels()).toBe('plain');
}

describe('packingOf', () => {
  it('gathers the tokens of a right-padded batch and maps every padded row back (padding to −1: a zero row)', () => {
    const p = packingOf([1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0], 3, 4)!;
    expect([...p.starts]).toEqual([0, 3, 4, 7]);
    expect([...p.keep]).toEqual([0, 1, 2, 4, 8, 9, 10]);
    expect([...p.back]).toEqual([0, 1, 2, -1, 3, -1, -1, -1, 4, 5, 6, -1]);
    expect(p.maxSeq).toBe(3);
  });

  it('is null where it gains nothing or does not apply: no padding, a hole in a mask, an empty row', () => {
    expect(packingOf([1, 1, 1, 1], 2, 2)).toBeNull();
    expect(packingOf([1, 0, 1, 1, 1, 1], 2, 3)).toBeNull();
    expect(packingOf([0, 0, 1, 1], 2, 2)).toBeNull();
  });
});

describe('wasmGatherRows', () => {
  it('copies the indexed rows, zeros for −1, as tf.gather on cpu; refuses an index past the rows', async () => {
    const x = () => tf.tensor2d(Array.from({ length: 5 * 8 }, (_, i) => Math.sin(i) * 3), [5, 8]);
    const idx = [4, 0, -1, 4, 2, -1];
    expect(await tf.setBackend('cpu')).toBe(true);
    const want = tf.tidy(() => tf.gather(tf.concat([x(), tf.zeros([1, 8])]), idx.map((i) => (i < 0 ? 5 : i))).dataSync());
    await onWasm();
    const got = tf.tidy(() => wasmGatherRows(x(), tf.tensor1d(idx, 'int32')).dataSync());
    expect(maxDiff(got, want)).toBe(0);
    expect(() => tf.tidy(() => wasmGatherRows(x(), tf.tensor1d([1, 5], 'int32')))).toThrow(new RegExp(`${WASM_GATHER_ROWS}: index 5 at position 1 is past x's 5 rows`));
  });
});

// (B, T, heads, hs): lengths T, T−2, … down to 1; key tiles of 8 and query blocks of 4 cut at different places per row.
const SHAPES: AttentionCase[] = [
  { B: 3, T: 7, heads: 2, hs: 32 },
  { B: 4, T: 17, heads: 2, hs: 12 },
  { B: 5, T: 9, heads: 3, hs: 8 },
];

describe('wasmPackedAttention', () => {
  for (const shape of SHAPES) {
    it(`gives every token the padded kernel's floats exactly, and the composed ops': B ${shape.B}, T ${shape.T}, heads ${shape.heads}, hs ${shape.hs}`, async () => {
      await onWasm();
      const scale = 1 / Math.sqrt(shape.hs);
      const padded = tf.tidy(() => wasmFusedAttention(...attentionCase(shape), shape.heads, scale).dataSync());
      const composed = tf.tidy(() => composedAttention(...attentionCase(shape), shape.heads, scale).dataSync());
      const p = packedCase(shape);
      const before = tf.memory().numTensors;
      const out = wasmPackedAttention(p.q, p.k, p.v, p.starts, p.maxSeq, shape.heads, scale);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(out.shape).toEqual([p.keep.length, shape.heads * shape.hs]);
      const got = out.dataSync();
      tf.dispose([out, p.q, p.k, p.v, p.starts]);
      const d = shape.heads * shape.hs;
      const rowsOf = (all: ArrayLike<number>) => p.keep.flatMap((r) => Array.from({ length: d }, (_, c) => all[r * d + c]));
      expect(maxDiff(got, rowsOf(padded))).toBe(0);
      expect(maxDiff(got, rowsOf(composed))).toBeLessThan(ATTENTION_TOL);
      expect(p.keep.length).toBe(Array.from({ length: shape.B }, (_, b) => caseLength(shape, b)).reduce((a, n) => a + n));
    });
  }

  it('refuses inputs of the wrong shape, and starts that leave the rows or pass maxSeq, with what it got', async () => {
    await onWasm();
    const q = tf.zeros([5, 64]) as tf.Tensor2D;
    const starts = tf.tensor1d([0, 5], 'float32');
    expect(() => wasmPackedAttention(q, q, q, starts, 5, 2, 1)).toThrow(new RegExp(`${WASM_PACKED_ATTENTION}: expects .* int32 starts .*got .*starts \\[2\\] float32`));
    const int = tf.tensor1d([0, 3, 5], 'int32');
    expect(() => wasmPackedAttention(q, q, q, int, 2, 2, 1)).toThrow(new RegExp(`${WASM_PACKED_ATTENTION}: starts must rise from 0 to the 5 rows in steps of at most maxSeq 2; got \\[0, 3, 5\\]`));
    const short = tf.tensor1d([0, 2, 4], 'int32');
    expect(() => wasmPackedAttention(q, q, q, short, 2, 2, 1)).toThrow(/got \[0, 2, 4\]/);
    tf.dispose([q, starts, int, short]);
  });
});

const config: BertConfig = { vocabSize: 50, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 96, hiddenAct: 'gelu', maxPositions: 16, typeVocabSize: 2, layerNormEps: 1e-12, hiddenDropout: 0.1, attentionDropout: 0.1, initializerRange: 0.02 };
// Three texts of 9, 4 and 1 tokens padded to 9.
const lengths = [9, 4, 1];
const T = 9;
const batch: TokenizedBatch = {
  batch: 3,
  seqLen: T,
  inputIds: Int32Array.from(lengths.flatMap((n, b) => Array.from({ length: T }, (_, t) => (t < n ? 2 + ((7 * t + 11 * b) % 45) : 0)))),
  tokenTypeIds: new Int32Array(3 * T),
  attentionMask: Int32Array.from(lengths.flatMap((n) => Array.from({ length: T }, (_, t) => (t < n ? 1 : 0)))),
};

/** forward(batch) with the switch as given: the hidden states and the kernels it ran. */
async function forward(skip: boolean, on: boolean): Promise<{ hidden: Float32Array; attentionKernels: string[]; kernels: string[] }> {
  wasmKernelSwitches.skipPadding = on;
  try {
    const model = BertModel.random(config, 3);
    const before = tf.memory().numTensors;
    let hidden: Float32Array = new Float32Array();
    const profile = await tf.profile(() => {
      const h = model.forward(batch, { skipPadding: skip });
      hidden = h.dataSync() as Float32Array;
      h.dispose();
    });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    const kernels = profile.kernels.map((k) => k.name);
    return { hidden, kernels, attentionKernels: kernels.filter((n) => /Attention/.test(n)) };
  } finally {
    wasmKernelSwitches.skipPadding = true;
  }
}

describe('BertModel.forward with skipPadding', () => {
  it("on wasm: every token's state equals the padded pass's bit for bit, padding states are zeros; the switch turns it off", async () => {
    await onWasm();
    const padded = await forward(false, true);
    const skipped = await forward(true, true);
    const off = await forward(true, false);
    expect(skipped.attentionKernels).toEqual([WASM_PACKED_ATTENTION, WASM_PACKED_ATTENTION]);
    expect(skipped.kernels.filter((n) => n === WASM_GATHER_ROWS)).toHaveLength(2); // pack, unpack
    expect(skipped.kernels).not.toContain('GatherV2');
    expect(padded.attentionKernels.every((n) => n !== WASM_PACKED_ATTENTION)).toBe(true);
    expect(off.attentionKernels).toEqual(padded.attentionKernels);
    expect(maxDiff(off.hidden, padded.hidden)).toBe(0);
    const d = config.hiddenSize;
    let padRows = 0;
    for (let b = 0; b < batch.batch; b++) {
      for (let t = 0; t < T; t++) {
        const row = (h: Float32Array) => h.subarray((b * T + t) * d, (b * T + t + 1) * d);
        if (t < lengths[b]) expect(maxDiff(row(skipped.hidden), row(padded.hidden)), `token ${t} of text ${b}`).toBe(0);
        else {
          padRows++;
          expect(row(skipped.hidden).every((x) => x === 0)).toBe(true);
          expect(row(padded.hidden).some((x) => x !== 0)).toBe(true);
        }
      }
    }
    expect(padRows).toBe(13);
  });

  it('on cpu the option changes nothing (no compiled kernels there)', async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
    const a = await forward(false, true);
    const b = await forward(true, true);
    expect(maxDiff(a.hidden, b.hidden)).toBe(0);
    expect(b.attentionKernels).toEqual([]);
  });
});

describe('BertEncoder.embed skips the padding', () => {
  it('with the same pooled, normalised embeddings bit for bit as the padded pass', async () => {
    await onWasm();
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', ...Array.from({ length: 46 }, (_, i) => `w${i}`)];
    const tokenizer = new WordPieceTokenizer(tokenizerJsonFromVocab(vocab.join('\n'), {}), {});
    const embed = (on: boolean) => {
      wasmKernelSwitches.skipPadding = on;
      try {
        const encoder = new BertEncoder(BertModel.random(config, 5), tokenizer, { ...DEFAULT_ENCODER_SETTINGS, pooling: 'mean', normalize: true });
        const out = tf.tidy(() => encoder.embed(encoder.tokenize(['w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11', 'w3 w4', 'w7'], 'doc')).dataSync());
        encoder.dispose();
        return out;
      } finally {
        wasmKernelSwitches.skipPadding = true;
      }
    };
    const skipped = embed(true);
    const padded = embed(false);
    expect(maxDiff(skipped, padded)).toBe(0);
    expect(skipped.some((x) => x !== 0)).toBe(true);
  });
});
