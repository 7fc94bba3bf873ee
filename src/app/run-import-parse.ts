// Reading a file brought into the page to be evaluated as a run: a TREC run file (`qid Q0 docid rank
// score tag`) or an expansions JSONL (`{"id", "expansion"}` per line, the format the app exports,
// src/pipeline/expansions.ts). Checked against the dataset it is imported for, so that a file made for
// another dataset or split is refused with the file, the line and the fix instead of scoring 0.
import { FileFormatError } from '../errors.ts';
import { RunParser } from '../eval/trec-run.ts';
import type { Run } from '../eval/types.ts';
import { parseExpansions } from '../retrieval/dense/expansions.ts';
import { forEachJsonLine } from '../util/json-lines.ts';

export type ImportKind = 'trec' | 'expansions';

/** Query ids shown as examples in an error (the dataset's first few). */
const EXAMPLE_IDS = 3;

/** What a file holds: JSONL by its name (.jsonl / .json) or by its first non-blank line starting with '{'; else a TREC run. */
export function importKindOf(file: string, text: string): ImportKind {
  if (/\.jsonl?$/i.test(file)) return 'expansions';
  const first = text.split(/\r?\n/).find((l) => l.trim() !== '');
  return first?.trim().startsWith('{') ? 'expansions' : 'trec';
}

/** What the checks need of the dataset: its name, its query ids and those judged in the split evaluated. */
export interface ImportTarget {
  dataset: string;
  split: string;
  queryIds: ReadonlySet<string>;
  judged: ReadonlySet<string>;
}

export interface ParsedImport {
  /** Queries of the file that the split judges (those evaluated). */
  judged: number;
  /** Queries of the file that are dataset queries but not judged in the split (left out of the metrics). */
  unjudged: number;
}

function refuseEmpty(file: string, text: string, what: string): void {
  if (text.trim() === '') throw new FileFormatError(file, null, 'the file is empty', `Choose a non-empty ${what}`);
}

/** The first line naming a query id the dataset does not have, as an error; `lines`: qid → its first line. */
function refuseUnknown(file: string, lines: ReadonlyMap<string, number>, t: ImportTarget, what: string): void {
  const unknown = [...lines].filter(([qid]) => !t.queryIds.has(qid));
  if (!unknown.length) return;
  const [qid, line] = unknown.sort((a, b) => a[1] - b[1])[0];
  const examples = [...t.queryIds].slice(0, EXAMPLE_IDS).join(', ');
  throw new FileFormatError(
    file,
    line,
    `query id "${qid}" is not a query of dataset "${t.dataset}" (${unknown.length} of the file's ${lines.size} query ids are unknown; the dataset's look like ${examples})`,
    `Import the ${what} for the dataset it was made for, or make it with this dataset's query ids (queries.jsonl "_id")`,
  );
}

function refuseUnjudged(file: string, lines: ReadonlyMap<string, number>, t: ImportTarget): ParsedImport {
  const judged = [...lines.keys()].filter((q) => t.judged.has(q)).length;
  if (judged === 0) {
    throw new FileFormatError(file, null, `none of its ${lines.size} queries is judged in split "${t.split}" of "${t.dataset}"`, `Pick the split the file was made for, or make it for the ${t.judged.size} queries of "${t.split}"`);
  }
  return { judged, unjudged: lines.size - judged };
}

/** A TREC run for `t`: the run, and how many of its queries count. Errors name the file and line. */
export function parseImportedTrecRun(file: string, text: string, t: ImportTarget): ParsedImport & { run: Run } {
  refuseEmpty(file, text, 'TREC run file ("qid Q0 docid rank score tag" per line)');
  if (importKindOf('', text) === 'expansions') {
    throw new FileFormatError(file, null, 'it holds JSON lines, not a TREC run', 'Name an expansions file .jsonl, or write the run as "qid Q0 docid rank score tag" lines');
  }
  const parser = new RunParser(file);
  const lines = new Map<string, number>();
  text.split(/\r?\n/).forEach((l, i) => {
    parser.push(l);
    const qid = l.trim().split(/\s+/)[0];
    if (qid && !lines.has(qid)) lines.set(qid, i + 1);
  });
  refuseUnknown(file, lines, t, 'run file');
  return { run: parser.run(), ...refuseUnjudged(file, lines, t) };
}

/** An expansions JSONL for `t`: query id → expansion, and how many of its queries count. */
export function parseImportedExpansions(file: string, text: string, t: ImportTarget): ParsedImport & { expansions: Map<string, string> } {
  refuseEmpty(file, text, 'expansions JSONL ({"id": "…", "expansion": "…"} per line)');
  const expansions = parseExpansions(text, file);
  const lines = new Map<string, number>();
  forEachJsonLine(text, file, '', (r, line) => {
    const id = String(r.id ?? r.query_id);
    if (!lines.has(id)) lines.set(id, line);
  });
  refuseUnknown(file, lines, t, 'expansions file');
  return { expansions, ...refuseUnjudged(file, lines, t) };
}
