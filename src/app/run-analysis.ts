// "Why the numbers are what they are" for a run stored in the page: the runner's `expandr analyze`
// (src/pipeline/analysis.ts, rendered by analysis-markdown.ts) over what the page keeps of the run (its
// state, the DPO checkpoints' curves, the dataset's query texts and gold passages), so the page and the
// runner write the same report of the same run.
import { NotFoundError } from '../errors.ts';
import { analyzeRun, type RunAnalysis } from '../pipeline/analysis.ts';
import { analysisInputFromState, analysisTexts } from '../pipeline/analysis-from-state.ts';
import type { DpoPoint } from '../pipeline/analysis-input.ts';
import { analysisMarkdown } from '../pipeline/analysis-markdown.ts';
import type { ExperimentConfig } from '../pipeline/config.ts';
import type { RunState } from '../pipeline/run-state.ts';
import { parseStageName } from '../pipeline/stages.ts';
import type { BeirDoc } from '../data/types.ts';
import type { Store } from '../store/store.ts';
import { storeDpoCheckpointSink } from '../train/dpo-checkpoint.ts';

export interface RunAnalysisReport {
  /** The analysis itself (what `expandr analyze --json` writes). */
  analysis: RunAnalysis;
  /** The report as markdown (what `expandr analyze --out` writes). */
  markdown: string;
  /** A file name for its download. */
  fileName: string;
}

/** The analysis of the run stored under `prefix` (run-artifacts.ts runPrefix) of the dataset; `config`: the run's. */
export async function analyzeStoredRun(store: Store, datasetId: string, prefix: string, config: ExperimentConfig | null): Promise<RunAnalysisReport> {
  const info = await store.getDataset(datasetId);
  if (!info) throw new NotFoundError('The dataset of this run is no longer stored: import it again.');
  const state = await store.getArtifact<RunState>(datasetId, `${prefix}/state`);
  if (!state || !Object.keys(state.stages).length) throw new NotFoundError('This run has no finished stage yet: run a step first, then analyze it.');
  const input = analysisInputFromState(state, config ?? undefined);
  if (!config) input.sourceNotes = ['The run keeps no config (a run made before configs were stored).'];

  // The curve each DPO checkpoint kept (with accuracy per step), as the runner reads checkpoints/dpo-NAME.
  input.dpoCheckpoints = {};
  for (const name of Object.keys(state.stages)) {
    const id = parseStageName(name);
    if (id?.kind !== 'dpo') continue;
    const llm = name.slice('dpo:'.length);
    // A checkpoint removed or damaged: the stage's own curve (without accuracy) still serves; the trainer reports damage.
    const latest = await storeDpoCheckpointSink(store, datasetId, `${prefix}/checkpoints/dpo-${llm}`).latest().catch(() => undefined);
    if (latest?.curve.length) input.dpoCheckpoints[llm] = latest.curve as DpoPoint[];
  }

  // Query texts and gold passages of the queries the rows scored.
  const split = config?.split ?? 'test';
  const qids = [...new Set(Object.values(input.perQuery ?? {}).flatMap((m) => Object.keys(m)))];
  const qrels = info.splits[split] ? await store.getQrels(datasetId, split) : undefined;
  const judged = [...new Set(qids.flatMap((q) => [...(qrels?.get(q)?.keys() ?? [])]))];
  const found = await store.getDocs(datasetId, judged);
  const docs = new Map(found.flatMap((d): [string, BeirDoc][] => (d ? [[d.id, d]] : [])));
  const queries = new Map((await store.getQueries(datasetId)).map((q) => [q.id, q]));
  Object.assign(input, analysisTexts(qids, queries, docs, qrels));

  const title = `Analysis of the ${info.name} run${config ? ` (${config.settings.length} settings, ${config.rounds} round${config.rounds === 1 ? '' : 's'})` : ''}`;
  const stem = `expandr-${info.name.replace(/[^\w.-]+/g, '-')}`;
  const analysis = analyzeRun(input);
  return { analysis, markdown: analysisMarkdown(analysis, title), fileName: `${stem}-analysis.md` };
}
