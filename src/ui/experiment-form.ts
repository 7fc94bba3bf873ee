// The experiment form's model, plain TypeScript: the form's values from the overrides JSON the page runs
// (ps.configText) and back (only values that differ from the defaults are written), each typed value
// parsed and checked where it is typed (config-validate.ts through experimentConfig, so the form refuses
// exactly what a run would), and the two starting points. Keys the form has no field for (the page's own
// data/encoder/LLM keys of an imported runner config) are kept as they are.
import { experimentConfig } from '../pipeline/config.ts';
import { defaultAt } from '../pipeline/config-notes.ts';
import { CONFIG_RULES } from '../pipeline/config-validate.ts';
import { SETTING_NAMES } from '../pipeline/types.ts';
import { FIELD_BY_PATH, FORM_FIELDS, type FormField } from './experiment-form-fields.ts';

export interface FormState {
  /** path → value in effect (undefined: an unset optional key, e.g. seeds). */
  values: Record<string, unknown>;
  /** Overrides the form has no field for, kept as given (nested as in the JSON). */
  extra: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
/** A deep copy of JSON values (also of the page's reactive proxies, which structuredClone refuses). */
const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

/** A field's default: the config's (trainers' defaults under retriever/dpo); undefined for keys written only when set. */
export function defaultOf(field: FormField): unknown {
  return field.unsetMeans ? undefined : clone(defaultAt(field.path));
}

function getAt(obj: Obj, path: string): unknown {
  let v: unknown = obj;
  for (const k of path.split('.')) v = isObj(v) ? v[k] : undefined;
  return v;
}

function setAt(obj: Obj, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (isObj(o[k]) ? o[k] : (o[k] = {})) as Obj;
  o[keys[keys.length - 1]] = value;
}

/** `over` without the keys the form has fields for (empty objects dropped). */
function withoutFields(over: Obj, prefix = ''): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(over)) {
    const path = prefix + k;
    if (FIELD_BY_PATH.has(path)) continue;
    if (isObj(v) && [...FIELD_BY_PATH.keys()].some((p) => p.startsWith(`${path}.`))) {
      const rest = withoutFields(v, `${path}.`);
      if (Object.keys(rest).length) out[k] = rest;
    } else out[k] = clone(v);
  }
  return out;
}

export function formFromOverrides(over: Obj): FormState {
  const values: Obj = {};
  for (const field of FORM_FIELDS) {
    const v = getAt(over, field.path);
    values[field.path] = v === undefined ? defaultOf(field) : clone(v);
  }
  return { values, extra: withoutFields(over) };
}

/** The overrides JSON the page runs: values that differ from the defaults, then the extra keys. */
export function overridesOf(state: FormState): Obj {
  const out: Obj = {};
  for (const field of FORM_FIELDS) {
    const v = state.values[field.path];
    if (v !== undefined && !same(v, defaultOf(field))) setAt(out, field.path, v);
  }
  const merge = (into: Obj, from: Obj) => {
    for (const [k, v] of Object.entries(from)) {
      if (isObj(v) && isObj(into[k])) merge(into[k] as Obj, v);
      else into[k] = v;
    }
  };
  merge(out, clone(state.extra));
  return out;
}

export function configTextOf(state: FormState): string {
  return JSON.stringify(overridesOf(state), null, 2);
}

/** The form from the page's JSON, or why it cannot be read (the form then keeps what it had). */
export function formFromConfigText(text: string): { state: FormState } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text.trim() || '{}');
  } catch (e) {
    return { error: `The JSON is not valid: ${(e as Error).message}.` };
  }
  if (!isObj(json)) return { error: 'The JSON must be an object of settings, e.g. {"trainQueries": 8}.' };
  return { state: formFromOverrides(json) };
}

/** What the input box shows for a value. */
export function textOf(field: FormField, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.join(', ');
  return String(v);
}

/** The typed text as a value of the field's kind, or what is wrong with it. */
export function parseText(field: FormField, text: string): { value: unknown } | { error: string } {
  const t = text.trim();
  if (t === '') {
    if (field.unsetMeans) return { value: undefined };
    if (field.nullMeans) return { value: null };
    if (field.kind === 'text') return { value: '' }; // the rule says it must not be empty
    return { error: 'needs a value' };
  }
  const num = (s: string) => (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s) ? Number(s) : NaN);
  switch (field.kind) {
    case 'int':
    case 'number': {
      const n = num(t);
      if (Number.isNaN(n)) return { error: `"${t}" is not a number` };
      if (field.kind === 'int' && !Number.isInteger(n)) return { error: `must be a whole number, got ${t}` };
      return { value: n };
    }
    case 'numbers': {
      const parts = t.split(/[\s,;]+/).filter(Boolean);
      const bad = parts.find((p) => Number.isNaN(num(p)));
      if (bad !== undefined) return { error: `"${bad}" is not a number (give a comma-separated list)` };
      return { value: parts.map(num) };
    }
    case 'texts':
      return { value: t.split(',').map((s) => s.trim()).filter(Boolean) };
    default:
      return { value: t };
  }
}

/** The config a run of this form would use, checked as a run checks it (page-set keys stubbed). */
function wholeCheck(state: FormState): string | null {
  const over = overridesOf(state);
  // The page names the LLM itself; '' lets the check pass engine/model pairs it cannot see here.
  const llm = isObj(over.llm) ? over.llm : {};
  try {
    experimentConfig({ ...over, llm: { ...llm, model: llm.model ?? '' } }, 'the form');
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Why `value` is refused for `field` in `state`, or null when it is fine: the config's own range rule
 * first (its words: "must be a number > 0"), then the whole config's check (the trainers' cross-field
 * checks, e.g. crop ratio min ≤ max).
 */
export function checkValue(state: FormState, field: FormField, value: unknown): string | null {
  if (value === undefined) return null;
  const rule = CONFIG_RULES[field.path];
  const want = rule?.(value);
  if (want) return `must be ${want}`;
  const next: FormState = { ...state, values: { ...state.values, [field.path]: value } };
  const err = wholeCheck(next);
  if (!err) return null;
  // An error the rest of the form already had is not this field's.
  return wholeCheck(state) === err ? null : err.replace(/^the form: /, '');
}

/** Each field's problem in a state read from JSON (an imported config may hold values the form refuses). */
export function fieldProblems(state: FormState): Record<string, string> {
  const out: Record<string, string> = {};
  const clean = formFromOverrides({});
  for (const field of FORM_FIELDS) {
    const v = state.values[field.path];
    const want = CONFIG_RULES[field.path]?.(v);
    if (v !== undefined && want) out[field.path] = `must be ${want}`;
    else if (v !== undefined && !same(v, defaultOf(field))) {
      const err = checkValue(clean, field, v);
      if (err) out[field.path] = err;
    }
  }
  return out;
}

/** The problem of the whole config (e.g. an unknown key in imported JSON), or null. */
export function configProblem(state: FormState): string | null {
  return wholeCheck(state);
}

/** The settings in table order, with `name` switched on or off. */
export function toggleSetting(current: readonly string[], name: string, on: boolean): string[] {
  const set = new Set(current);
  if (on) set.add(name);
  else set.delete(name);
  return SETTING_NAMES.filter((s) => set.has(s));
}
