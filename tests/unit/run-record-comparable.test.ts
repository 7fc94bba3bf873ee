// What a comparison may name of a run (run-record.ts comparableSettings) and how each name reads back
// (settingValues): a seeded row as the mean over its seeds or one seed alone, ExpandR after an earlier round,
// the expansions of that seed, and a trained retriever on plain queries (plain:NAME).
import { describe, expect, it } from 'vitest';
import { comparableSettings, settingValues } from '../../src/pipeline/run-record.ts';
import type { RunState } from '../../src/pipeline/run-state.ts';

const evalOf = (setting: string, values: number[]) => ({
  output: { setting, metrics: { 'ndcg@10': values.reduce((s, x) => s + x, 0) / values.length }, perQuery: Object.fromEntries(values.map((v, i) => [`q${i}`, { 'ndcg@10': v }])) },
  finishedAt: '2026-12-05T00:00:00Z',
  ms: 1,
});
const STATE = {
  configKey: 'k',
  stages: {
    'eval:BM25': evalOf('BM25', [1, 0]),
    'eval:FT': evalOf('FT', [1, 1]),
    'eval:ExpandR@round1': evalOf('ExpandR', [0, 1]),
    'plainEval:round-1:test': evalOf('ExpandR', [1, 1]),
    'expansions:round-2:test': { output: { q0: 'seed 7 text' }, finishedAt: '', ms: 1 },
    'eval:ExpandR': evalOf('ExpandR', [1, 0]),
    'eval:w/o LLM training': evalOf('w/o LLM training', [0, 0]),
    'eval:FT@seed8': evalOf('FT', [0, 1]),
    'eval:ExpandR@round1@seed8': evalOf('ExpandR', [1, 1]),
    'plainEval:round-1@seed8:test': evalOf('ExpandR', [1, 0]),
    'expansions:round-2@seed8:test': { output: { q0: 'seed 8 text' }, finishedAt: '', ms: 1 },
    'eval:ExpandR@seed8': evalOf('ExpandR', [0, 0]),
    'devEval:ExpandR@round1': evalOf('ExpandR', [0, 0]),
    'plainEval:round-1:dev': evalOf('ExpandR', [0, 1]),
    'devEval:ExpandR@round1@variant-x': evalOf('ExpandR', [1, 1]),
    'expansions:variant-x:dev': { output: { q0: 'variant text' }, finishedAt: '', ms: 1 },
  },
} as unknown as RunState;
const CONFIG = { seed: 7, seeds: [7, 8], rounds: 2 };

describe('comparableSettings', () => {
  it('lists the settings, earlier rounds, then each seed of the rows run at several seeds (not variants, not unseeded rows)', () => {
    expect(comparableSettings(STATE, CONFIG)).toEqual([
      'BM25',
      'FT',
      'ExpandR@round1',
      'plain:round-1',
      'ExpandR',
      'w/o LLM training',
      'FT@seed7',
      'ExpandR@round1@seed7',
      'plain:round-1@seed7',
      'ExpandR@seed7',
      'FT@seed8',
      'ExpandR@round1@seed8',
      'plain:round-1@seed8',
      'ExpandR@seed8',
    ]);
    expect(comparableSettings(undefined)).toEqual([]);
    // On dev: what was evaluated on dev, the variants of round 1 by name.
    expect(comparableSettings(STATE, CONFIG, 'dev')).toEqual(['ExpandR@round1', 'plain:round-1', 'ExpandR@round1@variant-x']);
  });

  it('names what settingValues reads: the mean over seeds, or one seed with its own expansions', () => {
    const v = (name: string) => settingValues(STATE, name, CONFIG)!;
    expect(v('FT').metrics['ndcg@10']).toBe(0.75);
    expect(v('FT@seed7').metrics['ndcg@10']).toBe(1);
    expect(v('FT@seed8').metrics['ndcg@10']).toBe(0.5);
    expect(v('ExpandR@round1@seed8').perQuery.get('q0')).toEqual({ 'ndcg@10': 1 });
    expect(v('ExpandR@seed8').expansions?.get('q0')).toBe('seed 8 text');
    expect(v('ExpandR@seed7').expansions?.get('q0')).toBe('seed 7 text');
    expect(v('ExpandR').expansions?.get('q0')).toBe('seed 7 text');
    for (const name of comparableSettings(STATE, CONFIG)) expect(settingValues(STATE, name, CONFIG), name).toBeDefined();
    expect(settingValues(STATE, 'FT@seed9', CONFIG)).toBeUndefined();
    // A variant of round 1 is never averaged into round 1's dev row, and can be named on its own.
    expect(settingValues(STATE, 'ExpandR@round1', CONFIG, 'dev')!.metrics['ndcg@10']).toBe(0);
    const variant = settingValues(STATE, 'ExpandR@round1@variant-x', CONFIG, 'dev')!;
    expect(variant.metrics['ndcg@10']).toBe(1);
    expect(variant.expansions?.get('q0')).toBe('variant text');
    // The round-1 retriever on plain queries: over its seeds, one seed, on dev; never mixed into ExpandR's rows.
    expect(v('plain:round-1').metrics['ndcg@10']).toBe(0.75);
    expect(v('plain:round-1').perQuery.get('q1')).toEqual({ 'ndcg@10': 0.5 });
    expect(v('plain:round-1@seed8').metrics['ndcg@10']).toBe(0.5);
    expect(v('plain:round-1').expansions).toBeUndefined();
    expect(settingValues(STATE, 'plain:round-1', CONFIG, 'dev')!.metrics['ndcg@10']).toBe(0.5);
    expect(v('ExpandR@round1').metrics['ndcg@10']).toBe(0.75);
    expect(settingValues(STATE, 'plain:round-2', CONFIG)).toBeUndefined();
  });
});
