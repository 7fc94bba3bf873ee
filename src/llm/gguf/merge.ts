// A PEFT LoRA adapter merged into base weights without building the model: W' = W + scaling·B·A per adapted
// module (scaling = α/r, α/√r with rsLoRA), as peft's merge_and_unload (peft/tuners/lora/layer.py
// get_delta_weight). The base comes from a WeightSource read one tensor at a time (a GGUF, dequantized), so
// merging SmolLM2's 60 adapted matrices never holds the model whole. The page, which has the model loaded with
// its adapters in tfjs, uses src/llm/webllm/merged-weights.ts's mergedWeightSource instead; both hand the
// exporter HF-named weights in HF's row layout.
import { ModelFormatError } from '../../errors.ts';
import { readSafetensors } from '../../model/safetensors.ts';
import { loraScaling, matchesTarget } from '../lora.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, PEFT_KEY_PREFIX, parsePeftConfig } from '../lora-peft.ts';
import type { WeightSource } from '../webllm/mlc-params.ts';
import { loraDelta } from '../webllm/merged-weights.ts';
import type { WeightData } from '../weights.ts';

/** Merged weights as the exporter takes them: a reader and which HF weights differ from the base. */
export interface MergedWeights {
  /** HF name → weight with the adapter merged in (the base weight where there is no adapter). */
  read: WeightSource;
  /** HF names of the weights that changed (e.g. model.layers.0.self_attn.q_proj.weight). */
  changed: ReadonlySet<string>;
  /** One line for the exported file's metadata: what was merged. */
  description: string;
}

export interface ModuleAdapter {
  a: WeightData;
  b: WeightData;
}

/** The adapter's A/B per module (HF module name), from the safetensors keys PEFT writes. */
export function adapterModules(files: ReadonlyMap<string, Uint8Array>, label: string): Map<string, Partial<ModuleAdapter>> {
  const bytes = files.get(ADAPTER_WEIGHTS);
  if (!bytes) throw new ModelFormatError(label, `no ${ADAPTER_WEIGHTS}`, 'Give a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)');
  const file = `${label}/${ADAPTER_WEIGHTS}`;
  const st = readSafetensors(bytes, file);
  const modules = new Map<string, Partial<ModuleAdapter>>();
  for (const key of st.tensors.keys()) {
    // Older PEFT versions kept the adapter name ("lora_A.default.weight") in saved keys.
    const m = /^(.*)\.lora_([AB])(?:\.default)?\.weight$/.exec(key);
    if (!m || !m[1].startsWith(PEFT_KEY_PREFIX)) {
      throw new ModelFormatError(file, `unexpected tensor "${key}"`, `PEFT LoRA keys look like ${PEFT_KEY_PREFIX}model.layers.0.self_attn.q_proj.lora_A.weight`);
    }
    const module = m[1].slice(PEFT_KEY_PREFIX.length);
    const entry = modules.get(module) ?? {};
    entry[m[2] === 'A' ? 'a' : 'b'] = { shape: st.tensors.get(key)!.shape, data: st.getFloat32(key) };
    modules.set(module, entry);
  }
  return modules;
}

/**
 * `base` with the PEFT adapter in `adapterFiles` (adapter_config.json + adapter_model.safetensors, by name)
 * merged in. Shapes are checked against the base weight when it is read; `label` names the adapter in errors.
 */
export function peftMergedWeights(base: WeightSource, adapterFiles: ReadonlyMap<string, Uint8Array>, label = 'adapter'): MergedWeights {
  const configBytes = adapterFiles.get(ADAPTER_CONFIG);
  const where = `${label}/${ADAPTER_CONFIG}`;
  if (!configBytes) throw new ModelFormatError(label, `no ${ADAPTER_CONFIG}`, 'Give a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (e) {
    throw new ModelFormatError(where, `not valid JSON (${(e as Error).message})`, 'Re-export the adapter');
  }
  const settings = parsePeftConfig(json, where);
  const scaling = loraScaling(settings);
  const adapters = new Map<string, ModuleAdapter>();
  for (const [module, { a, b }] of adapterModules(adapterFiles, label)) {
    if (!matchesTarget(module, settings.targetModules)) {
      throw new ModelFormatError(`${label}/${ADAPTER_WEIGHTS}`, `tensors for ${module}, which target_modules (${JSON.stringify(settings.targetModules)}) does not select`, 'The adapter files do not belong together; re-export the adapter');
    }
    if (!a || !b) throw new ModelFormatError(`${label}/${ADAPTER_WEIGHTS}`, `${module} has lora_${a ? 'B' : 'A'} but not lora_${a ? 'A' : 'B'}`, 'Re-export the adapter');
    const ok = a.shape.length === 2 && b.shape.length === 2 && a.shape[0] === settings.r && b.shape[1] === settings.r;
    if (!ok) throw new ModelFormatError(`${label}/${ADAPTER_WEIGHTS}`, `${module}: lora_A [${a.shape}] and lora_B [${b.shape}] do not have rank r = ${settings.r}`, 'Fix r in adapter_config.json or re-export the adapter');
    adapters.set(`${module}.weight`, { a, b });
  }
  if (!adapters.size) throw new ModelFormatError(`${label}/${ADAPTER_WEIGHTS}`, 'no LoRA tensors', 'Give the adapter that training wrote');
  const targets = typeof settings.targetModules === 'string' ? settings.targetModules : settings.targetModules.join(', ');
  return {
    changed: new Set(adapters.keys()),
    description: `LoRA r ${settings.r}, alpha ${settings.alpha}${settings.useRslora ? ' (rsLoRA)' : ''} on ${targets} (${adapters.size} matrices) merged in`,
    read: async (name) => {
      const w = await base(name);
      const adapter = adapters.get(name);
      if (!adapter) return w;
      const [outDim, inDim] = w.shape;
      const { a, b } = adapter;
      if (w.shape.length !== 2 || a.shape[1] !== inDim || b.shape[0] !== outDim) {
        throw new ModelFormatError(`${label}/${ADAPTER_WEIGHTS}`, `${name} is [${w.shape}] but the adapter has A [${a.shape}], B [${b.shape}]`, 'The adapter was trained on another model');
      }
      const delta = loraDelta(a.data, b.data, settings.r, inDim, outDim, scaling);
      const data = new Float32Array(w.data.length);
      for (let i = 0; i < data.length; i++) data[i] = w.data[i] + delta[i];
      return { shape: [...w.shape], data };
    },
  };
}
