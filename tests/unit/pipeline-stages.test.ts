// The typed stage table: names keep the run-state format of earlier runs (so they resume), parse back to
// the same ids, and each belongs to the page step the table says.
import { describe, expect, it } from 'vitest';
import { parseStageName, stageName, STAGES, stepOfStage, type StageId } from '../../src/pipeline/stages.ts';

const IDS: [StageId, string][] = [
  [{ kind: 'expansions', llm: 'base', queries: 'test' }, 'expansions:base:test'],
  [{ kind: 'expansions', llm: 'round-1', queries: 'train' }, 'expansions:round-1:train'],
  [{ kind: 'candidates', llm: 'base' }, 'candidates:base'],
  [{ kind: 'preferences', name: 'wo-self-reward' }, 'preferences:wo-self-reward'],
  [{ kind: 'dpo', name: 'round-2' }, 'dpo:round-2'],
  [{ kind: 'retriever', name: 'FT' }, 'retriever:FT'],
  [{ kind: 'eval', setting: 'w/o retriever reward' }, 'eval:w/o retriever reward'],
  [{ kind: 'expansions', llm: 'round-1', queries: 'dev' }, 'expansions:round-1:dev'],
  [{ kind: 'devEval', setting: 'ExpandR' }, 'devEval:ExpandR'],
  [{ kind: 'plainEval', encoder: 'round-2@seed43', queries: 'dev' }, 'plainEval:round-2@seed43:dev'],
];

describe('stage table', () => {
  it('names stages as earlier run states did, and parses them back', () => {
    for (const [id, name] of IDS) {
      expect(stageName(id)).toBe(name);
      expect(parseStageName(name)).toEqual(id);
    }
  });

  it('maps stages to the page steps', () => {
    expect(IDS.map(([, n]) => stepOfStage(n))).toEqual(['expand', 'expand', 'expand', 'train', 'train', 'train', 'evaluate', 'expand', 'evaluate', 'evaluate']);
    expect(Object.keys(STAGES).sort()).toEqual(['candidates', 'devEval', 'dpo', 'eval', 'expansions', 'plainEval', 'preferences', 'retriever']);
  });

  it('refuses names it does not know', () => {
    expect(parseStageName('nonsense')).toBeNull();
    expect(parseStageName('foo:bar')).toBeNull();
    expect(parseStageName('expansions:base:other')).toBeNull();
  });
});
