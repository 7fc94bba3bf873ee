// LoRA adapters in PEFT's layout, so that `PeftModel.from_pretrained(base, DIR)` loads what we train and we
// load what PEFT trains (peft 0.13, tests/reference/gen/check_peft_adapter.py checks it):
//   adapter_config.json        LoraConfig.to_dict() field names (peft_type "LORA", task_type "CAUSAL_LM", …)
//   adapter_model.safetensors  F32, metadata {"format": "pt"}, keys
//                              base_model.model.<module>.lora_A.weight (r, in) / .lora_B.weight (out, r)
// (PEFT wraps the causal LM as base_model (LoraModel) → model (…ForCausalLM) → model.layers…, and drops
// the adapter name "default" from saved keys.) A zip of the folder is the download; its bytes are
// reproducible (sorted names, stored, fixed mtime).
// llama2.c models keep Meta's interleaved q/k row order (config.ropeLayout 'interleaved'): an adapter
// trained on one has q_proj/k_proj lora_B rows in that order too, so it fits the llama2.c weights, not an
// HF conversion of them (which permutes those rows) unless lora_B is permuted alike.
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { ModelFormatError } from '../errors.ts';
import { readSafetensors, writeSafetensors } from '../model/safetensors.ts';
import type { ModelFiles } from './files.ts';
import type { LlamaModel } from './llama.ts';
import { LoraAdapters, loraSettings, type LoraSettings } from './lora.ts';
import type { WeightData } from './weights.ts';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** PEFT's prefix of every saved key for a causal LM. */
export const PEFT_KEY_PREFIX = 'base_model.model.';
/** DOS epoch: the same adapter always zips to the same bytes. */
const ZIP_MTIME = new Date('1980-01-01T00:00:00Z');

/** adapter_config.json as peft 0.13's LoraConfig.to_dict() + save_pretrained writes it (set → sorted list). */
export function peftAdapterConfig(settings: LoraSettings, baseModel: string): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: settings.alpha,
    lora_dropout: settings.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: settings.r,
    rank_pattern: {},
    revision: null,
    target_modules: typeof settings.targetModules === 'string' ? settings.targetModules : [...settings.targetModules].sort(),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: settings.useRslora,
  };
}

/** The adapter folder: adapter_config.json + adapter_model.safetensors (+ extra JSON files, e.g. training info). */
export async function exportPeftAdapter(lora: LoraAdapters, baseModel: string, extra: Record<string, unknown> = {}): Promise<Map<string, Uint8Array>> {
  const tensors = new Map<string, WeightData>();
  for (const [name, w] of await lora.getWeights()) tensors.set(PEFT_KEY_PREFIX + name, w);
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');
  const files = new Map<string, Uint8Array>([
    [ADAPTER_CONFIG, json(peftAdapterConfig(lora.settings, baseModel))],
    [ADAPTER_WEIGHTS, writeSafetensors(tensors, { format: 'pt' })],
  ]);
  for (const [name, value] of Object.entries(extra)) files.set(name, json(value));
  return files;
}

/** A zip of the folder (under `root/` when given), stored, sorted, fixed mtime. */
export function zipAdapter(files: ReadonlyMap<string, Uint8Array>, root = ''): Uint8Array {
  const z: Zippable = {};
  const prefix = root ? `${root.replace(/\/+$/, '')}/` : '';
  for (const name of [...files.keys()].sort()) z[prefix + name] = [files.get(name)!, { level: 0, mtime: ZIP_MTIME }];
  return zipSync(z);
}

/** A zip's files, with a single top folder (if any) removed, for `readPeftAdapter`. */
export function unzipAdapter(zip: Uint8Array): Map<string, Uint8Array> {
  const all = Object.entries(unzipSync(zip)).filter(([n]) => !n.endsWith('/') && !n.startsWith('__MACOSX/'));
  const cfg = all.find(([n]) => n === ADAPTER_CONFIG || n.endsWith('/' + ADAPTER_CONFIG));
  const root = cfg ? cfg[0].slice(0, cfg[0].length - ADAPTER_CONFIG.length) : '';
  return new Map(all.filter(([n]) => n.startsWith(root)).map(([n, b]) => [n.slice(root.length), b]));
}

/** LoRA settings from adapter_config.json; anything we cannot reproduce exactly is refused with the reason. */
export function parsePeftConfig(json: unknown, file = ADAPTER_CONFIG): LoraSettings & { baseModel: string | null } {
  const fail = (problem: string, fix: string) => new ModelFormatError(file, problem, fix);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('not a JSON object', 'Give the adapter_config.json PEFT wrote.');
  const c = json as Record<string, unknown>;
  if (c.peft_type !== 'LORA') throw fail(`peft_type is ${JSON.stringify(c.peft_type)}, not "LORA"`, 'Only LoRA adapters are supported.');
  if (c.task_type != null && c.task_type !== 'CAUSAL_LM') throw fail(`task_type is ${JSON.stringify(c.task_type)}`, 'Use an adapter trained for CAUSAL_LM.');
  const unsupported: [string, boolean][] = [
    ['bias other than "none"', c.bias != null && c.bias !== 'none'],
    ['use_dora', c.use_dora === true],
    ['fan_in_fan_out', c.fan_in_fan_out === true],
    ['modules_to_save', Array.isArray(c.modules_to_save) && c.modules_to_save.length > 0],
    ['layers_to_transform', c.layers_to_transform != null],
    ['rank_pattern / alpha_pattern', [c.rank_pattern, c.alpha_pattern].some((p) => p && typeof p === 'object' && Object.keys(p).length > 0)],
    ['layer_replication', c.layer_replication != null],
  ];
  const bad = unsupported.filter(([, on]) => on).map(([n]) => n);
  if (bad.length) throw fail(`uses ${bad.join(', ')}`, 'Only plain LoRA (per-module A and B, one r and alpha) can be loaded.');
  const targets = c.target_modules;
  const targetModules = typeof targets === 'string' ? targets : Array.isArray(targets) && targets.every((t) => typeof t === 'string') ? (targets as string[]) : null;
  if (!targetModules) throw fail('target_modules must be a list of names or a regex string', 'Fix the adapter_config.json.');
  try {
    const s = loraSettings({
      r: Number(c.r),
      alpha: Number(c.lora_alpha),
      dropout: Number(c.lora_dropout ?? 0),
      targetModules,
      useRslora: c.use_rslora === true,
    });
    return { ...s, baseModel: typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : null };
  } catch (e) {
    throw fail((e as Error).message, 'Fix the adapter_config.json.');
  }
}

/**
 * Reads a PEFT adapter folder (or its unzipped files) onto `model`: the adapters are created for the
 * modules adapter_config.json targets, filled from the safetensors file, and attached. Every key must
 * belong to a targeted module and every targeted module must have both matrices.
 */
export async function readPeftAdapter(model: LlamaModel, files: ModelFiles | ReadonlyMap<string, Uint8Array>, label = 'adapter'): Promise<{ lora: LoraAdapters; baseModel: string | null }> {
  const read = async (name: string): Promise<Uint8Array> => {
    if (files instanceof Map) {
      const b = files.get(name);
      if (!b) throw new ModelFormatError(label, `no ${name}`, 'Give a PEFT adapter folder (adapter_config.json + adapter_model.safetensors).');
      return b;
    }
    const f = files as ModelFiles;
    if (!f.has(name)) throw new ModelFormatError(f.label, `no ${name}`, 'Give a PEFT adapter folder (adapter_config.json + adapter_model.safetensors).');
    return f.read(name);
  };
  const where = `${label}/${ADAPTER_CONFIG}`;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(await read(ADAPTER_CONFIG)));
  } catch (e) {
    if (e instanceof ModelFormatError) throw e;
    throw new ModelFormatError(where, `not valid JSON (${(e as Error).message})`, 'Re-export the adapter.');
  }
  const { baseModel, ...settings } = parsePeftConfig(json, where);
  const stFile = `${label}/${ADAPTER_WEIGHTS}`;
  const st = readSafetensors(await read(ADAPTER_WEIGHTS), stFile);
  const weights = new Map<string, WeightData>();
  for (const key of st.tensors.keys()) {
    // Older PEFT versions kept the adapter name ("lora_A.default.weight") in saved keys.
    const name = key.replace(/\.(lora_[AB])\.default\.weight$/, '.$1.weight');
    if (!name.startsWith(PEFT_KEY_PREFIX) || !/\.lora_[AB]\.weight$/.test(name)) {
      throw new ModelFormatError(stFile, `unexpected tensor "${key}"`, `PEFT LoRA keys look like ${PEFT_KEY_PREFIX}model.layers.0.self_attn.q_proj.lora_A.weight`);
    }
    weights.set(name.slice(PEFT_KEY_PREFIX.length), { shape: st.tensors.get(key)!.shape, data: st.getFloat32(key) });
  }
  const lora = new LoraAdapters(model, settings);
  try {
    const modules = new Set(lora.layers.map((l) => l.module));
    const stray = [...weights.keys()].filter((n) => !modules.has(n.replace(/\.lora_[AB]\.weight$/, '')));
    if (stray.length) throw new ModelFormatError(stFile, `tensors for modules outside target_modules: ${stray.slice(0, 3).join(', ')}`, 'The adapter does not match this model or its adapter_config.json.');
    lora.setWeights(weights, stFile);
  } catch (e) {
    lora.dispose();
    throw e;
  }
  lora.attach(model);
  return { lora, baseModel };
}
