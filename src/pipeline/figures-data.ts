// Data behind the figures (paper Fig. 2, Fig. 5, Table 10 and the training curves): plain JSON the app
// plots and the runner writes to figures.json.
//  - curves: retriever InfoNCE loss and DPO loss / implicit rewards / margin per step, per trained stage;
//  - expansion length: mean and distribution of words per expansion, per setting (Fig. 5);
//  - t-SNE: 10 query/gold-document pairs per setting, their vectors as scored, projected to 2-D
//    (@saehrimnir/druidjs TSNE, seeded) — close pairs mean the query lands near its document (Fig. 2);
//  - case view: query, gold passage, each setting's expansion, the terms it shares with the passage
//    under the BM25 analyzer, per-query nDCG@10 per setting (Table 10).
import { TSNE } from '@saehrimnir/druidjs';
import { analyzeEnglish } from '../retrieval/analysis/english-analyzer.ts';
import type { SettingEval } from './results.ts';
import type { SettingName } from './types.ts';

export interface CurvePoint {
  step: number;
  loss: number;
  /** DPO only: mean implicit rewards β·log-ratio of chosen and rejected, and their margin. */
  chosenReward?: number;
  rejectedReward?: number;
  margin?: number;
  /** DPO only: share of the step's pairs whose chosen reward is above the rejected one. */
  accuracy?: number;
}

export interface TrainingCurve {
  stage: string;
  kind: 'retriever' | 'dpo';
  points: CurvePoint[];
}

/** Vectors of the t-SNE sample as one setting scores them (stored with the setting's evaluation). */
export interface PairVectors {
  setting: SettingName;
  qids: string[];
  /** Query vectors (expanded when the setting expands) and gold-document vectors, one row per qid. */
  queries: number[][];
  docs: number[][];
}

export interface TsnePoint {
  qid: string;
  kind: 'query' | 'doc';
  x: number;
  y: number;
}

export interface CaseView {
  qid: string;
  query: string;
  goldDocId: string;
  goldPassage: string;
  expansions: { setting: SettingName; text: string; sharedTerms: string[] }[];
  ndcg: Partial<Record<SettingName, number>>;
}

export interface FiguresData {
  curves: TrainingCurve[];
  expansionLength: { setting: SettingName; mean: number; median: number; words: number[] }[];
  tsne: { setting: SettingName; points: TsnePoint[]; meanPairDistance: number }[];
  cases: CaseView[];
}

export const TSNE_PAIRS = 10;
/** Perplexity must stay below the 20 points of one setting's projection. */
export const TSNE_PERPLEXITY = 5;

const words = (t: string) => (t.trim() ? t.trim().split(/\s+/).length : 0);

export function expansionLengths(bySetting: ReadonlyMap<SettingName, ReadonlyMap<string, string>>): FiguresData['expansionLength'] {
  return [...bySetting].map(([setting, m]) => {
    const w = [...m.values()].map(words);
    const sorted = [...w].sort((a, b) => a - b);
    const median = sorted.length ? (sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2) : NaN;
    return { setting, mean: w.length ? w.reduce((a, b) => a + b, 0) / w.length : NaN, median, words: w };
  });
}

/** 2-D t-SNE of one setting's pairs (queries then docs), seeded; plus the mean query–doc distance in the plot. */
export function tsneOf(pairs: PairVectors, seed = 42): FiguresData['tsne'][number] {
  const n = pairs.qids.length;
  if (n < 2) return { setting: pairs.setting, points: [], meanPairDistance: NaN };
  const X = [...pairs.queries, ...pairs.docs];
  const Y = TSNE.transform(X, { d: 2, perplexity: Math.min(TSNE_PERPLEXITY, Math.floor((2 * n - 1) / 3)), seed }) as unknown as number[][];
  const points: TsnePoint[] = Y.map((v, i) => ({ qid: pairs.qids[i % n], kind: i < n ? 'query' : 'doc', x: v[0], y: v[1] }));
  let dist = 0;
  for (let i = 0; i < n; i++) dist += Math.hypot(Y[i][0] - Y[i + n][0], Y[i][1] - Y[i + n][1]);
  return { setting: pairs.setting, points, meanPairDistance: dist / n };
}

/** Terms of `text` that also occur in `passage`, after the BM25 analyzer (stemmed, stop words out), in text order. */
export function sharedTerms(text: string, passage: string): string[] {
  const inPassage = new Set(analyzeEnglish(passage));
  return [...new Set(analyzeEnglish(text))].filter((t) => inPassage.has(t));
}

export interface CaseInput {
  queries: ReadonlyMap<string, string>;
  /** qid → gold doc id (the highest-graded relevant one, goldDocOf in src/data/qrels.ts). */
  gold: ReadonlyMap<string, string>;
  docs: ReadonlyMap<string, string>;
  expansions: ReadonlyMap<SettingName, ReadonlyMap<string, string>>;
  evals: readonly SettingEval[];
}

/**
 * Case views of `count` queries: those where ExpandR gains most over Raw+expansion (else over Raw),
 * ties broken by query id, so the view shows what the training changed.
 */
export function caseViews(input: CaseInput, count = 5): CaseView[] {
  const ev = new Map(input.evals.map((e) => [e.setting, e]));
  const a = ev.get('ExpandR');
  const b = ev.get('Raw+expansion') ?? ev.get('Raw');
  const qids = [...input.gold.keys()].filter((q) => input.queries.has(q));
  const gain = (q: string) => (a && b ? (a.perQuery[q]?.['ndcg@10'] ?? 0) - (b.perQuery[q]?.['ndcg@10'] ?? 0) : 0);
  qids.sort((p, q) => gain(q) - gain(p) || (p < q ? -1 : p > q ? 1 : 0));
  return qids.slice(0, count).map((qid) => {
    const goldDocId = input.gold.get(qid)!;
    const goldPassage = input.docs.get(goldDocId) ?? '';
    const expansions = [...input.expansions]
      .filter(([, m]) => m.has(qid))
      .map(([setting, m]) => ({ setting, text: m.get(qid)!, sharedTerms: sharedTerms(m.get(qid)!, goldPassage) }));
    const ndcg: CaseView['ndcg'] = {};
    for (const e of input.evals) if (e.perQuery[qid]) ndcg[e.setting] = e.perQuery[qid]['ndcg@10'];
    return { qid, query: input.queries.get(qid)!, goldDocId, goldPassage, expansions, ndcg };
  });
}
