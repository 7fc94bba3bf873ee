// The figures' data (src/pipeline/figures-data.ts) from a finished (or partly finished) loop: training
// curves, expansion length per setting, t-SNE of each evaluated setting's 10 query/document pairs, and
// case views. Plain core code, shared by the worker and Node tests.
import { flatText } from '../data/types.ts';
import type { BeirDataset } from '../data/load.ts';
import { caseViews, expansionLengths, tsneOf, type FiguresData } from '../pipeline/figures-data.ts';
import type { ExperimentOutcome } from '../pipeline/loop.ts';
import type { SettingEval } from '../pipeline/results.ts';

export function figuresOf(o: ExperimentOutcome, data: BeirDataset, split: string, seed = 42): FiguresData {
  const qrels = data.qrels.get(split) ?? new Map();
  const docs = new Map(data.docs.map((d) => [d.id, flatText(d)]));
  const gold = new Map<string, string>();
  for (const q of o.testQueries) {
    const g = [...(qrels.get(q.id) ?? [])].find(([id, rel]) => rel > 0 && docs.has(id));
    if (g) gold.set(q.id, g[0]);
  }
  return {
    curves: o.curves,
    expansionLength: expansionLengths(o.expansions),
    tsne: o.evals.filter((e) => e.pairs && e.pairs.qids.length >= 2).map((e) => tsneOf(e.pairs!, seed)),
    cases: caseViews({
      queries: new Map(o.testQueries.map((q) => [q.id, q.text])),
      gold,
      docs,
      expansions: o.expansions,
      evals: o.evals as SettingEval[],
    }),
  };
}
