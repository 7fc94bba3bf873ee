// When a run's manifest says 'complete' (run-record.ts updateManifest, allEvaluated): only once every
// configured setting is evaluated at each seed it runs at; a run of three seeds whose first seed has all its
// rows is still running (the runner's `runs` list and the page's run list read this status).
import { describe, expect, it } from 'vitest';
import { allEvaluated, updateManifest, type RunManifest } from '../../src/pipeline/run-record.ts';
import type { RunState } from '../../src/pipeline/run-state.ts';

const stage = { output: {}, finishedAt: '2026-12-05T00:00:00Z', ms: 1 };
const stateOf = (...names: string[]) => ({ configKey: 'k', stages: Object.fromEntries(names.map((n) => [n, stage])) }) as unknown as RunState;
const CONFIG: Parameters<typeof allEvaluated>[0] = { settings: ['BM25', 'FT', 'ExpandR', 'w/o LLM training'], seed: 42, seeds: [42, 43], seededSettings: ['FT', 'ExpandR'] };
const FIRST_SEED = ['eval:BM25', 'eval:FT', 'eval:ExpandR@round1', 'eval:ExpandR', 'eval:w/o LLM training'];

describe('allEvaluated', () => {
  it('is false while a seeded setting lacks a later seed, though every setting has the first seed', () => {
    expect(allEvaluated(CONFIG, stateOf(...FIRST_SEED, 'eval:FT@seed43'))).toBe(false);
  });

  it('is true once the seeded settings have every seed; an unseeded one needs only the first', () => {
    const state = stateOf(...FIRST_SEED, 'eval:FT@seed43', 'eval:ExpandR@round1@seed43', 'eval:ExpandR@seed43');
    expect(allEvaluated(CONFIG, state)).toBe(true);
  });

  it('an earlier round or a dev evaluation does not stand in for the row', () => {
    const state = stateOf('eval:BM25', 'eval:FT', 'eval:ExpandR@round1', 'devEval:ExpandR');
    expect(allEvaluated({ settings: ['BM25', 'FT', 'ExpandR'], seed: 42 }, state)).toBe(false);
  });

  it('a config stored before seeds existed runs at its one seed', () => {
    expect(allEvaluated({ settings: ['BM25', 'FT'], seed: 42 }, stateOf('eval:BM25', 'eval:FT'))).toBe(true);
    expect(allEvaluated({ settings: ['BM25', 'FT'], seed: 42 }, stateOf('eval:BM25'))).toBe(false);
  });
});

describe('updateManifest', () => {
  const manifest = (status: RunManifest['status']) =>
    ({ status, done: [], updatedAt: '', config: CONFIG }) as unknown as RunManifest;

  it('keeps a run of two seeds running while only the first seed has all its rows', () => {
    const m = updateManifest(manifest('running'), stateOf(...FIRST_SEED), new Date('2026-12-05T01:00:00Z'));
    expect(m).toMatchObject({ status: 'running', done: ['BM25', 'FT', 'ExpandR', 'w/o LLM training'], updatedAt: '2026-12-05T01:00:00.000Z' });
  });

  it('a manifest marked complete by an earlier version goes back to running; stopped stays stopped', () => {
    expect(updateManifest(manifest('complete'), stateOf(...FIRST_SEED)).status).toBe('running');
    expect(updateManifest(manifest('stopped'), stateOf(...FIRST_SEED)).status).toBe('stopped');
  });

  it("is complete with the last seed's rows", () => {
    const all = stateOf(...FIRST_SEED, 'eval:FT@seed43', 'eval:ExpandR@round1@seed43', 'eval:ExpandR@seed43');
    expect(updateManifest(manifest('running'), all).status).toBe('complete');
  });
});
