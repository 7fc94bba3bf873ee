// DPO (cpu, tiny random decoder): pairs parsing with file/line errors; TRL-style tokenization, truncation
// and collation; Eq. 17 = log 2 when policy = reference; the margin rises on a toy preference set; resume
// from a checkpoint (memory, IndexedDB and the folder format) ends with bit-identical adapters; cancel; progress.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/llm/gradients.ts';
import { beforeAll, describe, expect, test } from 'vitest';
import { CancelledError, FileFormatError } from '../../src/errors.ts';
import type { DecoderConfig } from '../../src/llm/config.ts';
import { dpoLoss, dpoMetrics, dpoSettings } from '../../src/llm/dpo.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { dpoCheckpointFromFiles, dpoCheckpointToFiles, memoryDpoCheckpointSink, storeDpoCheckpointSink } from '../../src/train/dpo-checkpoint.ts';
import { collatePairs, parsePreferencePairs, tokenizePair, type TokenizedPair } from '../../src/llm/dpo-data.ts';
import { evaluateDpo, referenceLogProbs } from '../../src/llm/dpo-eval.ts';
import { trainDpo } from '../../src/train/dpo-trainer.ts';
import { LlamaModel } from '../../src/llm/llama.ts';
import { LoraAdapters } from '../../src/llm/lora.ts';
import type { ChatMessage, DecoderTokenizer } from '../../src/llm/tokenizer.ts';
import { randomWeights } from '../../src/llm/weights.ts';
import type { Progress } from '../../src/util/progress.ts';
import { freshStore, sources, tinyFiles } from './helpers/beir-files.ts';

const CONFIG: DecoderConfig = {
  arch: 'qwen2', dim: 16, layers: 2, heads: 4, kvHeads: 2, headDim: 4, hidden: 24, vocab: 40, normEps: 1e-6, ropeTheta: 10000,
  ropeScaling: { type: 'none' }, ropeLayout: 'half', attentionBias: true, tiedEmbeddings: true, maxSeqLen: 64, bosId: null, eosIds: [2],
};

/** Letters a–z → ids 10–35, '|' renders the chat template; EOS 2, BOS 1. */
const fakeTokenizer = (chat: boolean): DecoderTokenizer => ({
  vocabSize: 40, bosId: 1, eosIds: [3, 2], eosId: 2, padId: 0, hasChatTemplate: chat,
  encode: (text, opts) => [...(opts?.addSpecialTokens === false ? [] : [1]), ...[...text].map((c) => (c === '|' ? 5 : c.charCodeAt(0) - 87))],
  decode: (ids) => ids.map((i) => String.fromCharCode(i + 87)).join(''),
  applyChatTemplate: (m: ChatMessage[]) => `|${m.map((x) => x.content).join('')}|`,
});

// Toy preferences over token ids: every prompt prefers a completion of "high" tokens over "low" ones.
const TOY: TokenizedPair[] = Array.from({ length: 8 }, (_, i) => ({
  prompt: [1, 10 + i, 11 + (i % 3)],
  chosen: [30 + (i % 4), 31 + (i % 3), 2],
  rejected: [12 + (i % 5), 14 + (i % 2), 2],
}));
const newModel = () => new LlamaModel(CONFIG, randomWeights(CONFIG, 5, 0.3));
const small = { batchSize: 2, accumulation: 2, lr: 5e-3, maxLength: 16, vocabChunk: 16 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('DPO data', () => {
  test('JSONL pairs; a bad line is named with its file and line number', () => {
    const ok = '{"prompt":"p","chosen":"a","rejected":"b"}\n\n{"prompt":"q","chosen":"c","rejected":"d"}\n';
    expect(parsePreferencePairs(ok, 'x.jsonl')).toEqual([{ prompt: 'p', chosen: 'a', rejected: 'b' }, { prompt: 'q', chosen: 'c', rejected: 'd' }]);
    const err = (text: string) => {
      try {
        parsePreferencePairs(text, 'pairs.jsonl');
      } catch (e) {
        expect(e).toBeInstanceOf(FileFormatError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(err('{"prompt":"p","chosen":"a","rejected":"b"}\n{"prompt": oops}')).toMatch(/^pairs\.jsonl line 2: not valid JSON/);
    expect(err('{"prompt":"p","chosen":"a","rejected":"b"}\n\n{"prompt":"p","chosen":"a"}')).toMatch(/^pairs\.jsonl line 3: "rejected" is missing/);
    expect(err('{"prompt":"p","chosen":1,"rejected":"b"}')).toMatch(/line 1: "chosen" is not a string/);
    expect(err('{"prompt":"p","chosen":"a","rejected":"a"}')).toMatch(/line 1: "chosen" and "rejected" are the same/);
    expect(err('[1]')).toMatch(/line 1: not a JSON object/);
    expect(err('\n\n')).toMatch(/no preference pairs/);
  });

  test('tokenization as TRL: chat template, prompt cut from the left, EOS appended, rows cut at maxLength', () => {
    const pair = { prompt: 'abcdef', chosen: 'xyz', rejected: 'hello' };
    const t = tokenizePair(fakeTokenizer(true), pair, { maxLength: 8, maxPromptLength: 4, maxCompletionLength: null });
    expect(t.prompt).toEqual([13, 14, 15, 5]); // "|abcdef|" → last 4: d e f |
    expect(t.chosen).toEqual([33, 34, 35, 2]);
    expect(t.rejected).toEqual([17, 14, 21, 21, 24, 2]);
    const raw = tokenizePair(fakeTokenizer(false), pair, { maxLength: 8, maxPromptLength: 100, maxCompletionLength: 2 });
    expect(raw.prompt).toEqual([1, 10, 11, 12, 13, 14, 15]); // no template: BOS + text, as generation encodes it
    expect(raw.chosen).toEqual([33, 34]);
    const b = collatePairs([t], 8, 0);
    expect(b.ids).toEqual([[13, 14, 15, 5, 33, 34, 35, 2], [13, 14, 15, 5, 17, 14, 21, 21]]); // rejected lost "o" + EOS
    expect(b.scored).toEqual([[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1, 1]]);
    const c = collatePairs([{ prompt: [1], chosen: [4, 2], rejected: [2] }], 10, 0);
    expect(c).toEqual({ ids: [[1, 4, 2], [1, 2, 0]], attention: [[1, 1, 1], [1, 1, 0]], scored: [[0, 1, 1], [0, 1, 0]] });
  });
});

describe('DPO loss', () => {
  test('Eq. 17 on numbers; log 2 when policy = reference; metrics as TRL logs them', async () => {
    const t = (a: number[]) => tf.tensor1d(a);
    const parts = dpoLoss(t([-5, -7]), t([-6, -6]), t([-5.5, -7]), t([-5.5, -6.2]), 0.1);
    const z = [0.1 * (0.5 - -0.5), 0.1 * (0 - 0.2)];
    const want = z.map((x) => Math.log1p(Math.exp(-x)));
    expect(Math.max(...Array.from(await parts.losses.data(), (x, i) => Math.abs(x - want[i])))).toBeLessThan(1e-6);
    expect(Array.from(await parts.chosenRewards.data())).toEqual([expect.closeTo(0.05, 6), expect.closeTo(0, 6)]);
    const same = dpoLoss(t([-3, -9]), t([-4, -1]), t([-3, -9]), t([-4, -1]), 0.1);
    expect((await same.loss.data())[0]).toBeCloseTo(Math.LN2, 6);
    const m = dpoMetrics([-5, -7], [-6, -6], [-5.5, -7], [-5.5, -6.2], 0.1);
    expect(m.loss).toBeCloseTo((want[0] + want[1]) / 2, 12);
    expect(m.margin).toBeCloseTo((z[0] + z[1]) / 2, 12);
    expect(m.accuracy).toBe(0.5);
    expect(() => dpoSettings({ gamma: 1 } as never)).toThrow(/Unknown DPO setting "gamma"/);
  });
});

describe('DPO training', () => {
  test('fresh adapter: the first loss is exactly log 2, margin 0; reference log-probs computed once', async () => {
    const model = newModel();
    const lora = LoraAdapters.attachNew(model, { seed: 1 });
    const stages: Progress[] = [];
    const r = await trainDpo(model, lora, TOY, { settings: { ...small, steps: 1 }, onProgress: (p) => stages.push(p) });
    console.log(`log 2 check: first loss ${r.curve[0].loss} vs ln 2 ${Math.LN2} (Δ ${Math.abs(r.curve[0].loss - Math.LN2).toExponential(2)}), margin ${r.curve[0].margin}`);
    expect(Math.abs(r.curve[0].loss - Math.LN2)).toBeLessThan(1e-7);
    expect(r.curve[0].margin).toBe(0);
    expect(r.curve[0].accuracy).toBe(0);
    expect(stages.filter((p) => p.stage === 'llm:reference').at(-1)).toMatchObject({ done: 8, total: 8 });
    // Cached: the same numbers as a separate reference pass (adapters off), which leaves adaptersEnabled as it was.
    const ref = await referenceLogProbs(model, TOY, small);
    expect(Array.from(r.reference.chosen)).toEqual(Array.from(ref.chosen));
    expect(model.adaptersEnabled).toBe(true);
    lora.dispose();
    model.dispose();
  });

  test('on a toy preference set the chosen − rejected margin rises; progress climbs to the total', async () => {
    const model = newModel();
    const lora = LoraAdapters.attachNew(model, { seed: 1 });
    const before = await evaluateDpo(model, TOY, await referenceLogProbs(model, TOY, small), small);
    const progress: number[] = [];
    const r = await trainDpo(model, lora, TOY, { settings: { ...small, steps: 12 }, onProgress: (p) => p.stage === 'train:llm' && progress.push(p.done) });
    const after = await evaluateDpo(model, TOY, r.reference, small);
    const c = r.curve;
    console.log(`toy DPO (tiny random model, 8 pairs, 12 steps, lr 5e-3): margin ${before.margin.toFixed(4)} → ${after.margin.toFixed(4)}, loss ${before.loss.toFixed(4)} → ${after.loss.toFixed(4)}, accuracy ${before.accuracy} → ${after.accuracy}; train loss ${c[0].loss.toFixed(4)} → ${c.at(-1)!.loss.toFixed(4)}`);
    expect(before.margin).toBe(0);
    expect(after.margin).toBeGreaterThan(0.2);
    expect(after.loss).toBeLessThan(Math.LN2 - 0.1);
    expect(after.accuracy).toBe(1);
    expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    lora.dispose();
    model.dispose();
  });

  test('resume from a step-2 checkpoint (memory, and through the folder files) ends with bit-identical adapters', async () => {
    const settings = { ...small, steps: 4, checkpointEvery: 2, disableDropout: false }; // dropout on: masks must replay too
    const run = async (resumeFrom?: ReturnType<typeof memoryDpoCheckpointSink>) => {
      const model = newModel();
      const lora = LoraAdapters.attachNew(model, { seed: 1 });
      const sink = resumeFrom ?? memoryDpoCheckpointSink();
      const r = await trainDpo(model, lora, TOY, { settings, checkpoints: sink, resume: !!resumeFrom });
      const w = await Promise.all(lora.variables.map(async (v) => Array.from(await v.data())));
      lora.dispose();
      model.dispose();
      return { r, w, sink };
    };
    const full = await run();
    expect(full.sink.saved.map((c) => c.step)).toEqual([2, 4]);
    const viaFiles = dpoCheckpointFromFiles(dpoCheckpointToFiles(full.sink.saved[0]));
    for (const start of [full.sink.saved[0], viaFiles]) {
      const resumed = await run(memoryDpoCheckpointSink([start]));
      expect(resumed.r.resumedFrom).toBe(2);
      expect(resumed.w).toEqual(full.w);
      expect(resumed.r.curve.map((p) => p.loss)).toEqual(full.r.curve.map((p) => p.loss));
    }
    const model = newModel();
    const lora = LoraAdapters.attachNew(model, { seed: 1 });
    const again = (pairs: TokenizedPair[], over = {}) => trainDpo(model, lora, pairs, { settings: { ...settings, ...over }, checkpoints: memoryDpoCheckpointSink([full.sink.saved[0]]), resume: true });
    await expect(again(TOY.slice(1))).rejects.toThrow(/trained on other pairs/);
    await expect(again(TOY, { beta: 0.2 })).rejects.toThrow(/settings differ \(beta\)/);
    lora.dispose();
    model.dispose();
  });

  test('IndexedDB checkpoints (store artifacts): a run cancelled after step 2 resumes to the uninterrupted adapters', async () => {
    const { store } = await freshStore('dpo-ckpt');
    const { dataset } = await importBeir(store, sources(tinyFiles()), { estimate: async () => ({}) });
    const settings = { ...small, steps: 4, checkpointEvery: 1 };
    const train = async (opts: { resume?: boolean; stopAt?: number; sink?: boolean }) => {
      const model = newModel();
      const lora = LoraAdapters.attachNew(model, { seed: 1 });
      const ac = new AbortController();
      const checkpoints = opts.sink ? storeDpoCheckpointSink(store, dataset.id) : undefined;
      const r = await trainDpo(model, lora, TOY, { settings, checkpoints, resume: opts.resume, signal: ac.signal, onStep: (m) => m.step === opts.stopAt && ac.abort() }).catch((e: unknown) => e);
      const w = await Promise.all(lora.variables.map(async (v) => Array.from(await v.data())));
      lora.dispose();
      model.dispose();
      return { r, w };
    };
    const full = await train({});
    expect((await train({ sink: true, stopAt: 2 })).r).toBeInstanceOf(CancelledError);
    const stored = await storeDpoCheckpointSink(store, dataset.id).latest();
    expect(stored?.step).toBe(2); // saved after step 2, before the cancel took effect
    expect(stored?.reference.chosen).toBeInstanceOf(Float64Array); // structured clone keeps typed arrays
    const resumed = await train({ sink: true, resume: true });
    expect((resumed.r as { resumedFrom: number }).resumedFrom).toBe(2);
    expect(resumed.w).toEqual(full.w);
    store.close();
  });

  test('pairs whose completions maxLength cuts away entirely count as log 2 with no gradient (as in TRL)', async () => {
    const model = newModel();
    const lora = LoraAdapters.attachNew(model, { seed: 1 });
    const r = await trainDpo(model, lora, TOY, { settings: { ...small, maxLength: 3, steps: 2 } }); // prompts are 3 tokens
    expect(r.curve.map((p) => p.loss)).toEqual([Math.LN2, Math.LN2]);
    expect(r.curve.map((p) => p.gradNorm)).toEqual([0, 0]);
    expect(Array.from(await lora.layers[0].b.data()).every((x) => x === 0)).toBe(true);
    lora.dispose();
    model.dispose();
  });

  test('cancel between steps; a detached adapter is refused', async () => {
    const model = newModel();
    const lora = LoraAdapters.attachNew(model, { seed: 1 });
    const ac = new AbortController();
    await expect(trainDpo(model, lora, TOY, { settings: { ...small, steps: 5 }, signal: ac.signal, onStep: (m) => m.step === 2 && ac.abort() })).rejects.toBeInstanceOf(CancelledError);
    lora.detach(model);
    await expect(trainDpo(model, lora, TOY, { settings: { ...small, steps: 1 } })).rejects.toThrow(/Attach the LoRA adapters/);
    lora.dispose();
    model.dispose();
  });
});
