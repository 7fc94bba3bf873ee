// The probe of experiments/expansion-weight.ts (run that file: it installs tfjs' resolve hook first).
//
// Eq. 8 gives the query and its expansion equal weight. Is there any weight at which SmolLM2's expansions help
// the retrievers ExpandR trained? For each round retriever E_t of each seed, with the expansions its ExpandR row
// was evaluated with (LLM_t's), the query vector is w·q̂ + (1 − w)·ê (unit vectors, as 'contriever' makes them;
// w 0.5 is Eq. 8, w 1 the plain query) for w on a grid; the weight is chosen on dev and read on test. A diagnostic,
// not a change of the method: it says whether the expansions carry signal the retriever can use at all.
import type { BeirQuery, Qrels } from '../src/data/types.ts';
import { evaluate, STANDARD_METRICS } from '../src/eval/metrics.ts';
import { compareByQuery } from '../src/eval/significance.ts';
import { seededName } from '../src/pipeline/seeds.ts';
import { normalizeRows } from '../src/retrieval/dense/expanded-query.ts';
import { denseCorpusFromStore, searchDense, type DenseCorpus } from '../src/retrieval/dense/search.ts';
import { openProbeRun, openRunEncoder, type ProbeRun } from './run-probe.ts';

/** Weights of the query on the grid: 0 (the expansion alone) … 0.5 (Eq. 8) … 1 (the plain query). */
export const QUERY_WEIGHTS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;
/** The probe's w 0.5 and w 1 against the run's own rows (the same vectors up to a factor 2, the same search): equal. */
const SELF_CHECK_ATOL = 1e-12;

type PerQuery = Map<string, Record<string, number>>;

/** nDCG@10 of `queries` searched with w·q̂ + (1 − w)·ê, for each w of the grid. */
async function sweep(corpus: DenseCorpus, qn: Float32Array, en: Float32Array, queries: BeirQuery[], qrels: Qrels): Promise<PerQuery[]> {
  const out: PerQuery[] = [];
  for (const w of QUERY_WEIGHTS) {
    const v = new Float32Array(qn.length);
    for (let i = 0; i < v.length; i++) v[i] = w * qn[i] + (1 - w) * en[i];
    const run = await searchDense(corpus, queries.map((q) => q.id), v, { normalizeDocs: true });
    out.push(evaluate(qrels, run, { metrics: STANDARD_METRICS }).perQuery as PerQuery);
  }
  return out;
}

const mean = (pq: PerQuery) => [...pq.values()].reduce((s, m) => s + m['ndcg@10'], 0) / pq.size;

/** One retriever's sweep on dev and test, the dev-chosen weight, and the checks against the run's own rows. */
async function probeRetriever(pr: ProbeRun, encoderName: string, llm: string, expandedRow: string, log: (line: string) => void) {
  const { encoder, sink } = await openRunEncoder(pr, encoderName);
  try {
    const corpus = await denseCorpusFromStore(sink);
    const curves: Record<string, PerQuery[]> = {};
    for (const [on, set] of [['dev', pr.dev], ['test', pr.test]] as const) {
      const expansions = pr.stages[`expansions:${llm}:${on}`].output as unknown as Record<string, string>;
      const missing = set.queries.filter((q) => !(q.id in expansions)).length;
      if (missing) throw new Error(`${llm}'s ${on} expansions lack ${missing} queries: the sweep needs one per query`);
      const qn = normalizeRows(await encoder.encode(set.queries.map((q) => q.text), 'query'), encoder.dim);
      const en = normalizeRows(await encoder.encode(set.queries.map((q) => expansions[q.id]), 'query'), encoder.dim);
      curves[on] = await sweep(corpus, qn, en, set.queries, set.qrels);
      // w 0.5 is the run's expanded row, w 1 its plain-query row: the probe reproduces both or stops.
      for (const [w, stage] of [[0.5, `${on === 'dev' ? 'devEval' : 'eval'}:${expandedRow}`], [1, `plainEval:${encoderName}:${on}`]] as const) {
        const mine = mean(curves[on][QUERY_WEIGHTS.indexOf(w)]);
        const theirs = pr.stages[stage]?.output.metrics['ndcg@10'];
        if (theirs === undefined || Math.abs(mine - theirs) > SELF_CHECK_ATOL) throw new Error(`${encoderName} at w ${w} on ${on}: nDCG@10 ${mine}, the run's ${stage} ${theirs}: the probe does not reproduce the run`);
      }
    }
    const devCurve = curves.dev.map(mean);
    const best = devCurve.indexOf(Math.max(...devCurve));
    const eq8 = QUERY_WEIGHTS.indexOf(0.5);
    const t = compareByQuery(curves.test[best], curves.test[eq8], 'ndcg@10');
    const plain = compareByQuery(curves.test[best], curves.test[QUERY_WEIGHTS.length - 1], 'ndcg@10');
    const row = {
      retriever: encoderName,
      expansions: llm,
      expandedRow,
      dev: Object.fromEntries(QUERY_WEIGHTS.map((w, i) => [w.toFixed(1), devCurve[i]])),
      test: Object.fromEntries(QUERY_WEIGHTS.map((w, i) => [w.toFixed(1), mean(curves.test[i])])),
      chosenOnDev: QUERY_WEIGHTS[best],
      testAtChosen: { 'ndcg@10': mean(curves.test[best]), minusEq8: { diff: t.meanDiff, ci95: [t.ci95.lo, t.ci95.hi], p: t.pValue }, minusPlain: { diff: plain.meanDiff, ci95: [plain.ci95.lo, plain.ci95.hi], p: plain.pValue } },
    };
    log(`${encoderName} (${llm}'s expansions): dev nDCG@10 by query weight ${devCurve.map((x) => x.toFixed(4)).join(' ')}; chosen w ${QUERY_WEIGHTS[best]}, test ${row.testAtChosen['ndcg@10'].toFixed(4)} (Eq. 8 ${mean(curves.test[eq8]).toFixed(4)}, plain ${mean(curves.test[QUERY_WEIGHTS.length - 1]).toFixed(4)})`);
    return row;
  } finally {
    encoder.dispose();
  }
}

/** The sweep for every round retriever of every seed the run in `runDir` has evaluated on plain queries. */
export async function expansionWeightProbe(configFile: string, runDir: string, log: (line: string) => void = console.log) {
  const pr = await openProbeRun(configFile, runDir, 'the expansion-weight probe');
  const rows = [];
  for (const seed of pr.config.seeds) {
    for (let t = 1; t <= pr.config.rounds; t++) {
      const s = (n: string) => seededName(n, seed, pr.config.seed);
      const encoderName = s(`round-${t}`);
      const expandedRow = s(t === pr.config.rounds ? 'ExpandR' : `ExpandR@round${t}`);
      if (!pr.stages[`plainEval:${encoderName}:dev`] || !pr.stages[`eval:${expandedRow}`]) continue; // not run (yet)
      rows.push({ seed, ...(await probeRetriever(pr, encoderName, encoderName, expandedRow, log)) });
    }
  }
  return {
    what: "each round retriever with its ExpandR row's expansions, the query vector w·q̂ + (1 − w)·ê for w on a grid (0.5: Eq. 8; 1: the plain query); w chosen on dev, read on test against Eq. 8 and the plain query (paired permutation test, 95 % bootstrap interval)",
    config: configFile,
    configKey: pr.key,
    dataset: pr.data.name,
    checksum: pr.data.checksum,
    weights: QUERY_WEIGHTS,
    rows,
  };
}
