// Expansion files (DESIGN.md §6, "expansions as JSONL"): one {"id" | "query_id", "expansion" | "text"}
// per line, as the pipeline writes them and as scripts may produce them. One expansion per query.
import { FileFormatError } from '../../errors.ts';
import { forEachJsonLine } from '../../util/json-lines.ts';

const FIX = 'Each line must be a JSON object such as {"id": "q1", "expansion": "…"} ("query_id" and "text" are accepted too), one per query';

/** Parses an expansions file into query id → expansion text. `file` names it in errors. */
export function parseExpansions(text: string, file = 'expansions.jsonl'): Map<string, string> {
  const out = new Map<string, string>();
  forEachJsonLine(text, file, FIX, (r, line) => {
    const id = r.id ?? r.query_id;
    const expansion = r.expansion ?? r.text;
    if (typeof id !== 'string' && typeof id !== 'number') throw new FileFormatError(file, line, 'no "id" or "query_id"', FIX);
    if (typeof expansion !== 'string') throw new FileFormatError(file, line, 'no "expansion" or "text" string', FIX);
    const qid = String(id);
    if (out.has(qid)) throw new FileFormatError(file, line, `query ${qid} has a second expansion`, 'Keep one expansion per query for evaluation');
    out.set(qid, expansion);
  });
  return out;
}
