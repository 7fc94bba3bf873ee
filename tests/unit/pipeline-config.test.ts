// The experiment config: defaults with reasons, unknown keys refused, and one Eq. 8 setting
// (encoder.expansionNorm) that also drives the retriever's training and the exported Normalize.
import { describe, expect, it } from 'vitest';
import { experimentConfig } from '../../src/pipeline/config.ts';
import { retrieverSettings } from '../../src/pipeline/stages-retriever.ts';
import { temperatureOf } from '../../src/train/settings.ts';
import { trainedSettings } from '../../src/train/settings.ts';

const ENCODER = { pooling: 'mean', normalize: false, similarity: 'dot', maxLength: 128, queryPrefix: '', docPrefix: '' } as const;

describe('experiment config', () => {
  it('refuses unknown keys, naming them', () => {
    expect(() => experimentConfig({ nope: 1 }, 'x.json')).toThrow(/x\.json: unknown setting "nope"/);
    expect(() => experimentConfig({ encoder: { norm: 'raw' } })).toThrow(/unknown setting "encoder\.norm"/);
  });

  it('has one Eq. 8 setting: encoder.expansionNorm drives training, its τ and the export', () => {
    for (const norm of ['contriever', 'raw'] as const) {
      const c = experimentConfig({ encoder: { expansionNorm: norm } });
      const s = retrieverSettings(c);
      expect(s.expansionNorm).toBe(norm);
      expect(temperatureOf(s)).toBe(norm === 'contriever' ? 0.02 : 1);
      expect(trainedSettings(ENCODER as never, s.expansionNorm).normalize).toBe(norm === 'contriever');
    }
  });

  it('refuses a second copy of it under retriever', () => {
    expect(() => experimentConfig({ retriever: { variant: 'raw' } })).toThrow(/encoder\.expansionNorm/);
    expect(() => experimentConfig({ retriever: { expansionNorm: 'raw' } })).toThrow(/encoder\.expansionNorm/);
  });
});
