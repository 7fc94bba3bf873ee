// The run analysis (analysis.ts) as markdown: one section per heading, tables where there are numbers, a
// line naming the missing file where the run lacks a section's input.
import { isMissing, type Missing } from './analysis-input.ts';
import { CASE_SETTINGS, GOLD_CHARS, type CaseSection, type LengthSection } from './analysis-expansions.ts';
import type { RunAnalysis } from './analysis.ts';
import type { DpoStage } from './analysis-dpo.ts';
import type { GroupStats, PairStats } from './analysis-queries.ts';
import { FILTER_SKIP, type PairLengthStage, type RewardStage } from './analysis-rewards.ts';
import { SUMMARY_QUANTILES, type Bucket, type Summary } from './analysis-stats.ts';
import type { TimingSection } from './analysis-timings.ts';

const num = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
const signed = (x: number) => (!Number.isFinite(x) ? '—' : `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x).toFixed(4)}`);
const secs = (ms: number) => (ms / 1000).toFixed(1);
/** Markdown table cells: pipes escaped, line breaks flattened. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
/**
 * Text quoted from the data or the LLM (queries, passages, expansions, ids), shown as written: what markdown
 * or HTML would read as syntax is backslash-escaped (CommonMark lets any ASCII punctuation be): emphasis,
 * code, link brackets, table pipes, strikethrough, and "<" or "&" only where they would open a tag or an
 * entity, so "P<0.05" stays readable in the file while "<i>" or "&amp;" stay literal on any renderer.
 */
export const quoted = (s: string) => s.replace(/\s*\n\s*/g, ' ').replace(/[\\`*_[\]|~]|<(?=[A-Za-z/!?])|&(?=#?\w+;)/g, '\\$&');

function table(head: string[], rows: string[][], align: ('l' | 'r')[] = head.map((_, i) => (i === 0 ? 'l' : 'r'))): string[] {
  return [`| ${head.join(' | ')} |`, `|${align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

const missing = (m: Missing) => [`_${m.missing}_`];

function lengths(s: LengthSection): string[] {
  return [
    'Words per test-query expansion (whitespace-separated), by the LLM that wrote it; p90 by linear interpolation.',
    '',
    ...table(['LLM', 'used by', 'expansions', 'mean', 'median', 'p90'], s.rows.map((r) => [r.llm, r.settings.join(', ') || '—', String(r.n), num(r.mean, 1), num(r.median, 1), num(r.p90, 1)]), ['l', 'l', 'r', 'r', 'r', 'r']),
    ...s.notes.map((n) => `\n_${n}_`),
  ];
}

const summaryRow = (name: string, s: Summary) => [name, String(s.n), num(s.mean, 3), ...s.quantiles.map((q) => num(q, 3))];
const bucketLabel = (b: Bucket) => (b.lo === -Infinity ? `< ${b.hi}` : b.hi === Infinity ? `≥ ${b.lo}` : `${b.lo} – ${b.hi}`);
const qHead = SUMMARY_QUANTILES.map((q) => (q === 0 ? 'min' : q === 1 ? 'max' : q === 0.5 ? 'median' : `p${Math.round(q * 100)}`));

const skipText = (s: RewardStage) => Object.entries(s.skipped).sort(([, a], [, b]) => b - a).map(([why, n]) => `${why} ${n}`).join(', ') || 'none';

/** One line per stage: what came in, what was dropped and why, what the pairs' rewards look like. */
function rewardOverview(stages: RewardStage[], filter: number): string[] {
  return table(
    ['stage', 'train queries', 'scored', 'pairs', `dropped by the ${filter} filter`, 'other skips', 'mean sum reward', 'first by both terms', 'mean chosen', 'mean rejected'],
    stages.map((s) => {
      const other = Object.entries(s.skipped).filter(([why]) => why !== FILTER_SKIP).map(([why, n]) => `${why} ${n}`).join(', ') || 'none';
      return [s.name, String(s.queries), String(s.scored), String(s.pairs), `${s.filterDropped} (${pct(s.filterShareOfQueries)}; ${pct(s.filterShareOfScored)} of scored)`, other, num(s.sum.mean, 3), `${s.topAgreement} (${pct(s.topAgreement / s.scored)})`, num(s.meanChosenReward, 3), num(s.meanRejectedReward, 3)];
    }),
    ['l', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'r'],
  );
}

function rewardStage(s: RewardStage, filter: number): string[] {
  const h = s.histograms;
  return [
    `### ${s.name}`,
    '',
    `${s.queries} train queries → ${s.pairs} pairs. Skipped: ${skipText(s)}.`,
    '',
    ...table(['over', 'n', 'mean', ...qHead], [
      summaryRow('retriever reward (per candidate)', s.retrieverReward),
      summaryRow('self reward (per candidate)', s.selfReward),
      summaryRow('sum (per candidate)', s.sum),
      summaryRow('chosen − rejected reward (per pair)', s.gap),
      summaryRow('max cos sum (per query)', s.maxCosSum),
    ]),
    '',
    ...table(['sum reward', 'candidates'], h.sum.map((b) => [bucketLabel(b), String(b.count)])),
    '',
    ...table(['max cos sum', 'queries', 'filter'], h.maxCosSum.map((b) => [bucketLabel(b), String(b.count), b.hi <= filter ? 'dropped' : 'kept']), ['l', 'r', 'l']),
    '',
  ];
}

function dpoStage(s: DpoStage): string[] {
  const acc = s.accuracySource !== 'none';
  const head = ['step', 'loss', 'chosen', 'rejected', 'margin', ...(acc ? ['accuracy'] : [])];
  return [
    `### ${s.name}`,
    '',
    `${s.steps} steps. First quarter → last quarter (means): loss ${num(s.start.loss, 4)} → ${num(s.end.loss, 4)}, margin ${num(s.start.margin, 4)} → ${num(s.end.margin, 4)}` +
      (acc ? `, accuracy ${num(s.start.accuracy, 2)} → ${num(s.end.accuracy, 2)} (from ${s.accuracySource === 'checkpoint' ? 'the checkpoint' : 'figures.json'}).` : '; accuracy not recorded.'),
    '',
    ...table(head, s.rows.map((p) => [String(p.step), num(p.loss, 4), num(p.chosenReward ?? NaN, 4), num(p.rejectedReward ?? NaN, 4), num(p.margin ?? NaN, 4), ...(acc ? [num(p.accuracy ?? NaN, 2)] : [])])),
    '',
  ];
}

function pairLengths(stages: PairLengthStage[]): string[] {
  return [
    'Words of the chosen and the rejected candidate of each DPO pair.',
    '',
    ...table(
      ['stage', 'pairs', 'chosen longer', 'chosen shorter', 'equal', 'mean chosen', 'mean rejected', 'mean chosen − rejected'],
      stages.map((s) => [s.name, String(s.pairs), `${s.chosenLonger} (${pct(s.chosenLonger / s.pairs)})`, `${s.chosenShorter} (${pct(s.chosenShorter / s.pairs)})`, `${s.equal} (${pct(s.equal / s.pairs)})`, num(s.meanChosenWords, 1), num(s.meanRejectedWords, 1), num(s.meanDifference, 1)]),
    ),
  ];
}

function queryGains(pairs: PairStats[], notes: string[]): string[] {
  return [
    'Per test query, nDCG@10 of the expanded row minus that of the row it is read against (ties within 1e-9).',
    '',
    ...table(
      ['expanded', 'against', 'queries', 'gain', 'loss', 'tie', 'mean gain (gainers)', 'mean loss (losers)', 'mean difference', 'what differs'],
      pairs.map((p) => [p.expanded, p.plain, String(p.queries), String(p.gain), String(p.loss), String(p.tie), signed(p.meanGain), signed(p.meanLoss), signed(p.meanDiff), p.differs]),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
    '',
    'The same queries by how the row it is read against does on them: missed (nDCG@10 0: only gains are possible), partly, and perfect (1: only losses are possible). Each cell: queries, up / down, mean difference.',
    '',
    ...table(
      ['expanded', 'against', 'missed', 'partly', 'perfect'],
      pairs.map((p) => [p.expanded, p.plain, group(p.byPlain.missed), group(p.byPlain.partly), group(p.byPlain.perfect)]),
      ['l', 'l', 'r', 'r', 'r'],
    ),
    ...notes.map((n) => `\n_${n}_`),
  ];
}

/** "45: 4 up / 0 down, +0.0300". */
const group = (g: GroupStats) => (g.queries ? `${g.queries}: ${g.gain} up / ${g.loss} down, ${signed(g.meanDiff)}` : '0');

function cases(s: CaseSection): string[] {
  const out = [s.how, ...s.notes.map((n) => `\n_${n}_`), ''];
  for (const c of s.cases) {
    out.push(`### Query ${quoted(c.qid)}: ${s.compared[0]} − ${s.compared[1]} ${signed(c.diff)}`, '');
    if (c.query !== undefined) out.push(`**Query.** ${quoted(c.query)}`, '');
    if (c.gold) out.push(`**Gold passage** (${quoted(c.gold.docId)}, first ${GOLD_CHARS} characters). ${quoted(c.gold.text)}`, '');
    out.push(`**Before DPO** (base LLM). ${c.before !== undefined ? quoted(c.before) : '—'}`, '');
    out.push(`**After DPO** (ExpandR's adapter). ${c.after !== undefined ? quoted(c.after) : '—'}`, '');
    out.push(...table([...CASE_SETTINGS], [CASE_SETTINGS.map((k) => num(c.ndcg[k] ?? NaN, 4))], CASE_SETTINGS.map(() => 'r')), '');
  }
  return out;
}

function timings(t: TimingSection): string[] {
  return [
    ...table(['group', 'stages', 'seconds', 'share'], [...t.groups.map((g) => [g.group, String(g.stages), secs(g.ms), pct(g.share)]), ['total', String(t.stages.length), secs(t.totalMs), '100.0%']]),
    '',
    `The sum over stages, each timed by the invocation that finished it.${t.invocationMs !== undefined ? ` The last invocation's wall time (loading included, earlier invocations of a resumed run not): ${secs(t.invocationMs)} s.` : ''}`,
    '',
    ...table(['stage', 'group', 'seconds'], t.stages.map((s) => [s.stage, s.group, secs(s.ms)]), ['l', 'l', 'r']),
  ];
}

/** The analysis as a markdown document headed by `title`. */
export function analysisMarkdown(a: RunAnalysis, title: string): string {
  const section = <T extends object>(heading: string, s: T | Missing, render: (s: T) => string[]) => [`## ${heading}`, '', ...(isMissing(s) ? missing(s) : render(s as T)), ''];
  const out = [`# ${title}`, '', ...a.notes.map((n) => `_${n}_\n`)];
  out.push(...section('1. Expansion length (paper Fig. 5)', a.expansionLength, lengths));
  out.push(
    ...section('2. Rewards, the filter and the skipped queries', a.rewards, (r) => [
      `Per LLM-training stage: the rewards of Eqs. 11–14 over every candidate of the scored queries (retriever reward 1/rank by d*, self reward 1/rank by the answer y), and per query the filter's quantity max_e cos(d*, e) + cos(y, e), dropped below ${r.filter}${r.filterAssumed ? ' (assumed: no config)' : ''}. ` +
        'Each term alone is 1/rank among the candidates, so its spread is fixed by the candidate count (ties aside); "first by both terms" counts the scored queries where one candidate ranks first by d* and by y.',
      '',
      ...rewardOverview(r.stages, r.filter),
      '',
      ...r.stages.flatMap((s) => rewardStage(s, r.filter)),
    ]),
  );
  out.push(
    ...section('3. DPO curves: loss, margin, accuracy', a.dpo, (d) => [
      'Per step: DPO loss, mean implicit rewards β·log(π/π_ref) of chosen and rejected, their margin, and the share of the step\'s pairs with chosen > rejected.',
      ...d.notes.map((n) => `\n_${n}_`),
      '',
      ...d.stages.flatMap(dpoStage),
    ]),
  );
  out.push(...section('4. Chosen against rejected length', a.pairLengths, (p) => pairLengths(p.stages)));
  out.push(...section('5. Per query: the expanded row against the plain one', a.queryGains, (q) => queryGains(q.pairs, q.notes)));
  out.push(...section('6. Case views', a.cases, cases));
  out.push(...section('7. Wall time per stage', a.timings, timings));
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
