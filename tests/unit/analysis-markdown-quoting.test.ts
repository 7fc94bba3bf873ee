// Texts the analysis quotes (queries, gold passages, expansions, ids) come from the dataset and the LLM, so
// they may hold what markdown or HTML reads as syntax: "P<0.05", "<i>", "*", "[1]", "&amp;", or a hostile
// expansion. Rendered by marked (what the page uses, and GitHub-flavoured as on GitHub) each must come out
// as the same text, with no element of its own: checked on hand-made cases and on every SciFact passage
// that holds such a character.
import { createGunzip } from 'node:zlib';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { marked } from 'marked';
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/pipeline/analysis.ts';
import { analysisMarkdown, quoted } from '../../src/pipeline/analysis-markdown.ts';
import { SETTING_NAMES } from '../../src/pipeline/types.ts';

const SCIFACT_CORPUS = join(import.meta.dirname, '../../../shared/data/beir/scifact/corpus.jsonl.gz');
const PREFIX = '**Query.** ';
const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&#39;': "'" };

/** The paragraph marked makes of `PREFIX + quoted(s)`, its bold prefix removed. */
function rendered(s: string): string {
  const html = marked.parse(PREFIX + quoted(s), { gfm: true, async: false }) as string;
  const m = /^<p><strong>Query\.<\/strong> ([\s\S]*)<\/p>\n$/.exec(html);
  if (!m) throw new Error(`unexpected HTML for ${JSON.stringify(s)}: ${html}`);
  return m[1];
}
const textOf = (inner: string) => inner.replace(/&(lt|gt|amp|quot|#39);/g, (e) => ENTITIES[e]);
/** What the page shows for a quoted text: the text itself, line breaks flattened to one space, no element. */
function expectLiteral(s: string) {
  const inner = rendered(s);
  expect(inner, JSON.stringify(s)).not.toMatch(/<[a-z/!?]/i);
  expect(textOf(inner)).toBe(s.replace(/\s*\n\s*/g, ' '));
}

const HOSTILE = [
  '<img src=x onerror="alert(1)">',
  '<script>alert(1)</script> after',
  '[click](javascript:alert(1)) and ![x](y)',
  'a *star* and _under_ and **bold** and ~~gone~~ and `code`',
  'P<0.05 and P < 0.001, n>5, a<b>c',
  '&amp; &lt;i&gt; &#60; & alone',
  'pipe | in | text \\ and a backslash\\',
  'two\nlines\n\n# heading? no',
  '<!-- comment --> <?pi?> </p>',
  '1. not a list; - not an item; > not a quote',
];

describe('text quoted in the analysis', () => {
  it('renders as written, with no element of its own, whatever markup it holds', () => {
    for (const s of HOSTILE) expectLiteral(s);
  });

  it('leaves plain scientific text readable in the markdown file ("P<0.05", parentheses, "#")', () => {
    expect(quoted('IL-6 (n = 12), P<0.05, #3')).toBe('IL-6 (n = 12), P<0.05, #3');
    expect(quoted('<i>Bcl-2</i> & T_reg')).toBe('\\<i>Bcl-2\\</i> & T\\_reg');
  });

  it('holds for every SciFact passage with a character markdown or HTML could read as syntax', async () => {
    const lines = createInterface({ input: createReadStream(SCIFACT_CORPUS).pipe(createGunzip()) });
    let checked = 0;
    for await (const line of lines) {
      const { title, text } = JSON.parse(line) as { title: string; text: string };
      const s = `${title} ${text}`;
      // GFM autolinks bare URLs and e-mail addresses (an <a> element by design, not from the text's markup): skip those few.
      if (!/[<>*_[\]`&|~\\]/.test(s) || /\bwww\.|https?:\/\/|\w@\w/i.test(s)) continue;
      expectLiteral(s);
      checked++;
    }
    expect(checked).toBeGreaterThan(800);
  });

  it('a hostile expansion, query and passage in the case views: no element from them in the whole report', () => {
    const evil = '<img src=x onerror="alert(1)"> [x](javascript:alert(1)) <script>alert(2)</script>';
    const md = analysisMarkdown(
      analyzeRun({
        config: { rounds: 1, seed: 42, split: 'test', settings: [...SETTING_NAMES], rewards: { filter: 0.6 } },
        perQuery: { FT: { q1: 0.5 }, ExpandR: { q1: 1 } },
        expansions: { base: { q1: evil }, 'round-1': { q1: `after ${evil}` } },
        queries: { q1: `query ${evil}` },
        gold: { q1: { docId: 'd<b>1</b>', text: `gold ${evil}` } },
      }),
      'T',
    );
    const html = marked.parse(md, { gfm: true, async: false }) as string;
    expect(html).toContain('<h3');
    expect(html).not.toMatch(/<img|<script|<a |<b>|<[^>]*\bonerror=|href="javascript/i);
    expect(html).toContain('<strong>After DPO</strong> (ExpandR&#39;s adapter). after &lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
  });
});
