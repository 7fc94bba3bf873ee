// The results' interval plots (forest plots) as SVG: each row's nDCG@10 difference from FT, and each variant's
// dev difference from ExpandR after round 1, with 95 % bootstrap intervals. The runner writes them beside
// results.md (and `evidence` publishes them); the page shows the same figures under its tables.
import { intervalsSvg } from '../util/figure-svg.ts';
import { intervalsAgainstFt, variantIntervals } from './results-sections.ts';
import type { ExperimentResults } from './types.ts';

export interface ResultFigure {
  /** File name the runner writes. */
  file: string;
  svg: string;
  width: number;
  height: number;
}

export const RESULT_FIGURE_FILES = Object.freeze({ vsFt: 'differences-vs-ft.svg', variants: 'variants-vs-round1.svg' });

/** Each row (and earlier round) against FT on test; null when nothing was tested against FT. */
export function figureAgainstFt(results: ExperimentResults): ResultFigure | null {
  const rows = intervalsAgainstFt(results);
  return rows.length ? { file: RESULT_FIGURE_FILES.vsFt, ...intervalsSvg(rows, { unit: 'nDCG@10 − FT’s, test; 95 % bootstrap interval; filled: p < 0.05' }) } : null;
}

/** Each variant against ExpandR after round 1 on dev; null without variants. */
export function figureOfVariants(results: ExperimentResults): ResultFigure | null {
  const rows = variantIntervals(results.variants);
  return rows.length ? { file: RESULT_FIGURE_FILES.variants, ...intervalsSvg(rows, { unit: 'dev nDCG@10 − ExpandR after round 1’s; 95 % bootstrap interval; filled: p < 0.05' }) } : null;
}

/** The figures a results table has. */
export function resultFigures(results: ExperimentResults): ResultFigure[] {
  return [figureAgainstFt(results), figureOfVariants(results)].filter((f): f is ResultFigure => f !== null);
}
