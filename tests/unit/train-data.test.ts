// Training data: examples from a split, BM25 hard negatives, the seeded micro-batch stream and crops.
import { describe, expect, it } from 'vitest';
import { buildTrainData, mineBm25Negatives, SupervisedBatches } from '../../src/train/examples.ts';
import { CropBatches, randomCrop, CROP_DEFAULTS } from '../../src/train/cropping.ts';
import { createRng } from '../../src/util/random.ts';
import { syntheticTask } from './helpers/train-corpus.ts';

describe('buildTrainData', () => {
  it('keeps queries with a positive in the corpus, in query order, and counts missing expansions', () => {
    const { docs, queries } = syntheticTask(4);
    const qrels = new Map([
      ['q2', new Map([['d2', 1], ['d3', 0]])],
      ['q0', new Map([['d0', 2], ['missing', 1]])],
      ['q1', new Map([['d1', 0]])], // no positive
    ]);
    const { data, missingExpansions } = buildTrainData(docs, queries, qrels, { expansions: new Map([['q0', 'an expansion']]) });
    expect(data.examples.map((e) => [e.qid, e.positives, e.expansion])).toEqual([
      ['q0', ['d0'], 'an expansion'],
      ['q2', ['d2'], undefined],
    ]);
    expect(missingExpansions).toBe(1);
    expect(data.docs.get('d0')).toBe(`topic 0 ${docs[0].text}`); // title + " " + text
    expect(() => buildTrainData(docs, queries, new Map())).toThrow(/No training examples/);
  });
});

describe('hard negatives and batches', () => {
  it('BM25 negatives never include a positive or the query id', async () => {
    const { docs, queries, qrels } = syntheticTask(12);
    const { data } = buildTrainData(docs, queries, qrels);
    await mineBm25Negatives(data, docs, { depth: 5 });
    for (const ex of data.examples) {
      expect(ex.negatives!.length).toBeGreaterThan(0);
      expect(ex.negatives!.length).toBeLessThanOrEqual(5);
      expect(ex.negatives).not.toContain(ex.positives[0]);
    }
  });

  it('micro-batch i is a pure function of (seed, i): positives then hard negatives, each epoch a permutation', () => {
    const { docs, queries, qrels } = syntheticTask(10);
    const { data } = buildTrainData(docs, queries, qrels, { expansions: new Map([['q3', 'exp three']]) });
    data.examples.forEach((e, i) => (e.negatives = [`d${(i + 1) % 10}`]));
    const a = new SupervisedBatches(data, { seed: 9, batchSize: 4, hardNegatives: true });
    const b = new SupervisedBatches(data, { seed: 9, batchSize: 4, hardNegatives: true });
    const later = b.batch(7); // out of order: no hidden generator state
    expect(a.batch(7)).toEqual(later);
    const first = a.batch(0);
    expect(first.docs.length).toBe(8);
    first.qids.forEach((q, r) => {
      const i = Number(q.slice(1));
      expect(first.docs[r]).toBe(data.docs.get(`d${i}`)); // positive of row r
      expect(first.docs[4 + r]).toBe(data.docs.get(`d${(i + 1) % 10}`)); // its hard negative
      expect(first.expansions![r]).toBe(q === 'q3' ? 'exp three' : first.queries[r]); // no expansion: the query
    });
    // Batches 0..4 cover two epochs of 10 examples: each epoch sees every query once.
    const seen = [0, 1, 2, 3, 4].flatMap((i) => a.batch(i).qids);
    expect(new Set(seen.slice(0, 10)).size).toBe(10);
    expect(new Set(seen.slice(10, 20)).size).toBe(10);
    expect(seen.slice(0, 10)).not.toEqual(seen.slice(10, 20));
    expect(new SupervisedBatches(data, { seed: 10, batchSize: 4, hardNegatives: false }).batch(0).qids).not.toEqual(first.qids);
  });
});

describe('independent cropping (Contriever)', () => {
  it('crops are contiguous spans of 10–50 % of the words (before deletion), seeded', () => {
    const words = Array.from({ length: 100 }, (_, i) => `w${i}`);
    const rng = createRng(1);
    for (let t = 0; t < 50; t++) {
      const crop = randomCrop(words, rng, { ...CROP_DEFAULTS, deleteProb: 0 }).split(' ');
      expect(crop.length).toBeGreaterThanOrEqual(10);
      expect(crop.length).toBeLessThanOrEqual(50);
      const start = Number(crop[0].slice(1));
      crop.forEach((w, k) => expect(w).toBe(`w${start + k}`));
    }
    const o = { seed: 3, batchSize: 3, ...CROP_DEFAULTS };
    const texts = ['a b c d e f', 'g h i j k l m', 'short', 'n o p q r s t u'];
    const c = new CropBatches(texts, o);
    expect(c.size).toBe(3); // 'short' has one word
    expect(c.batch(2)).toEqual(new CropBatches(texts, o).batch(2));
  });
});
