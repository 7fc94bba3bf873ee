// Where an experiment trains and where it is tested (paper §4: train on one collection, test zero-shot on
// BEIR). The train datasets' train splits are cut into train and dev (src/data/dev-split.ts); several
// train datasets are merged into one with ids namespaced "NAME/ID" (query ids of two datasets can
// collide). Test queries that are also train or dev queries of the same dataset are refused.
import type { BeirDataset } from '../data/load.ts';
import { resolveDevSplit, type DevSplitRecord } from '../data/dev-split.ts';
import type { BeirDoc, BeirQuery, Qrels } from '../data/types.ts';
import { ExpandrError } from '../errors.ts';
import { fnv1aHex } from '../util/fnv1a.ts';

// These types live here, not in types.ts: types.ts imports them (ResultRow.dev, ExperimentResults.sources).

/** One train dataset as results.json records it. */
export interface TrainSourceRecord {
  dataset: string;
  checksum: string;
  split: string;
  /** Queries of the train part (before the config's trainQueries limit). */
  trainQueries: number;
  dev: DevSplitRecord;
  /** "NAME/" when ids were namespaced (several train datasets), else ''. */
  prefix: string;
}

/** Where the numbers come from: the test split, and each train dataset with its dev cut. */
export interface ExperimentSources {
  test: { dataset: string; checksum: string; split: string; queries: number };
  train: TrainSourceRecord[];
  /** Dev queries evaluated per setting (after dev.queries), on the train datasets' corpus. */
  devQueries: number;
}

/** A setting's metrics on the dev split (results.json rows' "dev"). */
export interface DevMetrics {
  'ndcg@10': number;
  'recall@100': number;
  'mrr@10': number;
  'map@100': number;
  queries: number;
}

/** The dev part of the config (config.ts DevSettings), structurally: importing config.ts would close a cycle (config.ts → types.ts → here). */
export interface DevCut {
  fraction: number | null;
  seed: number;
}

export interface TrainSource {
  /** The train corpus and queries (one dataset as is, or several merged and namespaced). */
  data: BeirDataset;
  /** The train part and the dev part of the train split(s), in the merged ids. */
  train: Qrels;
  dev: Qrels;
  records: TrainSourceRecord[];
}

/** The largest number of overlapping ids an error message lists. */
const LISTED_IDS = 10;

/** The train source of `datasets` (each must have split `trainSplit`). */
export function resolveTrainSource(datasets: readonly BeirDataset[], trainSplit: string, dev: DevCut): TrainSource {
  if (datasets.length === 0) throw new ExpandrError('No train dataset given: set "trainData" to a dataset path, or leave it [] to train on "data".');
  const prefixes = namespaces(datasets);
  const parts = datasets.map((d, i) => {
    if (!d.qrels.has(trainSplit)) throw new ExpandrError(`${d.name} has no train split "${trainSplit}"; it has ${[...d.qrels.keys()].join(', ')}. Train on a dataset with one ("trainData"), or set "trainSplit".`);
    const cut = resolveDevSplit(d.qrels, trainSplit, { fraction: dev.fraction ?? undefined, seed: dev.seed });
    const record: TrainSourceRecord = { dataset: d.name, checksum: d.checksum, split: trainSplit, trainQueries: cut.train.size, dev: cut.record, prefix: prefixes[i] };
    return { d, cut, record };
  });
  if (parts.length === 1) {
    const [{ d, cut, record }] = parts;
    return { data: d, train: cut.train, dev: cut.dev, records: [record] };
  }
  const docs: BeirDoc[] = [];
  const queries = new Map<string, BeirQuery>();
  const train: Qrels = new Map();
  const devQrels: Qrels = new Map();
  for (const { d, cut, record } of parts) {
    const p = record.prefix;
    for (const doc of d.docs) docs.push({ ...doc, id: p + doc.id });
    for (const q of d.queries.values()) queries.set(p + q.id, { ...q, id: p + q.id });
    const put = (to: Qrels, from: Qrels) => {
      for (const [qid, judged] of from) to.set(p + qid, new Map([...judged].map(([doc, rel]) => [p + doc, rel])));
    };
    put(train, cut.train);
    put(devQrels, cut.dev);
  }
  const data: BeirDataset = {
    name: datasets.map((d) => d.name).join('+'),
    docs,
    queries,
    qrels: new Map([[trainSplit, train]]),
    splits: {},
    warnings: [],
    checksum: fnv1aHex(datasets.map((d) => d.checksum).join('+')),
    fileSha256: {},
  };
  return { data, train, dev: devQrels, records: parts.map((p) => p.record) };
}

/** "NAME/" per dataset, made unique by an index when two datasets share a name. */
function namespaces(datasets: readonly BeirDataset[]): string[] {
  if (datasets.length === 1) return [''];
  const seen = new Map<string, number>();
  return datasets.map((d) => {
    const n = (seen.get(d.name) ?? 0) + 1;
    seen.set(d.name, n);
    return `${n > 1 ? `${d.name}-${n}` : d.name}/`;
  });
}

/**
 * Refuses a test split that shares query ids with the train or dev part of a train dataset with the same
 * content (checksum): a test query trained or chosen on would make test numbers meaningless.
 */
export function checkNoOverlap(test: BeirDataset, testSplit: string, source: TrainSource): void {
  const testQrels = test.qrels.get(testSplit);
  if (!testQrels) return;
  for (const r of source.records) {
    if (r.checksum !== test.checksum) continue;
    const shared: string[] = [];
    for (const qid of testQrels.keys()) {
      const id = r.prefix + qid;
      if (source.train.has(id) || source.dev.has(id)) shared.push(qid);
    }
    if (shared.length) {
      const listed = shared.slice(0, LISTED_IDS).join(', ') + (shared.length > LISTED_IDS ? `, … (${shared.length} in all)` : '');
      throw new ExpandrError(
        `${test.name}: ${shared.length} query id(s) of the test split "${testSplit}" are also train/dev queries of split "${r.split}" of the same dataset: ${listed}. Test on a split that shares no query with "${r.split}" (set "split" or "trainSplit"), or train on another dataset ("trainData").`,
      );
    }
  }
}

/** The sentence results.md prints under the table: which numbers may be chosen on and which are reported. */
export function sourcesNote(s: ExperimentSources): string {
  const train = s.train
    .map((t) => {
      const dev = t.dev.kind === 'cut' ? `${t.dev.devQueries} queries cut from "${t.dev.from}" (fraction ${t.dev.fraction}, seed ${t.dev.seed}, key ${t.dev.devKey})` : `its own split "${t.dev.from}" (${t.dev.devQueries} queries, key ${t.dev.devKey})`;
      return `${t.dataset} "${t.split}" (${t.trainQueries} queries; dev: ${dev})`;
    })
    .join(' and ');
  return [
    `Trained on ${train}; tested on ${s.test.dataset} "${s.test.split}" (${s.test.queries} queries).`,
    `Choose on dev only: hyperparameters, early stopping and checkpoints may read the dev columns (${s.devQueries} dev queries). The test columns are reported, never chosen on.`,
  ].join(' ');
}
