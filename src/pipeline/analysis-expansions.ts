// Run analysis, the expansions: their length per LLM and the settings that used them (paper Fig. 5), and
// the case views (paper Table 10): a few test queries with the gold passage, the expansion before DPO
// (the base LLM's) and after (ExpandR's adapter), and each setting's nDCG@10.
import { ANALYSIS_FILES, inLoopOrder, type AnalysisInput, type Missing } from './analysis-input.ts';
import { mean, quantile, wordCount } from './analysis-stats.ts';
import { expansionLlmOf } from './run-record.ts';
import { SETTING_NAMES } from './types.ts';

/** The rounds of the joint loop: the config's, else the highest round-N among the stored expansions, else 1. */
export function roundsOf(input: AnalysisInput): number {
  if (input.config) return input.config.rounds;
  const seen = Object.keys(input.expansions ?? {}).flatMap((n) => (/^round-(\d+)$/.exec(n) ? [Number(/^round-(\d+)$/.exec(n)![1])] : []));
  return seen.length ? Math.max(...seen) : 1;
}

/** The settings the run has: the config's, else those with per-query values, in table order. */
export function settingsOf(input: AnalysisInput): string[] {
  const have = new Set<string>(input.config?.settings ?? Object.keys(input.perQuery ?? {}));
  return SETTING_NAMES.filter((s) => have.has(s));
}

export interface LengthRow {
  /** 'base' or a DPO adapter's name. */
  llm: string;
  /** The settings evaluated with this LLM's test expansions ([] for an earlier round's adapter). */
  settings: string[];
  n: number;
  mean: number;
  median: number;
  p90: number;
}

export interface LengthSection {
  rows: LengthRow[];
  /** Expanded settings whose expansions the run lacks. */
  notes: string[];
}

/** Words per test expansion, per LLM (base first, then the rounds, then the ablations' adapters). */
export function expansionLengthSection(input: AnalysisInput): LengthSection | Missing {
  const exp = input.expansions ?? {};
  const rounds = roundsOf(input);
  const usedBy = new Map<string, string[]>();
  const notes: string[] = [];
  for (const s of settingsOf(input)) {
    const llm = expansionLlmOf(s, rounds);
    if (!llm) continue;
    if (!exp[llm]) notes.push(`${s}: no test expansions of LLM ${llm} (${ANALYSIS_FILES.expansions.replace('LLM', llm)} missing)`);
    usedBy.set(llm, [...(usedBy.get(llm) ?? []), s]);
  }
  // An earlier round's adapter wrote the test expansions of ExpandR after that round.
  for (let r = 1; r < rounds; r++) if (exp[`round-${r}`] && input.perQuery?.[`ExpandR@round${r}`]) usedBy.set(`round-${r}`, [...(usedBy.get(`round-${r}`) ?? []), `ExpandR@round${r}`]);
  // Another seed's LLM (NAME@seedS) wrote that seed's expansions of the settings NAME wrote, where they run at
  // every seed (config.seededSettings; ExpandR@roundT follows ExpandR); the rest ran at the first seed only.
  const seeded = new Set(input.config?.seededSettings ?? []);
  const isSeeded = (s: string) => seeded.has(s.replace(/@round\d+$/, ''));
  for (const name of Object.keys(exp)) {
    const m = /^(.*)@seed(\d+)$/.exec(name);
    if (m) usedBy.set(name, (usedBy.get(m[1]) ?? []).filter(isSeeded).map((s) => `${s} (seed ${m[2]})`));
  }
  const names = inLoopOrder(Object.keys(exp));
  if (names.length === 0) return { missing: `No test expansions (${ANALYSIS_FILES.expansions}): the run has no expanded setting${notes.length ? ` finished (${notes.join('; ')})` : ''}.` };
  const rows = names.map((llm) => {
    const w = Object.values(exp[llm]).map(wordCount);
    return { llm, settings: usedBy.get(llm) ?? [], n: w.length, mean: mean(w), median: quantile(w, 0.5), p90: quantile(w, 0.9) };
  });
  return { rows, notes };
}

/** Cases shown, and how many of them are the largest gains (the rest the largest losses). */
export const CASE_COUNT = 5;
export const CASE_GAINS = 3;
/** Characters of the gold passage shown. */
export const GOLD_CHARS = 300;
/** Per-query nDCG@10 columns of a case. */
export const CASE_SETTINGS = ['Raw', 'Raw+expansion', 'FT', 'ExpandR'] as const;
/** Differences within this are ties (nDCG@10 from sums of floats). */
export const TIE_TOLERANCE = 1e-9;

export interface CaseRow {
  qid: string;
  /** nDCG@10 of the compared row minus its baseline. */
  diff: number;
  query?: string;
  gold?: { docId: string; text: string };
  /** The base LLM's expansion and the ExpandR adapter's. */
  before?: string;
  after?: string;
  ndcg: Partial<Record<(typeof CASE_SETTINGS)[number], number>>;
}

export interface CaseSection {
  /** The compared rows, e.g. ['ExpandR', 'FT']. */
  compared: [string, string];
  /** How the cases were chosen, in words. */
  how: string;
  cases: CaseRow[];
  notes: string[];
}

/**
 * The `count` queries to show: the `gains` largest gains of a over b and the largest losses for the rest,
 * ties broken by query id; when there are too few gainers or losers the other side fills the places.
 */
export function chooseCases(diffs: ReadonlyMap<string, number>, count = CASE_COUNT, gains = CASE_GAINS): string[] {
  const byQid = (p: string, q: string) => (p < q ? -1 : p > q ? 1 : 0);
  const all = [...diffs.keys()];
  const up = all.filter((q) => diffs.get(q)! > TIE_TOLERANCE).sort((p, q) => diffs.get(q)! - diffs.get(p)! || byQid(p, q));
  const down = all.filter((q) => diffs.get(q)! < -TIE_TOLERANCE).sort((p, q) => diffs.get(p)! - diffs.get(q)! || byQid(p, q));
  const wantUp = Math.min(up.length, Math.max(gains, count - down.length));
  const wantDown = Math.min(down.length, count - wantUp);
  return [...up.slice(0, wantUp), ...down.slice(0, wantDown)];
}

/** The latest ExpandR row the run has: ExpandR, else ExpandR@roundT of the highest earlier round, with its LLM. */
function latestExpandR(input: AnalysisInput): { row: string; llm: string } | undefined {
  const rounds = roundsOf(input);
  if (input.perQuery?.ExpandR) return { row: 'ExpandR', llm: expansionLlmOf('ExpandR', rounds)! };
  for (let r = rounds - 1; r >= 1; r--) if (input.perQuery?.[`ExpandR@round${r}`]) return { row: `ExpandR@round${r}`, llm: `round-${r}` };
  return undefined;
}

/** Five case views of ExpandR (or its latest round so far) against FT; without those rows, Raw+expansion against Raw. */
export function caseSection(input: AnalysisInput): CaseSection | Missing {
  const pq = input.perQuery;
  if (!pq) return { missing: `No per-query values (${ANALYSIS_FILES.perQuery} missing): no case views.` };
  const latest = latestExpandR(input);
  const compared: [string, string] | undefined = latest && pq.FT ? [latest.row, 'FT'] : pq['Raw+expansion'] && pq.Raw ? ['Raw+expansion', 'Raw'] : undefined;
  if (!compared) return { missing: `No case views: ${ANALYSIS_FILES.perQuery} has neither ExpandR and FT nor Raw+expansion and Raw (it has: ${Object.keys(pq).join(', ') || 'none'}).` };
  const [a, b] = compared;
  const diffs = new Map(Object.keys(pq[a]).filter((q) => q in pq[b]).map((q) => [q, pq[a][q] - pq[b][q]]));
  const chosen = chooseCases(diffs);
  const afterLlm = latest?.llm ?? expansionLlmOf('ExpandR', roundsOf(input))!;
  const exp = input.expansions ?? {};
  const notes: string[] = [];
  if (!input.queries || !input.gold) notes.push(`Query texts and gold passages absent (${ANALYSIS_FILES.dataset} not found): give --data.`);
  if (!exp.base) notes.push(`No expansion before DPO: ${ANALYSIS_FILES.expansions.replace('LLM', 'base')} missing.`);
  if (!exp[afterLlm]) notes.push(`No expansion after DPO: ${ANALYSIS_FILES.expansions.replace('LLM', afterLlm)} missing${pq.ExpandR ? '' : ' (the run has no ExpandR row)'}.`);
  const cases = chosen.map((qid) => {
    const gold = input.gold?.[qid];
    const ndcg: CaseRow['ndcg'] = {};
    for (const s of CASE_SETTINGS) if (pq[s]?.[qid] !== undefined) ndcg[s] = pq[s][qid];
    if (latest && latest.row !== 'ExpandR' && pq[latest.row]?.[qid] !== undefined) ndcg.ExpandR = pq[latest.row][qid];
    return {
      qid,
      diff: diffs.get(qid)!,
      ...(input.queries?.[qid] !== undefined && { query: input.queries[qid] }),
      ...(gold && { gold: { docId: gold.docId, text: gold.text.slice(0, GOLD_CHARS) } }),
      ...(exp.base?.[qid] !== undefined && { before: exp.base[qid] }),
      ...(exp[afterLlm]?.[qid] !== undefined && { after: exp[afterLlm][qid] }),
      ndcg,
    };
  });
  const nUp = cases.filter((c) => c.diff > TIE_TOLERANCE).length;
  const how =
    `The ${nUp} test queries where ${a} gains most nDCG@10 over ${b} and the ${cases.length - nUp} where it loses most ` +
    `(${CASE_GAINS} gains and ${CASE_COUNT - CASE_GAINS} losses when there are that many; the other side fills the places; ties by query id), of ${diffs.size} queries both rows evaluated.`;
  return { compared, how, cases, notes };
}
