// `expandr runs`: the runs kept on disk, listed by their manifests (run.json: content key, models,
// dataset, config, status), and `runs compare`: any setting of one run against any setting of another on
// the queries both evaluated: the paired permutation test, the per-query differences sorted by change
// and a case view of the queries that moved most (src/eval/compare-runs.ts, as the page does).
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { sourcesFromPath } from '../data/node-sources.ts';
import { loadBeir, type BeirDataset } from '../data/load.ts';
import { flatText } from '../data/types.ts';
import { goldDocOf } from '../data/qrels.ts';
import { intervalText } from '../eval/bootstrap.ts';
import { caseRows, compareSides, type CaseLookup, type CaseRow, type RunComparison } from '../eval/compare-runs.ts';
import { textTable } from '../util/format.ts';
import { runResultsText } from './runs-results.ts';
import { DEFAULT_RUN_ROOTS, findRuns, resolveRun, runRow, runSide, type FoundRun } from './run-folders.ts';

export const RUNS_HELP = `runs       List the stored runs (key, models, dataset, settings, status), or compare two settings of two runs.

Usage:
  runs [--root DIR]... [--json]
  runs compare RUN_A:SETTING RUN_B:SETTING [--dev] [--metric ndcg@10] [--top 10] [--cases 3] [--data DIR] [--root DIR]... [--json]
  runs results RUN [--root DIR]... [--json]

RUN is a run folder, a key (or its first hex digits, as listed) or a folder name under the roots; SETTING is
a row of its results (BM25, Raw, Raw+expansion, FT, ExpandR, "w/o LLM training", …; quote names with spaces);
ExpandR@roundT is ExpandR after an earlier round, and SETTING@seedS one seed of a row run at several seeds
(without it, each query's mean over the seeds, as the table); with --dev, ExpandR@round1@variant-… is a variant
of round 1 (its stage names it), never mixed into round 1's own row; plain:NAME is retriever NAME (round-1,
round-2, …) on the plain queries.
The test is two-sided, paired on the query ids both runs evaluated (their count is printed), of B against A.
\`runs results\` prints a run's results table (results.md; results.json's content with --json) rebuilt from the
stages it has stored, as the page shows a run stopped midway: the rows so far, seeded rows over the seeds they have.

Options:
  --root DIR     where to look for runs (repeatable; default experiments/ and .cache/runs/)
  --dev          compare the dev evaluations (the queries cut from the train split: where choices are made) instead of test
  --metric M     per-query metric to compare (default ndcg@10; folders without run-state.json have only ndcg@10)
  --top N        rows of the per-query difference table, most moved first (default 10; 0: all)
  --cases N      queries in the case view (default 3): query, gold passage, both expansions, both values
  --data DIR     the BEIR dataset for query texts and gold passages (default: the one run A's or else B's config names, if present)
  --json         print one JSON object as the last line`;

const DEFAULT_TOP = 10;
const DEFAULT_CASES = 3;
/** Characters of a gold passage or expansion shown in the text case view. */
const CASE_TEXT_CHARS = 400;
const fmt = (x: number) => x.toFixed(4);
const signed = (x: number) => (x > 0 ? '+' : x < 0 ? '−' : '±') + Math.abs(x).toFixed(4);

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        root: { type: 'string', multiple: true },
        metric: { type: 'string' },
        top: { type: 'string' },
        cases: { type: 'string' },
        data: { type: 'string' },
        json: { type: 'boolean' },
        dev: { type: 'boolean' },
      },
    });
  } catch (e) {
    throw new UsageError(`runs: ${(e as Error).message}. Run \`npm run -s expandr -- help runs\` for the options.`);
  }
}

function count(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`runs: --${name} must be a whole number ≥ 0, got "${v}".`);
  return n;
}

export async function runsCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv);
  const roots = values.root?.length ? values.root.map((r) => resolve(r)) : DEFAULT_RUN_ROOTS;
  const [sub, ...rest] = positionals;
  if (sub === undefined) return listRuns(roots, !!values.json);
  if (sub === 'results') {
    if (rest.length !== 1) throw new UsageError('runs results: give one RUN (a folder, a key prefix or a folder name from `expandr runs`).');
    console.log(runResultsText(resolveRun(rest[0], roots), !!values.json));
    return;
  }
  if (sub !== 'compare') throw new UsageError(`runs: unknown subcommand "${sub}" (known: compare, results). Run \`npm run -s expandr -- help runs\`.`);
  if (rest.length !== 2) throw new UsageError('runs compare: give two RUN:SETTING arguments, e.g. `runs compare exp-a:Raw exp-b:FT`.');
  await compareRuns(rest as [string, string], roots, {
    metric: values.metric ?? 'ndcg@10',
    top: count(values.top, 'top', DEFAULT_TOP),
    cases: count(values.cases, 'cases', DEFAULT_CASES),
    data: values.data,
    json: !!values.json,
    on: values.dev ? 'dev' : 'test',
  });
}

function listRuns(roots: readonly string[], json: boolean): void {
  const rows = findRuns(roots).map(runRow);
  if (json) {
    console.log(JSON.stringify({ roots, runs: rows }));
    return;
  }
  if (rows.length === 0) {
    console.log(`No runs under ${roots.join(', ')}. \`expandr experiment --config FILE --out DIR\` makes one.`);
    return;
  }
  console.log(textTable(['key', 'name', 'dataset', 'status', 'updated', 'settings done'], rows.map((r) => [r.key, r.name, r.dataset, r.status, r.date.slice(0, 16).replace('T', ' '), r.settings])));
  console.log('');
  for (const r of rows) console.log(`${r.key}  ${r.dir}\n  models: ${r.models}\n  config: ${r.config}`);
  if (rows.some((r) => r.key === '(no key)')) console.log('\n(no key): a folder written before run keys (no run.json); its models are named by path, not hashed.');
  if (rows.some((r) => r.models.includes('unpinned'))) console.log('unpinned: a Hub model fetched at a branch, not a commit; its content hash still identifies the run.');
}

/** "RUN:SETTING": the setting is after the last colon (setting names have none but plain:NAME; a path may). */
export function splitSpec(spec: string): [string, string] {
  const plain = /^(.+):(plain:[^:]+)$/.exec(spec);
  if (plain) return [plain[1], plain[2]];
  const at = spec.lastIndexOf(':');
  if (at <= 0 || at === spec.length - 1) throw new UsageError(`runs compare: "${spec}" is not RUN:SETTING (e.g. .cache/runs/exp-a:Raw).`);
  return [spec.slice(0, at), spec.slice(at + 1)];
}

interface CompareOptions {
  metric: string;
  top: number;
  cases: number;
  data?: string;
  json: boolean;
  on: 'test' | 'dev';
}

async function compareRuns([specA, specB]: [string, string], roots: readonly string[], o: CompareOptions): Promise<void> {
  const [ra, sa] = splitSpec(specA);
  const [rb, sb] = splitSpec(specB);
  const runA = resolveRun(ra, roots);
  const runB = resolveRun(rb, roots);
  const a = runSide(runA, sa, o.on);
  const b = runSide(runB, sb, o.on);
  const c = compareSides(a, b, o.metric);
  const data = o.cases > 0 ? ((await datasetFor(runA, o.data)) ?? (await datasetFor(runB, undefined))) : undefined;
  const cases = caseRows(c, a, b, o.cases, data ? lookupIn(data, o.on === 'dev' ? (runA.config?.trainSplit ?? runB.config?.trainSplit ?? 'train') : (runA.config?.split ?? runB.config?.split ?? 'test')) : {});
  const notes = datasetNotes(runA, runB);
  if (o.json) {
    const { diffs, test, ...rest } = c;
    console.log(JSON.stringify({ ...rest, meanDiff: test.meanDiff, pValue: test.pValue, exact: test.exact, n: test.n, diffs: o.top ? diffs.slice(0, o.top) : diffs, cases, notes, dataset: data?.name ?? null }));
    return;
  }
  console.log(comparisonText(c, o.top, runA, runB));
  for (const n of notes) console.log(`note: ${n}`);
  if (o.cases > 0) console.log('\n' + casesText(cases, c, !!data));
}

function comparisonText(c: RunComparison, top: number, runA: FoundRun, runB: FoundRun): string {
  const t = c.test;
  const verdict = c.direction === 'improvement' ? 'B is significantly better' : c.direction === 'loss' ? 'B is significantly worse' : 'no significant difference';
  const diffs = top ? c.diffs.slice(0, top) : c.diffs;
  return [
    `A  ${c.a}   (${runA.dir})`,
    `B  ${c.b}   (${runB.dir})`,
    `${c.metric} on ${c.shared} shared queries${c.onlyA || c.onlyB ? ` (left out: ${c.onlyA} only in A, ${c.onlyB} only in B)` : ''}: A ${fmt(c.meanA)}, B ${fmt(c.meanB)}, B − A ${signed(t.meanDiff)} (95 % CI ${intervalText(c.ci95)}, percentile bootstrap over the queries)`,
    `paired permutation test (two-sided, ${t.exact ? 'exact' : 'Monte Carlo'}): p = ${t.pValue.toPrecision(3)} → ${verdict}; B higher on ${c.moved.up}, lower on ${c.moved.down}, equal on ${c.moved.same}`,
    '',
    `Per-query ${c.metric}, ${diffs.length} of ${c.shared} queries, most moved first:`,
    textTable(['qid', 'A', 'B', 'B − A'], diffs.map((d) => [d.qid, fmt(d.a), fmt(d.b), signed(d.diff)])),
  ].join('\n');
}

const cut = (s: string) => (s.length > CASE_TEXT_CHARS ? `${s.slice(0, CASE_TEXT_CHARS)}…` : s);

function casesText(cases: CaseRow[], c: RunComparison, haveData: boolean): string {
  if (cases.length === 0) return 'Case view: no query moved.';
  const out = [`Case view: ${cases.length === 1 ? 'the query' : `the ${cases.length} queries`} that moved most${haveData ? '' : ' (no dataset: give --data for query texts and gold passages)'}`];
  for (const r of cases) {
    out.push('', `── query ${r.qid}: ${c.metric} A ${fmt(r.a)} → B ${fmt(r.b)} (${signed(r.diff)})`);
    if (r.query !== undefined) out.push(`query: ${r.query}`);
    if (r.gold) out.push(`gold ${r.gold.docId}: ${cut(r.gold.text)}`);
    out.push(`A expansion: ${r.expansionA !== undefined ? cut(r.expansionA) : '(none: the setting has no expansion)'}`);
    out.push(`B expansion: ${r.expansionB !== undefined ? cut(r.expansionB) : '(none: the setting has no expansion)'}`);
  }
  return out.join('\n');
}

/** The dataset for query texts and gold passages: --data, else the folder run A's config names (relative to the project root). */
async function datasetFor(run: FoundRun, given: string | undefined): Promise<BeirDataset | undefined> {
  const recorded = run.config?.data;
  const root = resolve(DEFAULT_RUN_ROOTS[0], '..');
  const path = given ?? (recorded ? (isAbsolute(recorded) ? recorded : resolve(root, recorded)) : undefined);
  if (!path) return undefined;
  if (!existsSync(path)) {
    if (given) throw new UsageError(`runs compare: --data ${given} does not exist.`);
    return undefined;
  }
  return loadBeir(await sourcesFromPath(path));
}

function lookupIn(data: BeirDataset, split: string): CaseLookup {
  const docs = new Map(data.docs.map((d) => [d.id, d]));
  const qrels = data.qrels.get(split);
  return {
    query: (qid) => data.queries.get(qid)?.text,
    gold: (qid) => {
      const id = qrels && goldDocOf(qrels, qid, (d) => docs.has(d));
      return id ? { docId: id, text: flatText(docs.get(id)!) } : undefined;
    },
  };
}

/** What a reader should know about the pairing: other datasets, other dataset content. */
function datasetNotes(a: FoundRun, b: FoundRun): string[] {
  const ca = a.manifest?.datasets.map((d) => d.checksum).join('+');
  const cb = b.manifest?.datasets.map((d) => d.checksum).join('+');
  if (ca && cb && ca !== cb) return ['the runs used datasets of different content: only queries with the same id are paired, and the same id may not be the same query.'];
  if (!ca || !cb) return ['a run without run.json: its dataset content is not recorded, so the pairing trusts query ids.'];
  return [];
}
