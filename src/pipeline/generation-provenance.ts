// What made a generated text: the engine that ran the model and the precision of its weights.
// A quantised WebLLM model (q4f16_1) samples other texts than the tfjs decoder on float32 weights, and a
// GGUF's Q4_1 weights give other logits than its F16 export: rows compared with each other must come from
// the same engine and precision, so every generation says which, and the generation cache keys on both.
//
// The precision of a decoder's files is read by src/llm/weight-precision.ts. This file holds no model
// code, so the page's tables can use it without loading tfjs.

/** Engines that generate texts here: the tfjs decoder, WebLLM (MLC) in the page, llama.cpp (GGUF peers). */
export type GenerationEngine = 'tfjs' | 'webllm' | 'llama.cpp';

export interface GenerationProvenance {
  engine: GenerationEngine;
  /** Weights as stored: 'float32', 'bfloat16', 'float16', a GGUF type ('Q4_1', 'Q8_0', …) or WebLLM's 'q4f16_1'. */
  precision: string;
  /** The model (file label, preset id) and, for a tuned one, '+lora:HASH'. */
  model: string;
  /**
   * Who samples, when not the engine itself: 'expandr' (src/llm/sampling.ts: temperature, then top-p) on the
   * page's llama.cpp (wllama), where the runner's native llama.cpp samples with its own chain (top-p before
   * temperature): the same weights then sample other texts, so the two are not comparable. Absent: the engine's own.
   */
  sampler?: string;
  /**
   * How a tuned model's adapter reached the engine, when it matters: 'runtime' is llama.cpp's LoRA path on the
   * unchanged base GGUF (src/llm/gguf/lora-adapter-gguf.ts), so the base and tuned models share their quantized
   * arithmetic. Keyed in the generation cache (texts of the earlier merged-GGUF path are never served for it);
   * not a difference of engine or precision (rows stay comparable with the base's).
   */
  lora?: 'runtime';
}

/** 'tfjs float32'. */
export const provenanceText = (p: Pick<GenerationProvenance, 'engine' | 'precision' | 'sampler'>): string => `${p.engine} ${p.precision}${p.sampler ? ` (${p.sampler} sampler)` : ''}`;

/** Same engine and precision: texts of the two are comparable (the model may differ: that is what is compared). */
export const sameEngine = (a: Pick<GenerationProvenance, 'engine' | 'precision' | 'sampler'>, b: Pick<GenerationProvenance, 'engine' | 'precision' | 'sampler'>): boolean =>
  a.engine === b.engine && a.precision === b.precision && a.sampler === b.sampler;

/** WebLLM's quantisation from its model id ('Qwen2.5-0.5B-Instruct-q4f16_1-MLC' → 'q4f16_1'); 'unknown' when the id has none. */
export function webLlmPrecision(modelId: string): string {
  return /-(q\d+f\d+(?:_\d+)?)(?:-|$)/.exec(modelId)?.[1] ?? 'unknown';
}
