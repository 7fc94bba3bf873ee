// Run analysis, per query: each expanded row against the row it is read against (the same encoder's plain
// queries where the run has it, else the nearest plain row), counting the queries whose nDCG@10 goes up,
// down or stays, with the mean gain among the gainers and the mean loss among the losers. The mean of
// the per-query differences is the difference of the two rows' nDCG@10 over the queries both evaluated.
import { ANALYSIS_FILES, type AnalysisInput, type Missing } from './analysis-input.ts';
import { roundsOf, TIE_TOLERANCE } from './analysis-expansions.ts';
import { mean } from './analysis-stats.ts';

export interface QueryPair {
  /** The expanded row and the row it is compared with. */
  expanded: string;
  plain: string;
  /** What differs between the two, in words (the rows of loop.ts). */
  differs: string;
}

/** The comparisons, in the order the table prints them (`rounds`: E_R of ExpandR is E_1 only with one round). */
export function queryPairs(rounds: number): QueryPair[] {
  const er = rounds === 1 ? 'the same encoder E_1' : `the encoders differ (E_${rounds} vs E_1)`;
  return [
    { expanded: 'Raw+expansion', plain: 'Raw', differs: "the base LLM's expansion; the same encoder E_0" },
    { expanded: 'w/o retriever training', plain: 'Raw', differs: "an expansion by an LLM DPO-trained on E_0's rewards; the same encoder E_0" },
    { expanded: 'w/o LLM training', plain: 'FT', differs: "the base LLM's expansion and E_1 (trained on expanded queries) vs FT (trained on plain ones)" },
    { expanded: 'ExpandR', plain: 'FT', differs: `ExpandR's expansion and E_${rounds} vs FT (trained on plain queries)` },
    { expanded: 'ExpandR', plain: `plain:round-${rounds}`, differs: `ExpandR's expansion at search time; the same encoder E_${rounds} on the plain query` },
    { expanded: 'w/o LLM training', plain: 'plain:round-1', differs: "the base LLM's expansion at search time; the same encoder E_1 on the plain query" },
    { expanded: 'w/o retriever training', plain: 'Raw+expansion', differs: "DPO-trained vs the base LLM's expansion; the same encoder E_0" },
    { expanded: 'ExpandR', plain: 'w/o LLM training', differs: `DPO-trained vs the base LLM's expansion; ${er}` },
    { expanded: 'w/o self-reward', plain: 'w/o LLM training', differs: "DPO on the retriever reward only vs the base LLM's expansion; the same encoder E_1" },
    { expanded: 'w/o retriever reward', plain: 'w/o LLM training', differs: "DPO on the self reward only vs the base LLM's expansion; the same encoder E_1" },
    ...Array.from({ length: rounds - 1 }, (_, i) => i + 1).flatMap((r) => [
      { expanded: `ExpandR@round${r}`, plain: 'FT', differs: `ExpandR after round ${r}: the round-${r} LLM's expansion and E_${r} vs FT` },
      { expanded: `ExpandR@round${r}`, plain: `plain:round-${r}`, differs: `the round-${r} LLM's expansion at search time; the same encoder E_${r} on the plain query` },
      { expanded: `ExpandR@round${r}`, plain: 'Raw+expansion', differs: `the round-${r} LLM's expansion and E_${r} vs the base LLM's expansion and E_0` },
      ...(r === 1 ? [{ expanded: 'ExpandR@round1', plain: 'w/o LLM training', differs: "DPO-trained (round 1) vs the base LLM's expansion; the same encoder E_1" }] : []),
    ]),
  ];
}

/** The queries of one group (by the plain row's nDCG@10): how many, how many gain and lose, the mean change. */
export interface GroupStats {
  queries: number;
  gain: number;
  loss: number;
  meanDiff: number;
}

export interface PairStats extends QueryPair {
  queries: number;
  gain: number;
  loss: number;
  tie: number;
  /** Mean difference among the queries that gain (positive) and among those that lose (negative); NaN without any. */
  meanGain: number;
  meanLoss: number;
  /** Mean of expanded − plain over all shared queries. */
  meanDiff: number;
  /**
   * The same split by how the plain row does on the query: missed (nDCG@10 0), partly (between), perfect (1).
   * A strong plain row has more perfect queries to lose than missed ones to gain (Weller et al. 2023).
   */
  byPlain: { missed: GroupStats; partly: GroupStats; perfect: GroupStats };
}

function groupStats(d: readonly number[]): GroupStats {
  return { queries: d.length, gain: d.filter((x) => x > TIE_TOLERANCE).length, loss: d.filter((x) => x < -TIE_TOLERANCE).length, meanDiff: mean(d) };
}

export function pairStats(pair: QueryPair, expanded: Readonly<Record<string, number>>, plain: Readonly<Record<string, number>>): PairStats {
  const shared = Object.keys(expanded).filter((q) => q in plain);
  const d = shared.map((q) => expanded[q] - plain[q]);
  const up = d.filter((x) => x > TIE_TOLERANCE);
  const down = d.filter((x) => x < -TIE_TOLERANCE);
  const where = (has: (x: number) => boolean) => groupStats(shared.flatMap((q, i) => (has(plain[q]) ? [d[i]] : [])));
  const byPlain = { missed: where((x) => x <= TIE_TOLERANCE), partly: where((x) => x > TIE_TOLERANCE && x < 1 - TIE_TOLERANCE), perfect: where((x) => x >= 1 - TIE_TOLERANCE) };
  return { ...pair, queries: d.length, gain: up.length, loss: down.length, tie: d.length - up.length - down.length, meanGain: mean(up), meanLoss: mean(down), meanDiff: mean(d), byPlain };
}

/** Section 5: the comparisons whose two rows per-query.json holds; the others are named as missing. */
export function queryGainSection(input: AnalysisInput): { pairs: PairStats[]; notes: string[] } | Missing {
  const pq = input.perQuery;
  if (!pq) return { missing: `No per-query values (${ANALYSIS_FILES.perQuery} missing).` };
  const pairs: PairStats[] = [];
  const absent: string[] = [];
  for (const p of queryPairs(roundsOf(input))) {
    if (pq[p.expanded] && pq[p.plain]) pairs.push(pairStats(p, pq[p.expanded], pq[p.plain]));
    else absent.push(`${p.expanded} vs ${p.plain}`);
  }
  if (pairs.length === 0) return { missing: `No expanded row with its plain row in ${ANALYSIS_FILES.perQuery} (it has: ${Object.keys(pq).join(', ') || 'none'}).` };
  const notes = absent.length ? [`Not in this run (a row missing from ${ANALYSIS_FILES.perQuery}): ${absent.join('; ')}.`] : [];
  return { pairs, notes };
}
