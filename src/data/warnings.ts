// Import warnings: problems a researcher should know about but that do not make the data unusable.
// Each kind is counted per file and reported once, with its first few examples.

export interface ImportWarning {
  /** The file concerned (as labelled in messages), or '' for the drop as a whole. */
  file: string;
  kind: WarningKind;
  count: number;
  /** The first MAX_EXAMPLES occurrences, e.g. 'line 12: "q99"'. */
  examples: string[];
  /** One readable sentence with the count, what was done about it, and the examples. */
  message: string;
}

/** What each kind of warning says, given how many occurrences (and what was done about them). */
const TEMPLATES = {
  'doc-no-text': (n: number) => `${n} ${plural(n, 'document has', 'documents have')} no "text" field; kept with empty text`,
  'query-empty-text': (n: number) => `${n} ${plural(n, 'query has', 'queries have')} empty text; kept`,
  'invalid-utf8': (n: number) => `${n} ${plural(n, 'line is', 'lines are')} not valid UTF-8; the bad bytes were replaced with U+FFFD`,
  'qrels-unknown-query': (n: number) =>
    `${n} ${plural(n, 'judgement names a query', 'judgements name queries')} not in the queries file; dropped`,
  'qrels-unknown-doc': (n: number) =>
    `${n} ${plural(n, 'judgement names a document', 'judgements name documents')} not in the corpus; dropped`,
  'qrels-duplicate': (n: number) =>
    `${n} ${plural(n, 'judgement repeats', 'judgements repeat')} an earlier (query, document) pair; the later value was kept`,
  'ignored-file': (n: number) =>
    `${n} ${plural(n, 'file was', 'files were')} ignored (not corpus.jsonl, queries.jsonl or qrels/<split>.tsv)`,
  'duplicate-compressed': (n: number) =>
    `${n} ${plural(n, 'file was', 'files were')} dropped both plain and gzipped; the plain one was read`,
} as const;

export type WarningKind = keyof typeof TEMPLATES;

export const MAX_EXAMPLES = 5;

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

/** Collects warnings in the order they first occur. */
export class WarningLog {
  private byKey = new Map<string, { file: string; kind: WarningKind; count: number; examples: string[] }>();

  add(file: string, kind: WarningKind, example?: string, times = 1): void {
    const key = `${kind}\u0000${file}`;
    let w = this.byKey.get(key);
    if (!w) this.byKey.set(key, (w = { file, kind, count: 0, examples: [] }));
    w.count += times;
    if (example !== undefined && w.examples.length < MAX_EXAMPLES) w.examples.push(example);
  }

  count(kind?: WarningKind): number {
    let n = 0;
    for (const w of this.byKey.values()) if (!kind || w.kind === kind) n += w.count;
    return n;
  }

  list(): ImportWarning[] {
    return [...this.byKey.values()].map((w) => {
      const more = w.count > w.examples.length ? ', …' : '';
      const examples = w.examples.length ? ` (${w.examples.join('; ')}${more})` : '';
      const where = w.file ? `${w.file}: ` : '';
      return { ...w, message: `${where}${TEMPLATES[w.kind](w.count)}${examples}` };
    });
  }
}
