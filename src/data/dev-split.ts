// A dev split cut from a training split (paper §4 tunes nothing on test; neither may we): the train
// split's queries are shuffled with a recorded seed and the first `fraction` of them become dev.
// Hyperparameters, early stopping and checkpoint choice read dev; the rest of the train split trains.
// Datasets that ship a real dev split (e.g. NFCorpus) use it instead (`resolveDevSplit`).
import { ExpandrError } from '../errors.ts';
import { fnv1aHex } from '../util/fnv1a.ts';
import { createRng, shuffleInPlace } from '../util/random.ts';
import type { Qrels } from './types.ts';

/** Share of the train split's queries held out as dev when a dataset has none (about SciFact's 809 → 162). */
export const DEFAULT_DEV_FRACTION = 0.2;
export const DEFAULT_DEV_SEED = 42;

/** What a cut was, recorded in results and training info so that the same split can be rebuilt. */
export interface DevSplitRecord {
  /** 'cut': drawn from `from`; 'dataset': the dataset's own split named `from`. */
  kind: 'cut' | 'dataset';
  from: string;
  fraction: number | null;
  seed: number | null;
  trainQueries: number;
  devQueries: number;
  /** FNV-1a of the sorted dev query ids: two records with the same key hold the same queries. */
  devKey: string;
}

export interface DevSplit {
  train: Qrels;
  dev: Qrels;
  record: DevSplitRecord;
}

/** Restricts `qrels` to the query ids in `ids`, keeping the file order. */
function pick(qrels: Qrels, ids: ReadonlySet<string>): Qrels {
  return new Map([...qrels].filter(([id]) => ids.has(id)));
}

function devKeyOf(dev: Qrels): string {
  return fnv1aHex(JSON.stringify([...dev.keys()].sort()));
}

/**
 * Cuts `fraction` of the queries of `trainQrels` (split `from`) out as dev, seeded: the same qrels,
 * fraction and seed give the same cut in Node and every browser. Both parts keep at least one query.
 */
export function cutDevSplit(trainQrels: Qrels, from: string, fraction = DEFAULT_DEV_FRACTION, seed = DEFAULT_DEV_SEED): DevSplit {
  if (!(fraction > 0 && fraction < 1)) throw new ExpandrError(`The dev fraction must lie strictly between 0 and 1, got ${fraction}.`);
  const ids = [...trainQrels.keys()];
  const nDev = Math.round(ids.length * fraction);
  if (nDev < 1 || nDev >= ids.length) {
    throw new ExpandrError(`Split "${from}" has ${ids.length} judged queries: too few to hold out ${fraction} of them as dev and keep some to train on.`);
  }
  const devIds = new Set(shuffleInPlace([...ids], createRng(seed)).slice(0, nDev));
  const dev = pick(trainQrels, devIds);
  const train = new Map([...trainQrels].filter(([id]) => !devIds.has(id)));
  return { train, dev, record: { kind: 'cut', from, fraction, seed, trainQueries: train.size, devQueries: dev.size, devKey: devKeyOf(dev) } };
}

/**
 * The train and dev parts for a dataset's splits: its own `dev` split when it has one (the train split
 * then trains whole, minus any query that is also judged in dev), else a seeded cut of the train split.
 */
export function resolveDevSplit(splits: ReadonlyMap<string, Qrels>, trainSplit: string, opts: { fraction?: number; seed?: number; devSplit?: string } = {}): DevSplit {
  const trainQrels = splits.get(trainSplit);
  if (!trainQrels) throw new ExpandrError(`The dataset has no split "${trainSplit}"; it has ${[...splits.keys()].join(', ')}.`);
  const devName = opts.devSplit ?? 'dev';
  const own = devName !== trainSplit ? splits.get(devName) : undefined;
  if (own && opts.fraction === undefined) {
    const train = new Map([...trainQrels].filter(([id]) => !own.has(id)));
    return { train, dev: own, record: { kind: 'dataset', from: devName, fraction: null, seed: null, trainQueries: train.size, devQueries: own.size, devKey: devKeyOf(own) } };
  }
  return cutDevSplit(trainQrels, trainSplit, opts.fraction ?? DEFAULT_DEV_FRACTION, opts.seed ?? DEFAULT_DEV_SEED);
}
