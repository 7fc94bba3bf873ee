// A small synthetic retrieval task for training tests: each document is about its own topic words, each
// query names two of them, so a trained encoder can learn to match them while a random one cannot.
import type { BeirDoc, BeirQuery, Qrels } from '../../../src/data/types.ts';
import type { BeirDataset } from '../../../src/data/load.ts';
import { createRng } from '../../../src/util/random.ts';

const FILLER = 'the of and study results patients effect increase reduce risk model data analysis shows'.split(' ');
/** Not Lucene English stopwords, so BM25 matches them. */
const COMMON = FILLER.slice(3);

export function syntheticTask(n = 32, seed = 1): { docs: BeirDoc[]; queries: BeirQuery[]; qrels: Qrels } {
  const rng = createRng(seed);
  const topic = (i: number) => [`alpha${i}`, `beta${i}`, `gamma${i}`, `delta${i}`];
  const docs: BeirDoc[] = Array.from({ length: n }, (_, i) => {
    const words = [...topic(i), ...Array.from({ length: 8 }, () => FILLER[rng.int(FILLER.length)])];
    return { id: `d${i}`, title: `topic ${i}`, text: words.sort(() => rng.float() - 0.5).join(' ') };
  });
  const queries: BeirQuery[] = Array.from({ length: n }, (_, i) => ({ id: `q${i}`, text: `what about ${topic(i)[rng.int(4)]} ${topic(i)[rng.int(4)]} ${COMMON[rng.int(COMMON.length)]} ${COMMON[rng.int(COMMON.length)]}` }));
  const qrels: Qrels = new Map(queries.map((q, i) => [q.id, new Map([[`d${i}`, 1]])]));
  return { docs, queries, qrels };
}

/**
 * syntheticTask(16, 3) as a loaded BEIR dataset for the pipeline tests: the first 10 queries judged in
 * 'train', the other 6 in 'test'.
 */
export function syntheticDataset(): BeirDataset {
  const { docs, queries, qrels } = syntheticTask(16, 3);
  return {
    name: 'synthetic', docs, queries: new Map(queries.map((q) => [q.id, q])), qrels: new Map([['train', new Map([...qrels].slice(0, 10))], ['test', new Map([...qrels].slice(10))]]),
    splits: {}, warnings: [], checksum: 'synthetic-16-3', fileSha256: {},
  } as unknown as BeirDataset;
}
