// `expandr eval`: evaluate a retriever on one split of a BEIR folder or zip (DESIGN.md §5).
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import { sourcesFromPath } from '../data/node-sources.ts';
import { loadBeir } from '../data/load.ts';
import { splitQueries } from '../data/qrels.ts';
import { cutDevSplit, DEFAULT_DEV_FRACTION, DEFAULT_DEV_SEED } from '../data/dev-split.ts';
import { BM25_DEFAULTS, buildIndex, searchAndEvaluate, type QueryResult } from '../retrieval/bm25/evaluate.ts';
import { readTrecRun, writeTrecRun } from '../eval/trec-run.ts';
import { evaluate } from '../eval/metrics.ts';
import { significanceLegend, SIGNIFICANCE_TEST, testAgainst } from '../eval/significance-marks.ts';
import { parseCommandArgs } from './args.ts';
import { stderrProgress } from './progress.ts';
import { formatDuration, textTable } from '../util/format.ts';
import { denseEvaluate } from '../retrieval/dense/evaluate.ts';
import { parseExpansions } from '../retrieval/dense/expansions.ts';
import { parseExpansionNorm } from '../retrieval/dense/expanded-query.ts';
import type { BeirDataset } from '../data/load.ts';
import type { Qrels } from '../data/types.ts';
import type { WorkOptions } from '../util/progress.ts';
import { ENCODER_HELP, ENCODER_OPTIONS, setupEncoder, type DenseDeps } from './encoder-setup.ts';
import { DATA_LIMIT_HELP, DATA_LIMIT_OPTIONS, dataLimits } from './data-limits.ts';
import type { ParsedArgs } from './args.ts';

export const EVAL_HELP = `eval       Evaluate a retriever on a BEIR split: metrics table (or JSON) and a TREC run file.

Options:
  --data PATH          BEIR folder or zip (corpus.jsonl[.gz], queries.jsonl, qrels/<split>.tsv)   (required)
  --split NAME         qrels split to evaluate (default test)
  --dev-fraction X     with --split dev (or dev-rest): the dev part cut from --dev-from SPLIT (default train) as
                       train-retriever --dev-fraction X --dev-seed N cut it (dev-rest: the part it trained on)
  --dev-seed N         the seed of that cut (default 42)
  --retriever NAME     bm25 or dense                                                               (default bm25)
  --run FILE           write the TREC run file (qid Q0 docid rank score tag) here
  --k N                hits per query, at most 1000 (default 1000)
  --k1 X --b X         BM25 parameters (default 0.9 / 0.4, Pyserini's BEIR flat settings)
Dense (exact inner-product search; corpus embeddings cached per model, corpus and settings):
${ENCODER_HELP}
  --expansions FILE    JSONL {"id"|"query_id", "expansion"|"text"}: queries become (E(q) + E(e)) / 2 (Eq. 8)
  --expansion-norm V   contriever (normalise q, e and documents; default for normalising encoders) or raw
  --compare RUN        a TREC run file to compare with: its metrics on the same qrels, the paired
                       permutation test's two-sided p-value, the mean difference and a mark per metric
                       (▲ significantly better than RUN, ▼ significantly worse; p < 0.05)
  --rounds N           permutation rounds (default 10000; exact enumeration for ≤ 16 queries)
  --json               print one JSON object as the last line
  --quiet              no progress on stderr
${DATA_LIMIT_HELP}`;

export async function evalCommand(argv: string[], signal: AbortSignal, deps: DenseDeps = {}): Promise<void> {
  const a = parseCommandArgs('eval', argv, {
    data: { type: 'string' },
    split: { type: 'string', default: 'test' },
    'dev-fraction': { type: 'string' },
    'dev-seed': { type: 'string' },
    'dev-from': { type: 'string' },
    retriever: { type: 'string', default: 'bm25' },
    encoder: { type: 'string' },
    expansions: { type: 'string' },
    run: { type: 'string' },
    k: { type: 'string' },
    k1: { type: 'string' },
    b: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    compare: { type: 'string' },
    rounds: { type: 'string' },
    'expansion-norm': { type: 'string' },
    ...ENCODER_OPTIONS,
    ...DATA_LIMIT_OPTIONS,
  });
  const retriever = a.need('retriever');
  if (retriever !== 'bm25' && retriever !== 'dense') {
    throw new UsageError(`eval: unknown --retriever ${retriever}; use bm25 or dense.`);
  }
  const split = a.need('split');
  const params = { k1: a.num('k1', BM25_DEFAULTS.k1), b: a.num('b', BM25_DEFAULTS.b), k: a.int('k', BM25_DEFAULTS.k, 1, 1000) };
  const onProgress = a.flag('quiet') ? undefined : stderrProgress();
  const work = { onProgress, signal };

  const t0 = performance.now();
  const limits = dataLimits(a);
  const data = await loadBeir(await sourcesFromPath(a.need('data'), limits), { ...work, limits });
  const qrels = evalQrels(a, data, split);
  for (const w of data.warnings) console.error(`warning: ${w.message}`);
  const loadMs = performance.now() - t0;
  if (retriever === 'dense') return evalDense(a, data, qrels, split, params.k, loadMs, deps, work);

  const { index, ms: indexMs } = await buildIndex(data.docs, data.docs.length, params, work);
  const queries = splitQueries(data.queries.values(), qrels);
  const r = await searchAndEvaluate(index, queries, qrels, params, work);
  if (a.str('run')) writeFileSync(a.str('run')!, writeTrecRun(r.run, `expandr-bm25-k1=${params.k1}-b=${params.b}`));

  const timings = { loadMs, indexMs, searchMs: r.searchMs, evalMs: r.evalMs };
  report(a, qrels, { dataset: data.name, split, retriever, perQuery: r.perQuery, metrics: r.metrics, params, timings }, {
    header: `${data.name} · ${split} · ${retriever} (k1 ${params.k1}, b ${params.b}) · ${r.perQuery.length} queries`,
    footer: `load ${formatDuration(loadMs / 1000)}, index ${formatDuration(indexMs / 1000)}, search ${formatDuration(r.searchMs / 1000)}`,
  });
}

interface EvalOutcome {
  dataset: string;
  split: string;
  retriever: string;
  perQuery: QueryResult[];
  metrics: Record<string, number>;
  params: object;
  timings: object;
}

/** The qrels of --split, or of the dev part (or the rest) cut from a train split by --dev-fraction. */
function evalQrels(a: ParsedArgs, data: BeirDataset, split: string): Qrels {
  if (a.str('dev-fraction') !== undefined) {
    if (split !== 'dev' && split !== 'dev-rest') throw new UsageError(`eval: --dev-fraction cuts a dev split; use it with --split dev (or dev-rest), not "${split}".`);
    const from = a.str('dev-from') ?? 'train';
    const whole = data.qrels.get(from);
    if (!whole) throw new UsageError(`eval: ${data.name} has no split "${from}" to cut dev from; it has ${[...data.qrels.keys()].join(', ')}.`);
    const cut = cutDevSplit(whole, from, a.num('dev-fraction', DEFAULT_DEV_FRACTION), a.int('dev-seed', DEFAULT_DEV_SEED));
    console.error(`dev: ${cut.record.devQueries} of ${whole.size} "${from}" queries (seed ${cut.record.seed}, key ${cut.record.devKey}); evaluating ${split === 'dev' ? 'them' : `the other ${cut.record.trainQueries}`}.`);
    return split === 'dev' ? cut.dev : cut.train;
  }
  const qrels = data.qrels.get(split);
  if (!qrels) {
    const hint = split === 'dev' ? ' To evaluate a dev part cut from the train split, add --dev-fraction X (and --dev-seed N) as given to train-retriever.' : '';
    throw new UsageError(`eval: ${data.name} has no split "${split}"; it has ${[...data.qrels.keys()].join(', ')}.${hint}`);
  }
  return qrels;
}

/** Prints the metrics (table or JSON), with `--compare`'s baseline and p-values when asked. */
function report(a: ParsedArgs, qrels: Qrels, o: EvalOutcome, text: { header: string; footer: string }): void {
  const compare = a.str('compare') ? compareWith(a.str('compare')!, qrels, o, a.int('rounds', SIGNIFICANCE_TEST.rounds, 1)) : undefined;
  if (a.flag('json')) {
    const { perQuery, metrics, params, timings, ...names } = o;
    console.log(JSON.stringify({ ...names, queries: perQuery.length, ...metrics, params, timings, ...(compare ? { compare } : {}) }));
    return;
  }
  console.log(text.header);
  const names = Object.keys(o.metrics);
  if (compare) {
    const rows = names.map((m) => {
      const c = compare.metrics[m];
      return [m, o.metrics[m].toFixed(4), c.baseline.toFixed(4), c.pValue.toFixed(4), `${c.meanDiff >= 0 ? '+' : ''}${c.meanDiff.toFixed(4)}`, c.mark];
    });
    console.log(textTable(['metric', 'value', 'baseline', 'p', 'diff', 'mark'], rows));
    console.log(`baseline: ${compare.file} (${compare.queries} paired queries). ${significanceLegend(['run'], compare.rounds)}`);
  } else {
    console.log(textTable(['metric', 'value'], names.map((m) => [m, o.metrics[m].toFixed(4)])));
  }
  console.log(text.footer + (a.str('run') ? `; run file: ${a.str('run')}` : ''));
}

function compareWith(file: string, qrels: Qrels, o: EvalOutcome, rounds: number) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`eval: cannot read the --compare run file ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  }
  const baseline = evaluate(qrels, readTrecRun(text, file), { metrics: Object.keys(o.metrics) });
  const ours = new Map(o.perQuery.map((q) => [q.qid, q.metrics]));
  const metrics: Record<string, { baseline: number; pValue: number; meanDiff: number; direction: string; mark: string }> = {};
  let queries = 0;
  for (const [m, t] of Object.entries(testAgainst(ours, baseline.perQuery, 'run', Object.keys(o.metrics), { rounds, seed: SIGNIFICANCE_TEST.seed }))) {
    metrics[m] = { baseline: baseline.mean[m], pValue: t.pValue, meanDiff: t.meanDiff, direction: t.direction, mark: t.mark };
    queries = t.n;
  }
  return { file, rounds, queries, metrics };
}

/** `eval --retriever dense`: the same output as BM25, with the encoder and cache in params and timings. */
async function evalDense(a: ParsedArgs, data: BeirDataset, qrels: Qrels, split: string, k: number, loadMs: number, deps: DenseDeps, work: WorkOptions): Promise<void> {
  const expansionsPath = a.str('expansions');
  const expansions = expansionsPath ? parseExpansions(readFileSync(expansionsPath, 'utf8'), expansionsPath) : undefined;
  const norm = a.str('expansion-norm');
  let expansionNorm;
  try {
    expansionNorm = norm === undefined ? undefined : parseExpansionNorm(norm);
  } catch (e) {
    throw new UsageError(`eval: ${(e as Error).message}`);
  }
  const m = await setupEncoder('eval', a, deps, work);
  const queries = splitQueries(data.queries.values(), qrels);
  let r;
  try {
    r = await denseEvaluate(m.encoder, data.docs, m.sinkFor(data.checksum), queries, qrels, {
      modelHash: m.modelHash,
      corpusChecksum: data.checksum,
      totalDocs: data.docs.length,
      k,
      expansions,
      expansionNorm,
      batchSize: m.batchSize,
      quantizeFrom: m.precision === 'f32' ? undefined : m.sinkFor(data.checksum, 'f32'),
      ...work,
    });
  } finally {
    m.encoder.dispose();
  }
  if (expansions && r.params.expanded < queries.length) {
    console.error(`warning: ${queries.length - r.params.expanded} of ${queries.length} queries have no expansion in ${expansionsPath}; they are scored as plain queries.`);
  }
  const tag = `expandr-dense-${m.name}${expansions ? `-exp-${r.params.expansionNorm}` : ''}`.replace(/\s+/g, '_');
  if (a.str('run')) writeFileSync(a.str('run')!, writeTrecRun(r.run, tag));
  const params = { encoder: m.name, modelHash: m.modelHash, preset: m.preset ?? null, settings: m.encoder.settings, backend: m.backend, embeddingsPrecision: m.precision, expansions: expansionsPath ?? null, ...r.params };
  const timings = { loadMs, modelMs: m.loadMs, ...r.timings };
  const how = expansions ? `, expanded (${r.params.expansionNorm}, ${r.params.expanded} queries)` : '';
  report(a, qrels, { dataset: data.name, split, retriever: 'dense', perQuery: r.perQuery, metrics: r.metrics, params, timings }, {
    header: `${data.name} · ${split} · dense (${m.name}, dim ${r.params.dim}${m.precision === 'f32' ? '' : `, ${m.precision} corpus`}${how}) · ${r.perQuery.length} queries · ${m.backend}`,
    footer:
      `load ${formatDuration(loadMs / 1000)}, model ${formatDuration(m.loadMs / 1000)}, corpus ${r.timings.cacheHit ? 'from cache' : `encoded in ${formatDuration(r.timings.encodeMs / 1000)}`}, ` +
      `queries ${formatDuration(r.timings.queryMs / 1000)}, search ${formatDuration(r.timings.searchMs / 1000)}`,
  });
}
