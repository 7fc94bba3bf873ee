// Where an expanded row's result comes from: each retriever the loop trained on expanded queries (E_1, E_2, …)
// evaluated on the plain queries as well (stage plainEval:NAME:test|dev). Read against its own expanded row,
// the difference is what the expansion does at search time for that retriever; read against FT, it is what
// training on expanded queries did to the retriever itself. Both are paired by query (for several seeds, on each
// query's mean over them), with a permutation test and a bootstrap interval, as every other table. The table's
// cells are results-sections.ts plainRowCells.
import { testAgainst } from '../eval/significance-marks.ts';
import { devMetricsOf, TESTED_METRICS, type SettingEval } from './results.ts';
import { combineSeeds, type SeedStats } from './seeds.ts';
import type { PlainRow } from './types.ts';

export type { PlainRow };

/** One retriever's plain evaluations (combined over its seeds) and the rows it is read against. */
export interface PlainEvals {
  retriever: string;
  versus: string;
  test: SettingEval & { seedStats?: SeedStats };
  expandedTest: SettingEval;
  ftTest?: SettingEval;
  dev?: SettingEval;
  expandedDev?: SettingEval;
  ftDev?: SettingEval;
}

/** One seed's plain evaluations of a retriever, and its expanded row's that they are read against. */
export interface PlainOfSeed {
  versus: string;
  test: SettingEval;
  dev?: SettingEval;
  expandedTest: SettingEval;
  expandedDev?: SettingEval;
}

/** What combinePlain reads of one seed's run (loop.ts): its rows (FT among them) and its retrievers' plain evaluations. */
export interface PlainSeedRun {
  seed: number;
  evals: readonly SettingEval[];
  devEvals: readonly SettingEval[];
  plain: ReadonlyMap<string, PlainOfSeed>;
}

/**
 * Each retriever's plain evaluations over the seeds that trained it, with its expanded row and FT combined over
 * the same seeds (so every pair of a test is one set of seeds), in the first seed's order.
 */
export function combinePlain(seeded: readonly PlainSeedRun[]): PlainEvals[] {
  const out: PlainEvals[] = [];
  for (const [retriever, first] of seeded[0]?.plain ?? []) {
    const runs = seeded.filter((r) => r.plain.has(retriever));
    const over = (pick: (r: PlainSeedRun) => SettingEval | undefined) => {
      const got = runs.map((r) => ({ seed: r.seed, eval: pick(r) }));
      return got.every((g) => g.eval) ? (combineSeeds(got as { seed: number; eval: SettingEval }[]) as SettingEval) : undefined;
    };
    const ft = (r: PlainSeedRun, dev: boolean) => (dev ? r.devEvals : r.evals).find((e) => e.setting === 'FT');
    out.push({
      retriever,
      versus: first.versus,
      test: over((r) => r.plain.get(retriever)!.test)!,
      expandedTest: over((r) => r.plain.get(retriever)!.expandedTest)!,
      ftTest: over((r) => ft(r, false)),
      dev: over((r) => r.plain.get(retriever)!.dev),
      expandedDev: over((r) => r.plain.get(retriever)!.expandedDev),
      ftDev: over((r) => ft(r, true)),
    });
  }
  return out;
}

const perQuery = (e: SettingEval) => new Map(Object.entries(e.perQuery));

/** The four table metrics of a test evaluation (devMetricsOf without the query count, which the test split's rows do not carry). */
function testMetrics(e: SettingEval) {
  const { queries: _queries, ...metrics } = devMetricsOf(e);
  return metrics;
}

/** results.plainRows: each retriever's plain row with its paired tests against its expanded row and FT. */
export function buildPlainRows(evals: readonly PlainEvals[]): PlainRow[] {
  return evals.map((e) => {
    const row: PlainRow = {
      retriever: e.retriever,
      versus: e.versus,
      ...testMetrics(e.test),
      expanded: e.expandedTest.metrics['ndcg@10'],
      vsExpanded: testAgainst(perQuery(e.test), perQuery(e.expandedTest), 'run', TESTED_METRICS),
    };
    if (e.test.scoring) row.scoring = e.test.scoring;
    if (e.test.maxLength !== undefined) row.maxLength = e.test.maxLength;
    if (e.test.encoding) row.encoding = e.test.encoding;
    const stats = e.test.seedStats;
    if (stats) Object.assign(row, { seeds: stats.seeds, sd: stats.sd, perSeed: stats.perSeed });
    if (e.ftTest) {
      row.ft = e.ftTest.metrics['ndcg@10'];
      row.vsFT = testAgainst(perQuery(e.test), perQuery(e.ftTest), 'run', TESTED_METRICS);
    }
    if (e.dev) {
      const dev: NonNullable<PlainRow['dev']> = devMetricsOf(e.dev);
      row.dev = dev;
      if (e.expandedDev) Object.assign(dev, { expanded: e.expandedDev.metrics['ndcg@10'], vsExpanded: testAgainst(perQuery(e.dev), perQuery(e.expandedDev), 'run', TESTED_METRICS) });
      if (e.ftDev) Object.assign(dev, { ft: e.ftDev.metrics['ndcg@10'], vsFT: testAgainst(perQuery(e.dev), perQuery(e.ftDev), 'run', TESTED_METRICS) });
    }
    return row;
  });
}
