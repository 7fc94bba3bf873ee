// A Llama-family decoder in tfjs (Llama 2/3, SmolLM2, Qwen2/2.5, llama2.c), read top to bottom:
// RMSNorm → attention (RoPE, GQA, causal + padding mask) → SwiGLU MLP → block → model.
//
// References: Touvron et al. 2023, "Llama 2" (arXiv:2307.09288); Zhang & Sennrich 2019, RMSNorm
// (arXiv:1910.07467); Su et al. 2021, RoPE (arXiv:2104.09864); Ainslie et al. 2023, GQA
// (arXiv:2305.13245); Shazeer 2020, SwiGLU (arXiv:2002.05202); transformers' modeling_llama.py and
// modeling_qwen2.py; karpathy/llama2.c run.c.
//
// Two entry points share one forward: `logits(ids, mask)` runs whole sequences and is differentiable
// (tf.variableGrads) for log-probs and DPO; `step(cache, ...)` appends tokens to a KV cache for generation.
// Every projection goes through `linear(name, x)`, which adds an adapter's output when one is registered
// under that module name (the LoRA seam). Base weights are non-trainable variables keyed by HF names.
// Gradients need tfjs' gradient registry: import './gradients.ts' (bundlers, vitest) or call
// registerGradientsNode() from src/cli/tfjs-gradients.ts (tsx/Node) before tf.variableGrads.
import * as tf from '@tensorflow/tfjs-core';
import { attentionMatMul, matMulBT } from '../util/matmul.ts';
import { checkConfig, type DecoderConfig } from './config.ts';
import { KVCache } from './kv-cache.ts';
import { causalBias, MASKED_SCORE } from './mask.ts';
import { Rope, type RopeAngles } from './rope.ts';
import { LAYER_LINEARS, selectWeights, type Weights } from './weights.ts';

/**
 * Something that adds to a frozen projection's output: y = x·Wᵀ + b + delta(x). LoRA implements it as
 * (α/r)·B·A·dropout(x); `training` switches dropout on.
 */
export interface LinearAdapter {
  /** x [N, in] → [N, out]. */
  delta(x: tf.Tensor2D, training: boolean): tf.Tensor2D;
}

export interface ForwardOptions {
  /** Training mode for adapters (dropout). The base model has no dropout. */
  training?: boolean;
}

/** One layer's cached keys and values, k and v (B, nkv, T, hd). */
type LayerKV = { k: tf.Tensor4D; v: tf.Tensor4D };

export class LlamaModel {
  /** Base weights, HF names (`model.layers.0.self_attn.q_proj.weight`); frozen (trainable = false). */
  readonly weights = new Map<string, tf.Variable>();
  /** Adapters by module name (`model.layers.0.self_attn.q_proj`), consulted by `linear`. */
  readonly adapters = new Map<string, LinearAdapter>();
  /** Off = the base model (DPO's reference policy) without removing the adapters. */
  adaptersEnabled = true;
  private readonly rope: Rope;

  constructor(readonly config: DecoderConfig, weights: Weights, file = 'weights') {
    checkConfig(config, file);
    for (const [name, w] of selectWeights(config, weights, file)) {
      const t = tf.tensor(w.data, w.shape, 'float32');
      this.weights.set(name, tf.variable(t, false)); // shares t's data
      t.dispose();
    }
    this.rope = new Rope(config);
  }

  /** Module names of every projection that can carry an adapter, layer by layer, then lm_head. */
  linearNames(): string[] {
    const names: string[] = [];
    for (let l = 0; l < this.config.layers; l++) for (const m of LAYER_LINEARS) names.push(`model.layers.${l}.${m}`);
    names.push('lm_head');
    return names;
  }

  /** A weight by HF name; a tied model's `lm_head.weight` is the embedding matrix. */
  param(name: string): tf.Variable {
    const key = name === 'lm_head.weight' && this.config.tiedEmbeddings ? 'model.embed_tokens.weight' : name;
    const w = this.weights.get(key);
    if (!w) throw new Error(`LlamaModel: no weight "${name}"`);
    return w;
  }

  /** x [..., in] → [..., out]: x·Wᵀ (+ bias) (+ the adapter registered under `name`). */
  linear(name: string, x: tf.Tensor, opts: ForwardOptions = {}): tf.Tensor {
    const w = this.param(name + '.weight'); // (out, in)
    const lead = x.shape.slice(0, -1);
    const x2 = tf.reshape(x, [-1, x.shape[x.shape.length - 1]]) as tf.Tensor2D; // (N, in)
    let y: tf.Tensor2D = matMulBT(x2, w as tf.Tensor2D); // (N, out)
    const b = this.weights.get(name + '.bias');
    if (b) y = tf.add(y, b);
    const adapter = this.adaptersEnabled ? this.adapters.get(name) : undefined;
    if (adapter) y = tf.add(y, adapter.delta(x2, opts.training ?? false));
    return tf.reshape(y, [...lead, w.shape[0]]);
  }

  /** RMSNorm: x / sqrt(mean(x²) + eps) · weight, over the last axis. */
  private rmsNorm(x: tf.Tensor3D, weightName: string): tf.Tensor3D {
    const ms = tf.mean(tf.square(x), -1, true); // (B, T, 1)
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, this.config.normEps))), this.param(weightName));
  }

  /** Grouped-query causal self-attention of layer l; returns the output and this layer's keys/values. */
  private attention(l: number, x: tf.Tensor3D, angles: RopeAngles, bias: tf.Tensor4D, past: LayerKV | null, opts: ForwardOptions) {
    const { heads: nh, kvHeads: nkv, headDim: hd } = this.config;
    const [B, S] = x.shape;
    const p = `model.layers.${l}.self_attn.`;
    let q = tf.reshape(this.linear(p + 'q_proj', x, opts), [B, S, nh, hd]) as tf.Tensor4D; // (B, S, nh, hd)
    let k = tf.reshape(this.linear(p + 'k_proj', x, opts), [B, S, nkv, hd]) as tf.Tensor4D; // (B, S, nkv, hd)
    const v = tf.reshape(this.linear(p + 'v_proj', x, opts), [B, S, nkv, hd]) as tf.Tensor4D; // (B, S, nkv, hd)
    q = tf.transpose(this.rope.apply(q, angles), [0, 2, 1, 3]); // (B, nh, S, hd)
    k = tf.transpose(this.rope.apply(k, angles), [0, 2, 1, 3]); // (B, nkv, S, hd)
    let vt = tf.transpose(v, [0, 2, 1, 3]) as tf.Tensor4D; // (B, nkv, S, hd)
    if (past) {
      k = tf.concat([past.k, k], 2); // (B, nkv, T, hd)
      vt = tf.concat([past.v, vt], 2); // (B, nkv, T, hd)
    }
    const T = k.shape[2];
    const rep = nh / nkv;
    // GQA without copying keys: query heads kv·rep … kv·rep + rep − 1 share kv head `kv` (transformers'
    // repeat_kv order), so stacking each group's queries along the time axis lets one matMul serve them.
    // The products as 3D batches (B·nkv of them): on wasm, XNNPACK 2D products (matmul.ts attentionMatMul).
    const qg = tf.reshape(q, [B * nkv, rep * S, hd]) as tf.Tensor3D; // (B·nkv, rep·S, hd)
    const k3 = tf.reshape(k, [B * nkv, T, hd]) as tf.Tensor3D;
    let att = tf.mul(attentionMatMul(qg, k3, true), 1 / Math.sqrt(hd)); // (B·nkv, rep·S, T)
    att = tf.softmax(tf.add(tf.reshape(att, [B, nh, S, T]), bias)); // (B, nh, S, T), bias (B, 1, S, T)
    const y = attentionMatMul(tf.reshape(att, [B * nkv, rep * S, T]) as tf.Tensor3D, tf.reshape(vt, [B * nkv, T, hd]) as tf.Tensor3D, false); // (B·nkv, rep·S, hd)
    const merged = tf.reshape(tf.transpose(tf.reshape(y, [B, nh, S, hd]), [0, 2, 1, 3]), [B, S, nh * hd]); // (B, S, nh·hd)
    return { out: this.linear(p + 'o_proj', merged, opts) as tf.Tensor3D, kv: { k, v: vt } };
  }

  /** SwiGLU: down(silu(gate(x)) · up(x)). */
  private mlp(l: number, x: tf.Tensor3D, opts: ForwardOptions): tf.Tensor3D {
    const p = `model.layers.${l}.mlp.`;
    const g = this.linear(p + 'gate_proj', x, opts); // (B, S, hidden)
    const u = this.linear(p + 'up_proj', x, opts); // (B, S, hidden)
    return this.linear(p + 'down_proj', tf.mul(tf.mul(g, tf.sigmoid(g)), u), opts) as tf.Tensor3D; // (B, S, D)
  }

  /** The blocks and the final norm over new tokens ids (B, S) given the past; hidden states (B, S, D). */
  private forward(ids: tf.Tensor2D, positions: tf.Tensor2D, bias: tf.Tensor4D, past: LayerKV[] | null, opts: ForwardOptions) {
    let x = tf.gather(this.param('model.embed_tokens.weight'), ids) as tf.Tensor3D; // (B, S, D)
    const angles = this.rope.at(positions); // shared by every layer
    const present: LayerKV[] = [];
    for (let l = 0; l < this.config.layers; l++) {
      const p = `model.layers.${l}.`;
      const a = this.attention(l, this.rmsNorm(x, p + 'input_layernorm.weight'), angles, bias, past?.[l] ?? null, opts);
      x = tf.add(x, a.out);
      x = tf.add(x, this.mlp(l, this.rmsNorm(x, p + 'post_attention_layernorm.weight'), opts));
      present.push(a.kv);
    }
    return { h: this.rmsNorm(x, 'model.norm.weight'), present };
  }

  /** [..., D] → [..., V] through lm_head (the embedding matrix when tied). */
  lmHead(h: tf.Tensor): tf.Tensor {
    return this.linear('lm_head', h);
  }

  /**
   * Final hidden states (B, T, D) of whole sequences. `attentionMask` (B, T), 1 = token, 0 = padding,
   * allows left or right padding: positions count real tokens only (as transformers' generate sets
   * position_ids from the mask), and padding is never attended to. Differentiable.
   */
  hidden(inputIds: tf.Tensor2D, attentionMask?: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    const [B, T] = inputIds.shape;
    this.rope.ensure(T);
    return tf.tidy(() => {
      const causal = tf.tensor4d(causalBias(T, 0), [1, 1, T, T]);
      let positions: tf.Tensor2D;
      let bias: tf.Tensor4D;
      if (attentionMask) {
        const m = tf.cast(attentionMask, 'float32'); // (B, T)
        positions = tf.cast(tf.relu(tf.sub(tf.cumsum(m, 1), 1)), 'int32') as tf.Tensor2D; // (B, T)
        bias = tf.add(causal, tf.reshape(tf.mul(tf.sub(1, m), MASKED_SCORE), [B, 1, 1, T])); // (B, 1, T, T)
      } else {
        positions = tf.tile(tf.reshape(tf.range(0, T, 1, 'int32'), [1, T]), [B, 1]) as tf.Tensor2D; // (B, T)
        bias = causal;
      }
      return this.forward(tf.cast(inputIds, 'int32'), positions, bias, null, opts).h;
    });
  }

  /** Next-token logits (B, T, V) for whole sequences; see `hidden` for the mask. Differentiable. */
  logits(inputIds: tf.Tensor2D, attentionMask?: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => this.lmHead(this.hidden(inputIds, attentionMask, opts)) as tf.Tensor3D);
  }

  /** An empty KV cache for `batch` sequences. */
  createCache(batch: number): KVCache {
    return new KVCache(batch);
  }

  /**
   * Appends S tokens per row to the cache and returns the logits (B, V) at the last new position.
   * `tokens` is B rows of S ids; `mask` (same shape, optional) marks padding with 0 (left-padded prompts,
   * or finished rows that keep the batch in step). Not meant for gradients (generation only).
   */
  step(cache: KVCache, tokens: number[][], mask?: number[][]): tf.Tensor2D {
    const B = cache.batch;
    const S = tokens[0]?.length ?? 0;
    if (tokens.length !== B || S === 0 || tokens.some((r) => r.length !== S)) {
      throw new Error(`LlamaModel.step: expected ${B} rows of equal, non-zero length`);
    }
    const { positions, bias } = cache.append(mask ?? tokens.map((r) => r.map(() => 1)), this.config.maxSeqLen);
    this.rope.ensure(Math.max(...positions) + 1);
    const T = cache.length;
    const out = tf.tidy(() => {
      const ids = tf.tensor2d(tokens.flat(), [B, S], 'int32');
      const pos = tf.tensor2d(positions, [B, S], 'int32');
      const b = tf.tensor4d(bias, [B, 1, S, T]);
      const { h, present } = this.forward(ids, pos, b, cache.layers.length ? cache.layers : null, {});
      const last = tf.slice(h, [0, S - 1, 0], [B, 1, -1]); // (B, 1, D)
      return { logits: tf.reshape(this.lmHead(last), [B, this.config.vocab]) as tf.Tensor2D, present };
    });
    cache.replace(out.present);
    return out.logits;
  }

  dispose(): void {
    for (const w of this.weights.values()) w.dispose();
    this.weights.clear();
    this.rope.dispose();
  }
}
