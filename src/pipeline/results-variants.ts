// Variants of round 1 tried on dev (config.ts VariantConfig): what the "if ExpandR does not beat FT"
// asks for, each judged on dev against ExpandR after round 1 with the config's own settings (same seed, same
// round-1 retriever), by a paired permutation test over the dev queries. Every variant tried is reported.
import { testAgainst } from '../eval/significance-marks.ts';
import type { VariantConfig } from './config.ts';
import { devMetricsOf, TESTED_METRICS, type SettingEval } from './results.ts';
import type { VariantRow } from './types.ts';

export type { VariantRow };

/** One variant's outcome: its settings, its LLM's name, its DPO pair count and its dev evaluation. */
export interface VariantEval {
  variant: VariantConfig;
  llm: string;
  seed: number;
  pairs?: number;
  dev: SettingEval;
}

const perQuery = (e: SettingEval) => new Map(Object.entries(e.perQuery));

/** Rows of results.variants; `round1Dev`: ExpandR after round 1 on dev with the config's settings (null: not tested). */
export function buildVariantRows(variants: readonly VariantEval[], round1Dev: SettingEval | null): VariantRow[] {
  return variants.map(({ variant, llm, seed, pairs, dev }) => {
    const changes = Object.fromEntries((['candidates', 'dpo', 'rewards'] as const).filter((k) => variant[k] && Object.keys(variant[k]!).length).map((k) => [k, { ...variant[k] }]));
    const row: VariantRow = {
      name: variant.name,
      why: variant.why,
      changes,
      llm,
      seed,
      ...(pairs === undefined ? {} : { pairs }),
      dev: devMetricsOf(dev),
      baseline: 'ExpandR after round 1 (the config’s settings), dev',
    };
    if (round1Dev) {
      row.baselineDev = round1Dev.metrics['ndcg@10'];
      row.vsRound1 = testAgainst(perQuery(dev), perQuery(round1Dev), 'run', TESTED_METRICS);
    }
    return row;
  });
}
