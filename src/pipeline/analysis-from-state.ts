// The analysis' inputs (analysis-input.ts) that a run's state holds: per-query nDCG@10 of every row, of
// ExpandR after each earlier round and of each trained retriever on plain queries, the preference records,
// the DPO curves, the stage times and the test expansions; and the query texts and gold passages from its
// dataset. The runner's `analyze` reads them from run-state.json when the final files are not written
// (src/cli/analyze-command.ts); the page from its stored run (src/app/run-analysis.ts).
import { goldDocOf } from '../data/qrels.ts';
import { flatText, type BeirDoc, type Qrels } from '../data/types.ts';
import type { AnalysisInput } from './analysis-input.ts';
import type { TrainingCurve } from './figures-data.ts';
import { comparableSettings, settingsDone, settingValues, type ValuesConfig } from './run-record.ts';
import type { RunState } from './run-state.ts';
import { parseStageName } from './stages.ts';
import type { PreferenceRecord } from './types.ts';

/** Stage outputs of a kind, by the part of the stage name after the kind. */
function stateOutputs<T>(state: RunState, kind: string): Map<string, T> {
  const out = new Map<string, T>();
  for (const [name, rec] of Object.entries(state.stages)) {
    if (parseStageName(name)?.kind === kind) out.set(name.slice(kind.length + 1), rec.output as T);
  }
  return out;
}

/** A row's nDCG@10 per query (a seeded row: each query's mean over its seeds). */
const ndcgByQuery = (state: RunState, setting: string, config: ValuesConfig) =>
  Object.fromEntries([...settingValues(state, setting, config)!.perQuery].map(([q, m]) => [q, m['ndcg@10']]));

/** ExpandR after each round before the last (stages eval:ExpandR@roundT[@seedS]), as settingValues reads it. */
function earlierRounds(state: RunState): string[] {
  const rounds = Object.keys(state.stages).flatMap((name) => {
    const id = parseStageName(name);
    return id?.kind === 'eval' && id.setting === 'ExpandR' && id.round !== undefined ? [id.round] : [];
  });
  return [...new Set(rounds)].sort((a, b) => a - b).map((r) => `ExpandR@round${r}`);
}

/** The retrievers evaluated on plain queries (stages plainEval:NAME[@seedS]:test), as settingValues names them: plain:NAME. */
function plainRetrievers(state: RunState, config: ValuesConfig): string[] {
  return comparableSettings(state, config).filter((s) => s.startsWith('plain:') && !/@seed\d+$/.test(s));
}

/**
 * Per-query nDCG@10 of the rows a finished run's per-query.json lacks: ExpandR after each earlier round and
 * each trained retriever on plain queries (plain:round-1, …).
 */
export function stateOnlyRows(state: RunState, config: ValuesConfig = {}): Record<string, Record<string, number>> {
  return Object.fromEntries([...earlierRounds(state), ...plainRetrievers(state, config)].map((s) => [s, ndcgByQuery(state, s, config)]));
}

/**
 * Everything the analysis reads that the run state holds (no DPO checkpoints, no dataset texts): every evaluated
 * row's and each earlier round's per-query nDCG@10, the preference records, the DPO curves, the stage times and
 * the test expansions by LLM. A part the state has nothing of is left out.
 */
export function analysisInputFromState(state: RunState, config: (ValuesConfig & AnalysisInput['config']) | undefined): AnalysisInput {
  const input: AnalysisInput = {};
  if (config) input.config = config;
  const perQuery = { ...Object.fromEntries(settingsDone(state).map((s) => [s, ndcgByQuery(state, s, config ?? {})])), ...stateOnlyRows(state, config) };
  if (Object.keys(perQuery).length) input.perQuery = perQuery;
  const prefs = stateOutputs<{ records: PreferenceRecord[] }>(state, 'preferences');
  if (prefs.size) input.preferences = Object.fromEntries([...prefs].map(([n, p]) => [n, p.records]));
  const dpo = stateOutputs<{ curve: TrainingCurve }>(state, 'dpo');
  if (dpo.size) input.curves = [...dpo.values()].map((d) => d.curve);
  input.timings = { stages: Object.fromEntries(Object.entries(state.stages).map(([k, v]) => [k, v.ms])) };
  input.expansions = {};
  for (const [rest, rec] of stateOutputs<Record<string, string>>(state, 'expansions')) if (rest.endsWith(':test')) input.expansions[rest.slice(0, -':test'.length)] = rec;
  return input;
}

/** The test queries' texts and gold passages (d*: the highest-graded judged document the corpus has). */
export function analysisTexts(qids: Iterable<string>, queries: ReadonlyMap<string, { text: string }>, docs: ReadonlyMap<string, BeirDoc>, qrels: Qrels | undefined): Pick<AnalysisInput, 'queries' | 'gold'> {
  const out: Required<Pick<AnalysisInput, 'queries' | 'gold'>> = { queries: {}, gold: {} };
  for (const qid of qids) {
    const q = queries.get(qid);
    if (q) out.queries[qid] = q.text;
    const g = qrels && goldDocOf(qrels, qid, (d) => docs.has(d));
    if (g) out.gold[qid] = { docId: g, text: flatText(docs.get(g)!) };
  }
  return out;
}
