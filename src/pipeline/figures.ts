// The figures' data (src/pipeline/figures-data.ts) from a finished (or partly finished) loop, one
// assembly for the runner's figures.json and the page: training curves, expansion length per setting,
// t-SNE of each evaluated setting's query/gold-document pairs, and case views.
import type { BeirDataset } from '../data/load.ts';
import { goldDocOf } from '../data/qrels.ts';
import { flatText } from '../data/types.ts';
import { caseViews, expansionLengths, tsneOf, type FiguresData } from './figures-data.ts';
import type { ExperimentOutcome } from './loop.ts';

/** Figure data of the loop's outcome on `split` (the config's test split); `seed` seeds t-SNE (the config's seed). */
export function figuresOf(outcome: ExperimentOutcome, data: BeirDataset, split: string, seed: number): FiguresData {
  const qrels = data.qrels.get(split) ?? new Map();
  const docs = new Map(data.docs.map((d) => [d.id, flatText(d)]));
  // The case view shows d*, the document the rewards use: the highest-graded relevant one.
  const gold = new Map<string, string>();
  for (const q of outcome.testQueries) {
    const g = goldDocOf(qrels, q.id, (id) => docs.has(id));
    if (g) gold.set(q.id, g);
  }
  return {
    curves: outcome.curves,
    expansionLength: expansionLengths(outcome.expansions),
    // A projection needs two pairs at least; a setting with fewer has no plot (rather than NaN).
    tsne: outcome.evals.filter((e) => e.pairs && e.pairs.qids.length >= 2).map((e) => tsneOf(e.pairs!, seed)),
    cases: caseViews({ queries: new Map(outcome.testQueries.map((q) => [q.id, q.text])), gold, docs, expansions: outcome.expansions, evals: outcome.evals }),
  };
}
