// `expandr eval`: evaluate a retriever on one split of a BEIR folder or zip (DESIGN.md §5).
import { writeFileSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import { sourcesFromPath } from '../data/node-sources.ts';
import { loadBeir } from '../data/load.ts';
import { BM25_DEFAULTS, buildIndex, searchAndEvaluate, splitQueries } from '../app/bm25-eval.ts';
import { writeTrecRun } from '../eval/trec-run.ts';
import { parseCommandArgs } from './args.ts';
import { stderrProgress } from './progress.ts';
import { formatDuration, textTable } from '../util/format.ts';

export const EVAL_HELP = `eval       Evaluate a retriever on a BEIR split: metrics table (or JSON) and a TREC run file.

Options:
  --data PATH          BEIR folder or zip (corpus.jsonl[.gz], queries.jsonl, qrels/<split>.tsv)   (required)
  --split NAME         qrels split to evaluate (default test)
  --retriever NAME     bm25 (dense arrives with the encoder)                                       (default bm25)
  --run FILE           write the TREC run file (qid Q0 docid rank score tag) here
  --k N                hits per query, at most 1000 (default 1000)
  --k1 X --b X         BM25 parameters (default 0.9 / 0.4, Pyserini's BEIR flat settings)
  --json               print one JSON object as the last line
  --quiet              no progress on stderr`;

export async function evalCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const a = parseCommandArgs('eval', argv, {
    data: { type: 'string' },
    split: { type: 'string', default: 'test' },
    retriever: { type: 'string', default: 'bm25' },
    encoder: { type: 'string' },
    expansions: { type: 'string' },
    run: { type: 'string' },
    k: { type: 'string' },
    k1: { type: 'string' },
    b: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  const retriever = a.need('retriever');
  if (retriever !== 'bm25') {
    throw new UsageError(`eval: --retriever ${retriever} is not available in this version; use --retriever bm25.`);
  }
  const split = a.need('split');
  const params = { k1: a.num('k1', BM25_DEFAULTS.k1), b: a.num('b', BM25_DEFAULTS.b), k: a.int('k', BM25_DEFAULTS.k, 1, 1000) };
  const onProgress = a.flag('quiet') ? undefined : stderrProgress();
  const work = { onProgress, signal };

  const t0 = performance.now();
  const data = await loadBeir(await sourcesFromPath(a.need('data')), work);
  const qrels = data.qrels.get(split);
  if (!qrels) {
    throw new UsageError(`eval: ${data.name} has no split "${split}"; it has ${[...data.qrels.keys()].join(', ')}.`);
  }
  for (const w of data.warnings) console.error(`warning: ${w.message}`);
  const loadMs = performance.now() - t0;

  const { index, ms: indexMs } = await buildIndex(data.docs, data.docs.length, params, work);
  const queries = splitQueries(data.queries.values(), qrels);
  const r = await searchAndEvaluate(index, queries, qrels, params, work);
  if (a.str('run')) writeFileSync(a.str('run')!, writeTrecRun(r.run, `expandr-bm25-k1=${params.k1}-b=${params.b}`));

  const timings = { loadMs, indexMs, searchMs: r.searchMs, evalMs: r.evalMs };
  if (a.flag('json')) {
    console.log(JSON.stringify({ dataset: data.name, split, retriever, queries: r.perQuery.length, ...r.metrics, params, timings }));
    return;
  }
  console.log(`${data.name} · ${split} · ${retriever} (k1 ${params.k1}, b ${params.b}) · ${r.perQuery.length} queries`);
  console.log(textTable(['metric', 'value'], Object.entries(r.metrics).map(([m, v]) => [m, v.toFixed(4)])));
  console.log(
    `load ${formatDuration(loadMs / 1000)}, index ${formatDuration(indexMs / 1000)}, search ${formatDuration(r.searchMs / 1000)}` +
      (a.str('run') ? `; run file: ${a.str('run')}` : ''),
  );
}
