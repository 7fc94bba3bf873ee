// The whole experiment config is checked before any stage runs (src/pipeline/config-validate.ts): unknown
// keys at any depth, types from the defaults, ranges from CONFIG_RULES; the error names the file, the key
// path and the fix. And the table of defaults that differ from the paper (src/pipeline/config-notes.ts).
import { describe, expect, it } from 'vitest';
import { EXPERIMENT_DEFAULTS, experimentConfig } from '../../src/pipeline/config.ts';
import { CONFIG_RULES } from '../../src/pipeline/config-validate.ts';
import { DEFAULT_NOTES, defaultAt, defaultNotesMarkdown } from '../../src/pipeline/config-notes.ts';
import { TRAIN_DEFAULTS } from '../../src/train/settings.ts';
import { DPO_DEFAULTS } from '../../src/llm/dpo.ts';

describe('config validation', () => {
  it('accepts the defaults and resolves seeds to [seed]', () => {
    expect(experimentConfig({}).seeds).toEqual([42]);
    expect(experimentConfig({ seed: 7 }).seeds).toEqual([7]);
    expect(experimentConfig({ seed: 7, seeds: [1, 2, 3] }).seeds).toEqual([1, 2, 3]);
  });

  it.each([
    [{ expansion: { temperature: 0 } }, /f\.json: "expansion\.temperature" must be a number > 0, got 0/],
    [{ answer: { topP: 1.5 } }, /"answer\.topP" must be a number in \(0, 1\]/],
    [{ candidates: { topP: 0 } }, /"candidates\.topP" must be a number in \(0, 1\]/],
    [{ candidates: { maxTokens: 0 } }, /"candidates\.maxTokens" must be an integer ≥ 1/],
    [{ candidates: { temperatures: [] } }, /"candidates\.temperatures" must be a non-empty list of temperatures > 0/],
    [{ candidates: { temperatures: [0.8, -1] } }, /"candidates\.temperatures"/],
    [{ rewards: { filter: 2.5 } }, /"rewards\.filter" must be a number in \[0, 2\]/],
    [{ rewards: { selfReward: 'yes' } }, /"rewards\.selfReward" must be true or false/],
    [{ lora: { r: 0 } }, /"lora\.r" must be an integer ≥ 1/],
    [{ lora: { dropout: 1 } }, /"lora\.dropout" must be a number in \[0, 1\)/],
    [{ retriever: { lr: 0 } }, /"retriever\.lr" must be a number > 0/],
    [{ retriever: { batchSize: 2.5 } }, /"retriever\.batchSize" must be an integer ≥ 1/],
    [{ retriever: { hardNegatives: 1 } }, /"retriever\.hardNegatives" must be true or false/],
    [{ retriever: { cropRatioMin: 0.9, cropRatioMax: 0.5 } }, /f\.json: retriever: .*cropRatioMin/],
    [{ dpo: { beta: -0.1 } }, /"dpo\.beta" must be a number > 0/],
    [{ dpo: { lr: '2e-5' } }, /"dpo\.lr" must be a number/],
    [{ settings: ['FT', 'Fine-tuned'] }, /"settings" must be a non-empty list of setting names/],
    [{ settings: ['FT', 'FT'] }, /"settings" .*each once/],
    [{ seeds: [] }, /"seeds" must be a non-empty list/],
    [{ seeds: [1, 1] }, /"seeds" .*each once/],
    [{ rounds: 0 }, /"rounds" must be an integer ≥ 1/],
    [{ encoder: { expansionNorm: 'cosine' } }, /"encoder\.expansionNorm" must be one of "contriever", "raw"/],
    [{ encoder: { initSteps: -1 } }, /"encoder\.initSteps" must be null or an integer ≥ 0/],
    [{ testQueries: '10' }, /"testQueries" must be a number/],
    [{ dev: { fraction: 1 } }, /"dev\.fraction" must be null or a number strictly between 0 and 1/],
    [{ dev: { queries: -1 } }, /"dev\.queries" must be an integer ≥ 0/],
  ])('refuses %j', (over, message) => {
    expect(() => experimentConfig(over as Record<string, unknown>, 'f.json')).toThrow(message);
  });

  it('names unknown nested keys under retriever and dpo, and keys set elsewhere', () => {
    expect(() => experimentConfig({ retriever: { learningRate: 1e-5 } }, 'f.json')).toThrow(/f\.json: unknown setting "retriever\.learningRate" \(known: seed, steps/);
    expect(() => experimentConfig({ dpo: { betta: 0.1 } }, 'f.json')).toThrow(/unknown setting "dpo\.betta"/);
    expect(() => experimentConfig({ retriever: { seed: 3 } }, 'f.json')).toThrow(/"retriever\.seed" is not set here: set "seed" \(or "seeds"\) at the top level/);
    expect(() => experimentConfig({ dpo: { seed: 3 } }, 'f.json')).toThrow(/"dpo\.seed"/);
  });

  it('accepts every valid nested retriever and dpo key', () => {
    const c = experimentConfig({ retriever: { hardNegatives: true, temperature: null, gradCacheChunk: 16 }, dpo: { maxCompletionLength: 128, disableDropout: false } });
    expect(c.retriever.hardNegatives).toBe(true);
    expect(c.dpo.maxCompletionLength).toBe(128);
  });

  it('every rule names a key of the defaults (or of the trainers under retriever / dpo)', () => {
    const shape: Record<string, unknown> = { ...EXPERIMENT_DEFAULTS, retriever: TRAIN_DEFAULTS, dpo: DPO_DEFAULTS };
    for (const path of Object.keys(CONFIG_RULES)) {
      const [head, ...rest] = path.split('.');
      let v: unknown = shape[head];
      for (const k of rest) v = (v as Record<string, unknown>)?.[k];
      expect([path, v !== undefined]).toEqual([path, true]);
    }
  });
});

describe('defaults that differ from the paper', () => {
  it('every note names a real key, says why, and carries the default in effect', () => {
    expect(Object.keys(DEFAULT_NOTES).length).toBeGreaterThan(0);
    for (const [path, n] of Object.entries(DEFAULT_NOTES)) {
      expect(defaultAt(path)).not.toBeUndefined();
      expect(n.ours).toBe(JSON.stringify(defaultAt(path)));
      expect(n.why.length).toBeGreaterThan(10);
      expect(n.paper).not.toBe(n.ours);
    }
    expect(DEFAULT_NOTES['expansion.temperature'].ours).toBe('0.8');
    expect(DEFAULT_NOTES['expansion.maxTokens'].ours).toBe('256');
  });

  it('the results section prints the value a run used beside the default', () => {
    const md = defaultNotesMarkdown(experimentConfig({ expansion: { temperature: 1, maxTokens: 128 } }));
    expect(md).toContain('| expansion.temperature | 1 (default 0.8) | 1.0 (reference code, evaluation expansions) |');
    expect(md).toContain('| expansion.maxTokens | 128 (default 256) |');
    expect(md).toContain('| retriever.hardNegatives | false |');
  });
});
