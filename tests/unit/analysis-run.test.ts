// `expandr analyze` end to end on a real run: the runner makes all nine settings with tiny-bert and
// stories260K on a SciFact subset, then the analysis of its folder is checked against what the folder
// says elsewhere (results.json's nDCG@10, figures.json's expansion lengths, the DPO checkpoints, the run
// state's pairs, timings.json), each computed there by other code.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { analyzeCommand } from '../../src/cli/analyze-command.ts';
import { experimentCommand } from '../../src/cli/experiment-command.ts';
import type { RunAnalysis } from '../../src/pipeline/analysis.ts';
import { isMissing } from '../../src/pipeline/analysis-input.ts';
import { SETTING_NAMES } from '../../src/pipeline/types.ts';
import { writeScifactSubset } from '../browser/scifact-subset.ts';
import { TINY_RUNNER_CONFIG } from './helpers/tiny-runner-config.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const LONG_TEST_MS = 600_000;
/** nDCG@10 means agree with results.json to float rounding. */
const DIGITS = 9;
const DPO_STEPS = 2;
const TRAIN_QUERIES = 4;

function present<T extends object>(s: T | { missing: string }): T {
  if (isMissing(s)) throw new Error(`section missing: ${s.missing}`);
  return s as T;
}

describe('expandr analyze on a run the runner made', () => {
  let dir: string;
  let out: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'expandr-analyze-'));
    writeScifactSubset(SCIFACT, join(dir, 'data'), { queries: 6, docs: 40 });
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        data: join(dir, 'data'),
        trainQueries: TRAIN_QUERIES,
        ...TINY_RUNNER_CONFIG,
        dpo: { steps: DPO_STEPS, batchSize: 2 },
        settings: [...SETTING_NAMES],
      }),
    );
    out = join(dir, 'run');
    mkdirSync(out);
    const printed = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await experimentCommand(['--config', config, '--out', out, '--quiet'], new AbortController().signal);
    } finally {
      printed.mockRestore();
    }
  }, LONG_TEST_MS);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes markdown and JSON whose numbers match the run folder', async () => {
    const md = join(dir, 'analysis.md');
    const json = join(dir, 'analysis.json');
    const printed = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await analyzeCommand(['--run', out, '--out', md, '--json', json]);
    } finally {
      printed.mockRestore();
    }
    const a = JSON.parse(readFileSync(json, 'utf8')) as RunAnalysis;
    const read = (f: string) => JSON.parse(readFileSync(join(out, f), 'utf8'));
    const results = read('results.json') as { rows: { setting: string; 'ndcg@10': number }[]; plainRows?: { retriever: string; 'ndcg@10': number }[] };
    // A plain-query row (plain:round-1) is results.json's plainRows entry of that retriever.
    const ndcg = (s: string) => (s.startsWith('plain:') ? results.plainRows!.find((r) => r.retriever === s.slice('plain:'.length))! : results.rows.find((r) => r.setting === s)!)['ndcg@10'];
    const state = read('run-state.json') as { stages: Record<string, { output: { pairs: unknown[] } }> };

    // 1. One row per LLM; each mean equals figures.json's (figures-data.ts) for the setting it serves.
    const lengths = present(a.expansionLength);
    expect(lengths.rows.map((r) => r.llm)).toEqual(['base', 'round-1', 'wo-retriever-training', 'wo-self-reward', 'wo-retriever-reward']);
    const figures = read('figures.json') as { expansionLength: { setting: string; mean: number }[] };
    for (const f of figures.expansionLength) expect(lengths.rows.find((r) => r.settings.includes(f.setting))!.mean).toBeCloseTo(f.mean, DIGITS);

    // 2 and 4. Every train query counted once; pairs as the run state's preference stages made them.
    const rewards = present(a.rewards);
    expect(rewards.stages.map((s) => s.name)).toEqual(['round-1', 'wo-retriever-training', 'wo-self-reward', 'wo-retriever-reward']);
    for (const s of rewards.stages) {
      expect(s.queries).toBe(TRAIN_QUERIES);
      expect(s.pairs + Object.values(s.skipped).reduce((x, y) => x + y, 0)).toBe(TRAIN_QUERIES);
      expect(s.pairs).toBe(state.stages[`preferences:${s.name}`].output.pairs.length);
      expect(s.filterDropped).toBe(s.skipped['below filter'] ?? 0);
    }
    expect(present(a.pairLengths).stages.map((s) => s.pairs)).toEqual(rewards.stages.map((s) => s.pairs));

    // 3. Each DPO stage has its steps, with the accuracy its curve records (the same as its checkpoint's).
    const dpo = present(a.dpo);
    for (const s of dpo.stages) {
      expect([s.steps, s.accuracySource]).toEqual([DPO_STEPS, 'figures']);
      const ck = JSON.parse(readFileSync(join(out, 'checkpoints', `dpo-${s.name}`, 'dpo_state.json'), 'utf8')) as { curve: { accuracy: number }[] };
      expect(s.rows.map((p) => p.accuracy)).toEqual(ck.curve.map((p) => p.accuracy));
    }

    // 5. The mean per-query difference is the difference of the rows' nDCG@10.
    const gains = present(a.queryGains);
    // The table's eight, and E_1 on plain queries against its two expanded rows (ExpandR, w/o LLM training).
    expect(gains.pairs).toHaveLength(10);
    expect(gains.pairs.filter((p) => p.plain === 'plain:round-1').map((p) => p.expanded)).toEqual(['ExpandR', 'w/o LLM training']);
    for (const p of gains.pairs) {
      expect(p.gain + p.loss + p.tie).toBe(p.queries);
      expect(p.meanDiff).toBeCloseTo(ndcg(p.expanded) - ndcg(p.plain), DIGITS);
    }

    // 6. Cases of ExpandR against FT, with texts from the dataset the config names.
    const cases = present(a.cases);
    expect(cases.compared).toEqual(['ExpandR', 'FT']);
    for (const c of cases.cases) {
      expect(c.query).toBeTruthy();
      expect(c.gold?.text).toBeTruthy();
      expect(c.before).toBeDefined();
      expect(c.after).toBeDefined();
    }

    // 7. Every stage of timings.json, summed.
    const timings = read('timings.json') as { stages: Record<string, number> };
    const t = present(a.timings);
    expect(t.stages).toHaveLength(Object.keys(timings.stages).length);
    expect(t.totalMs).toBe(Object.values(timings.stages).reduce((x, y) => x + y, 0));
    expect(t.groups.every((g) => g.group === 'other' || g.stages > 0)).toBe(true);

    const text = readFileSync(md, 'utf8');
    expect(text.match(/^## \d\. /gm)).toHaveLength(7);
    expect(text).not.toMatch(/^_No /m);
  }, LONG_TEST_MS);

  it('reads a folder without its final files from the run state, and says what is missing', async () => {
    for (const f of ['per-query.json', 'preferences.json', 'figures.json', 'timings.json']) rmSync(join(out, f));
    rmSync(join(out, 'checkpoints'), { recursive: true });
    const json = join(dir, 'partial.json');
    const md = join(dir, 'partial.md');
    const printed = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await analyzeCommand(['--run', out, '--out', md, '--json', json]);
    } finally {
      printed.mockRestore();
    }
    // Without figures.json and the checkpoints, the DPO curves (accuracy included) come from the run state.
    expect(readFileSync(md, 'utf8')).not.toContain('Accuracy per step is not recorded');
    const a = JSON.parse(readFileSync(json, 'utf8')) as RunAnalysis;
    expect(present(a.dpo).stages.every((s) => s.rows.every((p) => typeof p.accuracy === 'number'))).toBe(true);
    expect(present(a.queryGains).pairs).toHaveLength(10);
    expect(present(a.rewards).stages).toHaveLength(4);
    expect(present(a.timings).stages.length).toBeGreaterThan(0);
    // The run state's curves (what figures.json is made from) carry the accuracy: it is read from there.
    const dpo = present(a.dpo);
    expect(dpo.stages.every((s) => s.accuracySource === 'figures')).toBe(true);
    expect(existsSync(join(out, 'run-state.json'))).toBe(true);
  }, LONG_TEST_MS);
});
