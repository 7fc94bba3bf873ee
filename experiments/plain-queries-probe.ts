// The probe of experiments/plain-queries.ts (run that file: it installs tfjs' resolve hook first).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BeirQuery, Qrels } from '../src/data/types.ts';
import { compareByQuery } from '../src/eval/significance.ts';
import { pairStats } from '../src/pipeline/analysis-queries.ts';
import { seededName } from '../src/pipeline/seeds.ts';
import { encoderSet, plainRowsCosine } from '../src/pipeline/stages-retriever.ts';
import { denseEvaluate } from '../src/retrieval/dense/evaluate.ts';
import { openProbeRun, openRunEncoder } from './run-probe.ts';

/** FT evaluated here against the run's own FT row: any difference means the probe does not reproduce the run. */
const SELF_CHECK_ATOL = 1e-12;

/** The probe's record: per trained retriever, its plain test and dev rows against its expanded row and FT of its seed. */
export interface PlainQueryRecord {
  what: string;
  config: string;
  configKey: string;
  dataset: string;
  checksum: string;
  rows: Record<string, unknown>[];
}

/** Evaluates every trained retriever of the run in `runDir` (made from `configFile`) on plain queries. */
export async function plainQueryProbe(configFile: string, runDir: string, log: (line: string) => void = console.log): Promise<PlainQueryRecord> {
  const pr = await openProbeRun(configFile, runDir, 'the plain-query probe');
  const { config, key, data, test, dev, stages } = pr;
  const run = pr.dir;
  const state = { stages };
  const norm = config.encoder.expansionNorm;

  /** The retrievers of each seed and the stored rows each is read against (eval:NAME on test, devEval:NAME on dev). */
  const probes = config.seeds.flatMap((seed) => {
    const s = (n: string) => seededName(n, seed, config.seed);
    // The round-t retriever's expanded row: ExpandR after round t (the table's ExpandR row after the last).
    const rounds = Array.from({ length: config.rounds }, (_, i) => i + 1);
    return [
      { encoder: s('FT'), seed, own: s('FT'), ft: s('FT') },
      ...rounds.map((t) => ({ encoder: s(`round-${t}`), seed, own: s(t === config.rounds ? 'ExpandR' : `ExpandR@round${t}`), ft: s('FT') })),
    ];
  }).filter((p) => existsSync(join(run, encoderSet(p.encoder))) && state.stages[`eval:${p.own}`]);

  const versus = (mine: Map<string, Record<string, number>>, stage: string) => {
    const other = state.stages[stage]?.output;
    if (!other) return null;
    const t = compareByQuery(mine, new Map(Object.entries(other.perQuery)), 'ndcg@10');
    return { stage, 'ndcg@10': other.metrics['ndcg@10'], diff: t.meanDiff, ci95: [t.ci95.lo, t.ci95.hi], p: t.pValue };
  };

  const rows = [];
  for (const p of probes) {
    const { encoder, hash, sink } = await openRunEncoder(pr, p.encoder);
    const row: Record<string, unknown> = { encoder: p.encoder, seed: p.seed };
    try {
      for (const [on, set, kind] of [['test', test, 'eval'], ['dev', dev, 'devEval']] as [string, { queries: BeirQuery[]; qrels: Qrels }, string][]) {
        const r = await denseEvaluate(encoder, data.docs, sink, set.queries, set.qrels, {
          modelHash: hash,
          corpusChecksum: data.checksum,
          totalDocs: data.docs.length,
          expansionNorm: norm,
          cosine: plainRowsCosine(norm),
          batchSize: config.encoder.batchSize,
        });
        const mine = new Map(r.perQuery.map((q) => [q.qid, q.metrics]));
        const own = versus(mine, `${kind}:${p.own}`);
        const ft = versus(mine, `${kind}:${p.ft}`);
        if (p.encoder === p.ft && Math.abs(own!.diff) > SELF_CHECK_ATOL) throw new Error(`${p.encoder} on plain ${on} queries gives ${r.metrics['ndcg@10']}, the run's own row ${own!['ndcg@10']}: the probe does not reproduce the run`);
        // What the expansion does to the queries the retriever misses, answers partly and answers perfectly plain.
        const ndcg = (m: Iterable<[string, Record<string, number>]>) => Object.fromEntries([...m].map(([q, v]) => [q, v['ndcg@10']]));
        const byDifficulty = p.encoder === p.ft ? null : pairStats({ expanded: p.own, plain: `${p.encoder} (plain)`, differs: 'the expansion at search time' }, ndcg(Object.entries(state.stages[`${kind}:${p.own}`].output.perQuery)), ndcg(mine)).byPlain;
        row[on] = { 'ndcg@10': r.metrics['ndcg@10'], 'recall@100': r.metrics['recall@100'], queries: set.queries.length, vsExpandedRow: p.encoder === p.ft ? null : own, vsFT: p.encoder === p.ft ? null : ft, byDifficulty };
        log(`${p.encoder} plain ${on}: nDCG@10 ${r.metrics['ndcg@10'].toFixed(4)}${p.encoder === p.ft ? ' (= the run\'s FT row)' : `; its expanded row ${own!['ndcg@10'].toFixed(4)} (plain − expanded ${own!.diff.toFixed(4)}, p ${own!.p.toPrecision(2)}); FT ${ft!['ndcg@10'].toFixed(4)} (plain − FT ${ft!.diff.toFixed(4)}, p ${ft!.p.toPrecision(2)})`}`);
      }
    } finally {
      encoder.dispose();
    }
    rows.push(row);
  }
  return { what: 'each trained retriever of the run on plain queries, against its expanded row and FT of its seed (nDCG@10; paired permutation test and 95 % bootstrap interval over the queries)', config: configFile, configKey: key, dataset: data.name, checksum: data.checksum, rows };
}
