// The experiment form's model (src/ui/experiment-form.ts): a field for every config key, defaults equal
// to config.ts's, overrides JSON in and out unchanged, values refused with the config's own words, and
// the two presets valid configs.
import { describe, expect, it } from 'vitest';
import { EXPERIMENT_DEFAULTS, experimentConfig } from '../../src/pipeline/config.ts';
import { MOVED_KEYS } from '../../src/pipeline/config-validate.ts';
import { DPO_DEFAULTS } from '../../src/llm/dpo-settings.ts';
import { TRAIN_DEFAULTS } from '../../src/train/settings.ts';
import { FIELD_BY_PATH, FORM_FIELDS, PAGE_SET_KEYS, TEXT_ONLY_KEYS } from '../../src/ui/experiment-form-fields.ts';
import { checkValue, configProblem, configTextOf, fieldProblems, formFromConfigText, formFromOverrides, overridesOf, parseText, toggleSetting } from '../../src/ui/experiment-form.ts';
import { PAPER_CONFIG, QUICK_CONFIG } from '../../src/ui/experiment-form-presets.ts';

const field = (path: string) => FIELD_BY_PATH.get(path)!;

/** Every leaf key path of the config: the defaults, with the trainers' full settings under retriever and dpo. */
function configPaths(): string[] {
  const shape: Record<string, unknown> = { ...EXPERIMENT_DEFAULTS, retriever: TRAIN_DEFAULTS, dpo: DPO_DEFAULTS };
  const out: string[] = [];
  for (const [k, v] of Object.entries(shape)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const kk of Object.keys(v)) out.push(`${k}.${kk}`);
    else out.push(k);
  }
  return out.filter((p) => !(p in MOVED_KEYS));
}

describe('experiment form model', () => {
  it('has a field for every config key but the ones the page sets itself', () => {
    const covered = new Set([...FORM_FIELDS.map((f) => f.path), ...PAGE_SET_KEYS, ...TEXT_ONLY_KEYS]);
    expect(configPaths().filter((p) => !covered.has(p))).toEqual([]);
    expect(FORM_FIELDS.map((f) => f.path).filter((p) => !configPaths().includes(p))).toEqual([]);
    expect(new Set(FORM_FIELDS.map((f) => f.path)).size).toBe(FORM_FIELDS.length);
  });

  it('keeps the keys written in the JSON text only (variants) through the form', () => {
    const variants = [{ name: '16 candidates', why: 'more candidates', candidates: { perTemperature: 4 } }];
    const read = formFromConfigText(JSON.stringify({ rounds: 2, variants }));
    if (!('state' in read)) throw new Error(read.error);
    expect(overridesOf(read.state)).toEqual({ rounds: 2, variants });
  });

  it('starts from config.ts defaults: nothing written, and the same config as no overrides', () => {
    const state = formFromOverrides({});
    expect(overridesOf(state)).toEqual({});
    expect(configTextOf(state)).toBe('{}');
    expect(state.values['dpo.beta']).toBe(DPO_DEFAULTS.beta);
    expect(state.values['dpo.accumulation']).toBe(DPO_DEFAULTS.accumulation);
    expect(state.values['retriever.lr']).toBe(EXPERIMENT_DEFAULTS.retriever.lr);
    expect(state.values['retriever.warmupRatio']).toBe(TRAIN_DEFAULTS.warmupRatio);
    expect(state.values['candidates.temperatures']).toEqual(EXPERIMENT_DEFAULTS.candidates.temperatures);
    expect(state.values.settings).toEqual(EXPERIMENT_DEFAULTS.settings);
    expect(state.values.seeds).toBeUndefined(); // [seed] unless set
    expect(experimentConfig(overridesOf(state))).toEqual(experimentConfig({}));
  });

  it('reads overrides and writes them back unchanged, keeping keys it has no field for', () => {
    const over = { ...QUICK_CONFIG, data: '../shared/data/beir/scifact', encoder: { model: 'x', batchSize: 8 }, llm: { model: 'y', chat: false }, seeds: [1, 2] };
    const state = formFromOverrides(structuredClone(over));
    expect(state.values['encoder.batchSize']).toBe(8);
    expect(state.values['llm.chat']).toBe(false);
    expect(state.extra).toEqual({ data: '../shared/data/beir/scifact', encoder: { model: 'x' }, llm: { model: 'y' } });
    expect(overridesOf(state)).toEqual(over);
    // A value set back to its default is not written.
    state.values['dpo.steps'] = DPO_DEFAULTS.steps;
    expect((overridesOf(state).dpo as Record<string, unknown>).steps).toBeUndefined();
  });

  it('round-trips through the JSON text and says why a text cannot be read', () => {
    const read = formFromConfigText(JSON.stringify(QUICK_CONFIG));
    expect('state' in read && overridesOf(read.state)).toEqual(QUICK_CONFIG);
    expect(formFromConfigText('{"trainQueries": 8,')).toEqual({ error: expect.stringMatching(/not valid/) });
    expect(formFromConfigText('[1]')).toEqual({ error: expect.stringMatching(/object/) });
    expect(formFromConfigText('')).toEqual({ state: formFromOverrides({}) });
  });

  it('parses what is typed by the field kind, refusing what is not a value of it', () => {
    expect(parseText(field('dpo.steps'), '12')).toEqual({ value: 12 });
    expect(parseText(field('dpo.steps'), '1.5')).toEqual({ error: expect.stringMatching(/whole number/) });
    expect(parseText(field('dpo.lr'), '2e-5')).toEqual({ value: 2e-5 });
    expect(parseText(field('dpo.lr'), 'abc')).toEqual({ error: expect.stringMatching(/not a number/) });
    expect(parseText(field('dpo.lr'), '')).toEqual({ error: 'needs a value' });
    expect(parseText(field('retriever.temperature'), '')).toEqual({ value: null });
    expect(parseText(field('seeds'), '')).toEqual({ value: undefined });
    expect(parseText(field('seeds'), '1, 2 3')).toEqual({ value: [1, 2, 3] });
    expect(parseText(field('candidates.temperatures'), '0.8, x')).toEqual({ error: expect.stringMatching(/"x" is not a number/) });
    expect(parseText(field('lora.targetModules'), 'q_proj, v_proj,')).toEqual({ value: ['q_proj', 'v_proj'] });
  });

  it('refuses out-of-range values with the config’s own rule, and cross-field ones with the trainers’ check', () => {
    const s = formFromOverrides({});
    expect(checkValue(s, field('dpo.beta'), -1)).toBe('must be a number > 0');
    expect(checkValue(s, field('dpo.beta'), 0.2)).toBeNull();
    expect(checkValue(s, field('expansion.topP'), 1.5)).toBe('must be a number in (0, 1]');
    expect(checkValue(s, field('settings'), [])).toMatch(/non-empty list/);
    expect(checkValue(s, field('seeds'), [1, 1])).toMatch(/each once/);
    expect(checkValue(s, field('retriever.cropRatioMin'), 0.9)).toMatch(/cropRatio/);
    expect(checkValue(s, field('dpo.maxLength'), 0)).toMatch(/maxLength/);
    // The page names the LLM: llama.cpp is not refused for the default's model name.
    expect(checkValue(s, field('llm.engine'), 'llama.cpp')).toBeNull();
  });

  it('marks the fields of imported JSON that a run would refuse', () => {
    const s = formFromOverrides({ dpo: { beta: -1 }, trainQueries: 2.5, rounds: 2 });
    expect(fieldProblems(s)).toEqual({ 'dpo.beta': 'must be a number > 0', trainQueries: 'must be an integer ≥ 0' });
    expect(configProblem(s)).toMatch(/"trainQueries"|"dpo.beta"/);
    expect(configProblem(formFromOverrides({ nope: 1 }))).toMatch(/unknown setting "nope"/);
    expect(configProblem(formFromOverrides({ rounds: 2 }))).toBeNull();
  });

  it('keeps the settings in table order when one is switched', () => {
    expect(toggleSetting(['ExpandR', 'BM25'], 'Raw', true)).toEqual(['BM25', 'Raw', 'ExpandR']);
    expect(toggleSetting(['BM25', 'Raw'], 'BM25', false)).toEqual(['Raw']);
  });

  it('offers two valid starting points: the quick look and the paper recipe (the defaults)', () => {
    expect(configProblem(formFromOverrides(structuredClone(QUICK_CONFIG)))).toBeNull();
    expect(overridesOf(formFromOverrides(PAPER_CONFIG))).toEqual({});
    const quick = experimentConfig(QUICK_CONFIG);
    expect(quick.trainQueries).toBeGreaterThan(0);
    expect(quick.testQueries).toBeGreaterThan(0);
    expect(quick.settings).toEqual(EXPERIMENT_DEFAULTS.settings); // every row runs in the quick look too
  });
});
