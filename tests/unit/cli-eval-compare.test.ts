// `eval --compare` reads the paired test the way the results tables do (src/eval/significance-marks.ts):
// a run significantly WORSE than the baseline run is marked ▼, never as a significant improvement, in the
// table and in the JSON; a significantly better one ▲.
//
// Fixture: 8 one-word queries; for each, a distractor that repeats the query word and a document without
// it. The baseline run ranks the document without the word first. Split "test" judges that document
// relevant (BM25 never retrieves it: 0 vs 1 on every query), split "dev" the distractor (BM25 ranks it
// first: 1 vs 0). Exact enumeration over 8 queries: p = 2 / 2^8.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { evalCommand } from '../../src/cli/eval-command.ts';
import { jsonl } from './helpers/beir-files.ts';

const WORDS = ['cats', 'dogs', 'birds', 'fish', 'trees', 'rivers', 'trains', 'bread'];
const P_ALL_ONE_WAY = 2 / 2 ** WORDS.length;

let tmp: string;
let data: string;
let baseline: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'expandr-compare-'));
  data = join(tmp, 'words');
  await mkdir(join(data, 'qrels'), { recursive: true });
  const qrels = (doc: (i: number) => string) => `query-id\tcorpus-id\tscore\n${WORDS.map((_, i) => `q${i}\t${doc(i)}\t1`).join('\n')}\n`;
  await writeFile(join(data, 'corpus.jsonl'), jsonl(WORDS.flatMap((w, i) => [{ _id: `x${i}`, title: w, text: `${w} ${w}` }, { _id: `g${i}`, title: '', text: `Entry ${'abcdefgh'[i]} of the list.` }])));
  await writeFile(join(data, 'queries.jsonl'), jsonl(WORDS.map((w, i) => ({ _id: `q${i}`, text: w }))));
  await writeFile(join(data, 'qrels', 'test.tsv'), qrels((i) => `g${i}`));
  await writeFile(join(data, 'qrels', 'dev.tsv'), qrels((i) => `x${i}`));
  baseline = join(tmp, 'baseline.trec');
  await writeFile(baseline, WORDS.map((_, i) => `q${i} Q0 g${i} 1 1.0 base`).join('\n') + '\n');
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function run(argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    await evalCommand(argv, new AbortController().signal);
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  return lines;
}

describe('eval --compare marks', () => {
  it('marks a run significantly worse than the baseline as a loss (▼), in JSON and in the table', async () => {
    const j = JSON.parse((await run(['--data', data, '--quiet', '--json', '--compare', baseline])).at(-1)!);
    expect(j['ndcg@10']).toBe(0);
    expect(j.compare.metrics['ndcg@10']).toEqual({ baseline: 1, pValue: P_ALL_ONE_WAY, meanDiff: -1, direction: 'loss', mark: '▼' });
    expect(j.compare.metrics['recall@100']).toMatchObject({ direction: 'loss', mark: '▼' });

    const table = (await run(['--data', data, '--quiet', '--compare', baseline])).join('\n').split('\n');
    expect(table[1]).toMatch(/^metric\s+value\s+baseline\s+p\s+diff\s+mark$/);
    const ndcg = table.find((l) => l.startsWith('ndcg@10'))!;
    expect(ndcg).toMatch(/-1\.0000\s+▼$/);
    for (const line of table.slice(3, 7)) expect(line).toMatch(/\s▼$/); // the four metrics, none ▲
    expect(table.join('\n')).toContain('▲: significantly better than the baseline run; ▼: significantly worse (p < 0.05');
  });

  it('marks a significantly better run ▲', async () => {
    const j = JSON.parse((await run(['--data', data, '--split', 'dev', '--quiet', '--json', '--compare', baseline])).at(-1)!);
    expect(j.compare.metrics['ndcg@10']).toEqual({ baseline: 0, pValue: P_ALL_ONE_WAY, meanDiff: 1, direction: 'improvement', mark: '▲' });
  });
});
