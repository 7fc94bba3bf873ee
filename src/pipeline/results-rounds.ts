// ExpandR after each round of several (config.rounds > 1): does a later round add anything? Each earlier
// round gives one row, made and tested exactly as the table's ExpandR row (mean over its seeds; paired tests
// against Raw and FT), plus the paired test of the last round (the table's row) against it.
import { testAgainst } from '../eval/significance-marks.ts';
import { buildRow, devMetricsOf, TESTED_METRICS, type ResultsOptions, type SettingEval } from './results.ts';
import type { RoundRow } from './types.ts';

export type { RoundRow };

/** Evaluations of ExpandR after round `round`, on test and (when there is one) on dev. */
export interface RoundEvals {
  round: number;
  test: SettingEval;
  dev?: SettingEval;
}

const perQuery = (e: SettingEval) => new Map(Object.entries(e.perQuery));

/** One row per earlier round; `table` are the table's evaluations (Raw, FT and the last round's ExpandR among them). */
export function buildRoundRows(table: readonly SettingEval[], rounds: readonly RoundEvals[], opts: ResultsOptions = {}): RoundRow[] {
  const last = table.find((e) => e.setting === 'ExpandR');
  const by = new Map(table.map((e) => [e.setting, e]));
  return rounds.map(({ round, test, dev }) => {
    // Only this row's tests (against the table's baselines), not the whole table's again.
    const row = buildRow({ ...test, setting: 'ExpandR' }, by, opts);
    const out: RoundRow = { ...row, round };
    if (dev) out.dev = devMetricsOf(dev);
    if (last) out.lastVsThis = testAgainst(perQuery(last), perQuery(test), 'run', TESTED_METRICS);
    return out;
  });
}
