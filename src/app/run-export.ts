// A run taken away as ONE zip: its config, results (JSON, Markdown, CSV), its analysis, TREC run files, expansions,
// figures (SVG and PNG, made in the page), checkpoints only when asked, and a README naming what is inside
// and the code version. The file list is built here from plain parts (no store, no DOM), so it is tested
// as a list; run-export-collect.ts reads the parts from the store, the page adds the figures and zips.
import { zipSync, type Zippable } from 'fflate';

/** What the worker hands over for a run's zip (run-export-collect.ts). */
export interface RunExportParts {
  /** The run's name, for the README and the zip's name. */
  name: string;
  /** Its key ('run-<hex>'). */
  key: string;
  /** The dataset's name. */
  dataset: string;
  /** config.json: what identifies the run (models, datasets, code, the full config, an import's source). */
  config: Record<string, unknown>;
  /** The results in the three formats; null when nothing was evaluated. */
  results: { json: string; md: string; csv: string } | null;
  /** analysis.md: the report `expandr analyze` writes (run-analysis.ts); absent for an imported run or one with no stage. */
  analysis?: string;
  /** The run's file sets by name ('runs/BM25', 'expansions/base-test', 'encoders/FT', 'adapters/round-1'), each path → bytes. */
  fileSets: { name: string; files: Record<string, Uint8Array> }[];
  /** Checkpoints were asked for (encoders/ and adapters/ sets are then in fileSets). */
  checkpoints: boolean;
  /** The code version the page runs ('0.1.0+abc123…'). */
  code: string;
  /** The code version the run was made with (its manifest's), when known. */
  runCode?: string;
  /** The run's figures data, for the page to draw (FiguresData of src/pipeline/figures-data.ts), or null. */
  figures: unknown;
}

/** A figure drawn by the page: its SVG text and, where the page could rasterise it, the PNG. */
export interface ExportFigure {
  name: string;
  svg: string;
  png?: Uint8Array;
}

/** File-set prefixes that are checkpoints (large; only with the checkbox). */
export const CHECKPOINT_SETS = ['encoders/', 'adapters/'] as const;

const isCheckpoint = (name: string) => CHECKPOINT_SETS.some((p) => name.startsWith(p));
const safe = (s: string) => s.replace(/[^\w.+@-]+/g, '-').replace(/^-+|-+$/g, '') || 'file';
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The zip's file name: expandr-DATASET-RUN-SHORTKEY.zip. */
export function exportZipName(p: Pick<RunExportParts, 'name' | 'key' | 'dataset'>): string {
  return `expandr-${safe(p.dataset)}-${safe(p.name).slice(0, 60)}-${p.key.replace(/^run-/, '').slice(0, 10)}.zip`;
}

/** Zip folder of a file set: run files and expansions as their text file, checkpoints as a folder. */
function setEntries(name: string, files: Record<string, Uint8Array>): [string, Uint8Array][] {
  const [kind, ...rest] = name.split('/');
  const stem = safe(rest.join('/'));
  const paths = Object.keys(files).sort();
  if (kind === 'runs' && paths.length === 1) return [[`runs/${stem}.trec`, files[paths[0]]]];
  if (kind === 'expansions' && files['expansions.jsonl']) return [[`expansions/${stem}.jsonl`, files['expansions.jsonl']]];
  const root = isCheckpoint(name) ? `checkpoints/${kind}/${stem}` : `${kind}/${stem}`;
  return paths.map((p) => [`${root}/${p}`, files[p]]);
}

/** What each top-level entry is, for the README. */
const WHAT: [RegExp, string][] = [
  [/^config\.json$/, 'what identifies the run: models (Hub ones with their commit), dataset checksum, code version, the full config'],
  [/^results\./, 'the results table (one row per setting: nDCG@10, Recall@100, MRR@10, MAP@100, significance marks)'],
  [/^analysis\.md$/, 'why the numbers are what they are: expansion length, rewards and the filter, DPO curves, per-query gains, cases, stage times (what `expandr analyze` writes)'],
  [/^runs\//, 'TREC run files (qid Q0 docid rank score tag), one per evaluated setting'],
  [/^expansions\//, 'query expansions as JSONL ({"id", "expansion"} per line; `expandr eval --expansions` reads them)'],
  [/^figures\/.*\.svg$/, 'figures as SVG'],
  [/^figures\/.*\.png$/, 'the same figures as PNG'],
  [/^checkpoints\/encoders\//, 'trained encoders as sentence-transformers folders'],
  [/^checkpoints\/adapters\//, 'LoRA adapters as PEFT folders'],
];

/** README.txt: the run, the code version, and every file of the zip with what it is. */
export function exportReadme(p: RunExportParts, paths: readonly string[]): string {
  const lines = [
    `ExpandR run "${p.name}" (${p.key}) on dataset ${p.dataset}`,
    `Exported by ExpandR Web ${p.code}${p.runCode && p.runCode !== p.code ? `; the run was made with ${p.runCode}` : ''}.`,
    p.checkpoints ? 'Checkpoints (encoders, adapters) are included.' : 'Checkpoints (encoders, adapters) are not included: tick "include checkpoints" to add them.',
    '',
    'Files:',
  ];
  for (const path of paths) {
    const what = WHAT.find(([re]) => re.test(path))?.[1];
    lines.push(`  ${path}${what ? ` - ${what}` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Every file of the zip, path → bytes, in a stable order: config.json, results.*, analysis.md, runs/, expansions/,
 * figures/, checkpoints/ (only when p.checkpoints), README.txt last. Checkpoint sets present in
 * p.fileSets without p.checkpoints are left out.
 */
export function runExportEntries(p: RunExportParts, figures: readonly ExportFigure[] = []): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  out.set('config.json', utf8(JSON.stringify(p.config, null, 2) + '\n'));
  if (p.results) {
    out.set('results.json', utf8(p.results.json));
    out.set('results.md', utf8(p.results.md));
    out.set('results.csv', utf8(p.results.csv));
  }
  if (p.analysis) out.set('analysis.md', utf8(p.analysis));
  const sets = [...p.fileSets].filter((s) => p.checkpoints || !isCheckpoint(s.name)).sort((a, b) => Number(isCheckpoint(a.name)) - Number(isCheckpoint(b.name)) || a.name.localeCompare(b.name));
  const plain = sets.filter((s) => !isCheckpoint(s.name));
  for (const s of plain) for (const [path, bytes] of setEntries(s.name, s.files)) out.set(path, bytes);
  for (const f of figures) {
    out.set(`figures/${safe(f.name)}.svg`, utf8(f.svg));
    if (f.png) out.set(`figures/${safe(f.name)}.png`, f.png);
  }
  for (const s of sets.filter((x) => isCheckpoint(x.name))) for (const [path, bytes] of setEntries(s.name, s.files)) out.set(path, bytes);
  out.set('README.txt', utf8(exportReadme(p, [...out.keys(), 'README.txt'])));
  return out;
}

/** Fixed entry date, so the same run exports to the same bytes. */
const ZIP_MTIME = new Date('2020-01-01T00:00:00Z');

/** The entries as one zip (stored uncompressed: checkpoints and PNGs do not shrink, text is small). */
export function runExportZip(entries: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const z: Zippable = {};
  for (const [path, bytes] of entries) z[path] = [bytes, { level: 0, mtime: ZIP_MTIME }];
  return zipSync(z);
}
