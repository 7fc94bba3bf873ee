// LoRA adapters on the decoder's projections (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large
// Language Models", arXiv:2106.09685), numerically as PEFT's `lora.Linear` (peft 0.13):
//   y = x·Wᵀ + b + scaling · dropout(x)·Aᵀ·Bᵀ,   A (r, in), B (out, r), scaling = α/r (α/√r with rsLoRA)
// A starts kaiming-uniform with a = √5 (U(−1/√in, 1/√in), torch's nn.Linear default, PEFT's init), B at 0,
// so a fresh adapter changes nothing. Each adapter plugs into LlamaModel through its `adapters` map (the
// LinearAdapter seam); the base weights stay frozen and only A and B are trainable.
// Randomness (A's init, dropout masks) is seeded: init from (seed, module), dropout from a per-step seed
// the trainer sets, then (module, call) — so a resumed run draws exactly the masks of an uninterrupted one.
// PEFT files (adapter_config.json, adapter_model.safetensors) are in lora-peft.ts.
import * as tf from '@tensorflow/tfjs-core';
import { ExpandrError } from '../errors.ts';
import { createRng, deriveSeed } from '../util/random.ts';
import type { LinearAdapter, LlamaModel } from './llama.ts';
import type { WeightData } from './weights.ts';

export interface LoraSettings {
  /** Rank r of A (r, in) and B (out, r). */
  r: number;
  /** α: the update is scaled by α/r. */
  alpha: number;
  /** Dropout on the adapter's input, training only. */
  dropout: number;
  /**
   * PEFT's target_modules: a list of names (a module matches when its name equals one or ends with
   * "." + one), or a string, matched as a regular expression against the whole module name.
   */
  targetModules: string[] | string;
  /** rsLoRA (Kalajdzievski 2023): scale by α/√r instead of α/r. */
  useRslora: boolean;
  /** Seed of A's initialisation. */
  seed: number;
}

export const LORA_DEFAULTS: Readonly<LoraSettings> = Object.freeze({
  r: 8, // DESIGN.md §1 / the reference code
  alpha: 32, // ditto: scaling 4
  dropout: 0.1, // ditto
  targetModules: Object.freeze(['q_proj', 'v_proj']) as unknown as string[], // PEFT's default for Llama/Qwen2
  useRslora: false, // PEFT's default
  seed: 0,
});

/** Defaults merged with overrides; throws on an unknown key or a value out of range. */
export function loraSettings(over: Partial<LoraSettings> = {}): LoraSettings {
  for (const k of Object.keys(over)) if (!(k in LORA_DEFAULTS)) throw new RangeError(`Unknown LoRA setting "${k}" (known: ${Object.keys(LORA_DEFAULTS).join(', ')})`);
  const s: LoraSettings = { ...LORA_DEFAULTS, ...over };
  s.targetModules = typeof s.targetModules === 'string' ? s.targetModules : [...s.targetModules];
  if (!(Number.isInteger(s.r) && s.r > 0)) throw new RangeError(`LoRA r must be a positive integer, got ${s.r}`);
  if (!(Number.isFinite(s.alpha) && s.alpha > 0)) throw new RangeError(`LoRA alpha must be positive, got ${s.alpha}`);
  if (!(s.dropout >= 0 && s.dropout < 1)) throw new RangeError(`LoRA dropout must be in [0, 1), got ${s.dropout}`);
  if (s.targetModules.length === 0) throw new RangeError('LoRA needs at least one target module');
  return s;
}

export const loraScaling = (s: Pick<LoraSettings, 'r' | 'alpha' | 'useRslora'>): number => (s.useRslora ? s.alpha / Math.sqrt(s.r) : s.alpha / s.r);

/** PEFT's `check_target_module_exists` for a list or a regex string. */
export function matchesTarget(moduleName: string, targets: readonly string[] | string): boolean {
  if (typeof targets === 'string') return new RegExp(`^(?:${targets})$`).test(moduleName);
  return targets.some((t) => moduleName === t || moduleName.endsWith('.' + t));
}

/** Where dropout masks come from: a seed set per micro-batch, then one stream per (module, call). */
class DropoutSeeds {
  private seed = 0;
  private calls = new Map<number, number>();
  reset(seed: number): void {
    this.seed = seed;
    this.calls.clear();
  }
  next(moduleIndex: number): number {
    const n = this.calls.get(moduleIndex) ?? 0;
    this.calls.set(moduleIndex, n + 1);
    return deriveSeed(deriveSeed(this.seed, moduleIndex), n);
  }
}

/** One adapted projection: delta(x) = scaling · dropout(x)·Aᵀ·Bᵀ. */
export class LoraLinear implements LinearAdapter {
  /** (r, in), trainable. */
  readonly a: tf.Variable;
  /** (out, r), trainable. */
  readonly b: tf.Variable;

  constructor(
    readonly module: string,
    readonly index: number,
    readonly inFeatures: number,
    readonly outFeatures: number,
    private readonly settings: LoraSettings,
    private readonly seeds: DropoutSeeds,
  ) {
    const { r } = settings;
    // kaiming_uniform_(a=√5) on a (r, in) weight: bound = gain·√(3/fan_in), gain = √(2/(1+5)) → 1/√in.
    const bound = 1 / Math.sqrt(inFeatures);
    const rng = createRng(deriveSeed(settings.seed, index));
    const init = new Float32Array(r * inFeatures);
    for (let i = 0; i < init.length; i++) init[i] = (2 * rng.float() - 1) * bound;
    this.a = tf.tidy(() => tf.variable(tf.tensor2d(init, [r, inFeatures]), true));
    this.b = tf.tidy(() => tf.variable(tf.zeros([outFeatures, r]), true));
  }

  get scaling(): number {
    return loraScaling(this.settings);
  }

  /** x (N, in) → (N, out). */
  delta(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const p = this.settings.dropout;
      const xd = training && p > 0 ? tf.mul(x, this.dropoutMask(x.shape[0], p)) : x; // (N, in)
      const down = tf.matMul(xd, this.a, false, true); // (N, r)
      return tf.mul(tf.matMul(down, this.b, false, true), this.scaling) as tf.Tensor2D; // (N, out)
    });
  }

  /** Inverted dropout: keep with probability 1 − p, kept values scaled by 1/(1 − p) (torch.nn.Dropout). */
  private dropoutMask(rows: number, p: number): tf.Tensor2D {
    const rng = createRng(this.seeds.next(this.index));
    const n = rows * this.inFeatures;
    const m = new Float32Array(n);
    const keep = 1 / (1 - p);
    for (let i = 0; i < n; i++) m[i] = rng.float() < p ? 0 : keep;
    return tf.tensor2d(m, [rows, this.inFeatures]);
  }

  /** scaling · B·A, (out, in): what merging adds to W. */
  deltaWeight(): tf.Tensor2D {
    return tf.tidy(() => tf.mul(tf.matMul(this.b, this.a), this.scaling));
  }

  dispose(): void {
    this.a.dispose();
    this.b.dispose();
  }
}

/** The adapters of one model, in module order (layer by layer, forward order within a layer). */
export class LoraAdapters {
  readonly layers: LoraLinear[] = [];
  private readonly seeds = new DropoutSeeds();
  private mergedInto: LlamaModel | null = null;

  /** Fresh adapters (B = 0) on every projection of `model` that the targets match; not attached yet. */
  constructor(
    model: LlamaModel,
    readonly settings: LoraSettings,
  ) {
    const names = model.linearNames().filter((n) => matchesTarget(n, settings.targetModules));
    if (names.length === 0) {
      const t = typeof settings.targetModules === 'string' ? settings.targetModules : settings.targetModules.join(', ');
      throw new ExpandrError(`LoRA target modules (${t}) match no projection of the model; its projections end in ${[...new Set(model.linearNames().map((n) => n.split('.').pop()))].join(', ')}.`);
    }
    names.forEach((name, i) => {
      const [out, inF] = model.param(name + '.weight').shape;
      this.layers.push(new LoraLinear(name, i, inF, out, settings, this.seeds));
    });
  }

  /** New adapters with the defaults overridden by `over`, attached to the model. */
  static attachNew(model: LlamaModel, over: Partial<LoraSettings> = {}): LoraAdapters {
    const lora = new LoraAdapters(model, loraSettings(over));
    lora.attach(model);
    return lora;
  }

  /** Trainable variables: A then B of each module, in module order (the optimizer's and checkpoints' order). */
  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => [l.a, l.b]);
  }

  get merged(): boolean {
    return this.mergedInto !== null;
  }

  attach(model: LlamaModel): void {
    for (const l of this.layers) model.adapters.set(l.module, l);
  }

  detach(model: LlamaModel): void {
    for (const l of this.layers) if (model.adapters.get(l.module) === l) model.adapters.delete(l.module);
  }

  /** Seeds the dropout masks of the next forward passes (call once per micro-batch). */
  setDropoutSeed(seed: number): void {
    this.seeds.reset(seed);
  }

  /** W += scaling·B·A for every module, then detach (the model alone now computes the adapted function). */
  merge(model: LlamaModel): void {
    if (this.mergedInto) throw new ExpandrError('The LoRA adapter is already merged; unmerge it first.');
    if (model.config.tiedEmbeddings && this.layers.some((l) => l.module === 'lm_head')) {
      throw new ExpandrError('Cannot merge a LoRA on lm_head of a model with tied embeddings (it would change the input embeddings too).');
    }
    for (const l of this.layers) {
      const w = model.param(l.module + '.weight');
      tf.tidy(() => w.assign(tf.add(w, l.deltaWeight())));
    }
    this.detach(model);
    this.mergedInto = model;
  }

  /** W −= scaling·B·A and re-attach: the base weights back (up to float32 rounding). */
  unmerge(model: LlamaModel): void {
    if (this.mergedInto !== model) throw new ExpandrError('The LoRA adapter is not merged into this model.');
    for (const l of this.layers) {
      const w = model.param(l.module + '.weight');
      tf.tidy(() => w.assign(tf.sub(w, l.deltaWeight())));
    }
    this.mergedInto = null;
    this.attach(model);
  }

  /** A and B by module name: `${module}.lora_A.weight` (r, in), `${module}.lora_B.weight` (out, r). */
  async getWeights(): Promise<Map<string, WeightData>> {
    const out = new Map<string, WeightData>();
    for (const l of this.layers) {
      out.set(`${l.module}.lora_A.weight`, { shape: [...l.a.shape], data: new Float32Array(await l.a.data()) });
      out.set(`${l.module}.lora_B.weight`, { shape: [...l.b.shape], data: new Float32Array(await l.b.data()) });
    }
    return out;
  }

  /** Sets A and B from `getWeights()`-style names; every module must be present with its shape. */
  setWeights(weights: ReadonlyMap<string, WeightData>, file = 'adapter'): void {
    if (this.mergedInto) throw new ExpandrError('Unmerge the LoRA adapter before replacing its weights.');
    for (const l of this.layers) {
      for (const [part, v] of [['lora_A', l.a], ['lora_B', l.b]] as const) {
        const name = `${l.module}.${part}.weight`;
        const w = weights.get(name);
        if (!w) throw new ExpandrError(`${file}: no "${name}" for the adapted module ${l.module}.`);
        if (w.shape.join() !== v.shape.join()) throw new ExpandrError(`${file}: "${name}" has shape [${w.shape}], the model needs [${v.shape}].`);
        tf.tidy(() => v.assign(tf.tensor(w.data, v.shape)));
      }
    }
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}
