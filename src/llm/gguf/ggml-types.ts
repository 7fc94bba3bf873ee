// ggml tensor types (ggml.h `enum ggml_type`) and their block layouts (gguf-py GGML_QUANT_SIZES, gguf 0.19):
// every type a GGUF may hold, so the reader can size any tensor; dequant.ts says which we turn into float32.
// Ids 4, 5 and 31-33, 36-38 were removed from ggml and never appear in current files.

export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
  NVFP4: 40,
  Q1_0: 41,
} as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

/** Weights per block and bytes per block, by type id (GGML_QUANT_SIZES). */
export const GGML_BLOCK: Readonly<Record<GgmlType, { weights: number; bytes: number }>> = Object.freeze({
  [GgmlType.F32]: { weights: 1, bytes: 4 },
  [GgmlType.F16]: { weights: 1, bytes: 2 },
  [GgmlType.Q4_0]: { weights: 32, bytes: 18 },
  [GgmlType.Q4_1]: { weights: 32, bytes: 20 },
  [GgmlType.Q5_0]: { weights: 32, bytes: 22 },
  [GgmlType.Q5_1]: { weights: 32, bytes: 24 },
  [GgmlType.Q8_0]: { weights: 32, bytes: 34 },
  [GgmlType.Q8_1]: { weights: 32, bytes: 40 },
  [GgmlType.Q2_K]: { weights: 256, bytes: 84 },
  [GgmlType.Q3_K]: { weights: 256, bytes: 110 },
  [GgmlType.Q4_K]: { weights: 256, bytes: 144 },
  [GgmlType.Q5_K]: { weights: 256, bytes: 176 },
  [GgmlType.Q6_K]: { weights: 256, bytes: 210 },
  [GgmlType.Q8_K]: { weights: 256, bytes: 292 },
  [GgmlType.IQ2_XXS]: { weights: 256, bytes: 66 },
  [GgmlType.IQ2_XS]: { weights: 256, bytes: 74 },
  [GgmlType.IQ3_XXS]: { weights: 256, bytes: 98 },
  [GgmlType.IQ1_S]: { weights: 256, bytes: 50 },
  [GgmlType.IQ4_NL]: { weights: 32, bytes: 18 },
  [GgmlType.IQ3_S]: { weights: 256, bytes: 110 },
  [GgmlType.IQ2_S]: { weights: 256, bytes: 82 },
  [GgmlType.IQ4_XS]: { weights: 256, bytes: 136 },
  [GgmlType.I8]: { weights: 1, bytes: 1 },
  [GgmlType.I16]: { weights: 1, bytes: 2 },
  [GgmlType.I32]: { weights: 1, bytes: 4 },
  [GgmlType.I64]: { weights: 1, bytes: 8 },
  [GgmlType.F64]: { weights: 1, bytes: 8 },
  [GgmlType.IQ1_M]: { weights: 256, bytes: 56 },
  [GgmlType.BF16]: { weights: 1, bytes: 2 },
  [GgmlType.TQ1_0]: { weights: 256, bytes: 54 },
  [GgmlType.TQ2_0]: { weights: 256, bytes: 66 },
  [GgmlType.MXFP4]: { weights: 32, bytes: 17 },
  [GgmlType.NVFP4]: { weights: 64, bytes: 36 },
  [GgmlType.Q1_0]: { weights: 128, bytes: 18 },
});

const NAMES: Readonly<Record<number, string>> = Object.freeze(Object.fromEntries(Object.entries(GgmlType).map(([k, v]) => [v, k])));

export function isGgmlType(id: number): id is GgmlType {
  return Object.prototype.hasOwnProperty.call(NAMES, id);
}

/** 'Q4_1' for 3; 'type 99' for an id ggml does not know. */
export function ggmlTypeName(id: number): string {
  return NAMES[id] ?? `type ${id}`;
}
