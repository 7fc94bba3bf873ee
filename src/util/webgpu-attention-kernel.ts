// Scaled dot-product attention as ONE WGSL program for tfjs-backend-webgpu (kernel FUSED_ATTENTION,
// inference only: no gradient, no dropout). Composed from tfjs ops, attention is 4 head transposes, a
// batched Q·Kᵀ, scale, mask add, softmax and a batched ·V — seven dispatches per layer and a
// (batch, heads, T, T) score tensor written and read three times. Here one invocation per (row, head,
// query) walks the keys once with an online softmax (running max m, running sum l, rescaled
// accumulator: Milakov & Gimelshein 2018, as FlashAttention), reading Q, K, V straight from the linear
// layers' (B·T, d) outputs (head h = columns h·hs … h·hs + hs − 1) and writing (B·T, d) heads side by
// side, so no transposes either. Values equal softmax(QKᵀ·scale + mask)·V up to float32 rounding.
// Registered as in @genai-fi/nanogpt (registerKernel + a WebGPUProgram run by backend.runWebGPUProgram).
import * as tf from '@tensorflow/tfjs-core';
import { attentionShape } from './attention-inputs.ts';
import { registerKernelOnce } from './register-kernel-once.ts';

export const FUSED_ATTENTION = 'ExpandrFusedAttention';
export const PACKED_ATTENTION = 'ExpandrPackedAttention';

/**
 * On by default; benchmarks switch them off to time what they replace in the same run. skipPadding: BertModel
 * inference (BertEncoder.embed) on the tokens only, packed without padding (encoder/packing.ts).
 */
export const webgpuKernelSwitches = { fusedAttention: true, skipPadding: true };
const WORKGROUP = 64;

interface FusedAttentionAttrs {
  batch: number;
  seqLen: number;
  heads: number;
  scale: number;
}

/** The parts of tfjs-backend-webgpu's WebGPUProgram this program sets (webgpu_program.d.ts). */
interface Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  getUserCode(): string;
}

/**
 * WGSL of one query's attention over `count` keys, from qBase (its head's first column) to the output: keys at
 * rows `kvRow` (an expression of j), each score + `maskTerm`; an online softmax (running max m, sum l, rescaled
 * accumulator) in one walk. Needs HS, D, q, k, v, uniforms.scale and h in scope.
 */
const attendWgsl = (hs: number, count: string, kvRow: string, maskTerm: string) => `
        var qv : array<f32, ${hs}>;
        var acc : array<f32, ${hs}>;
        for (var c = 0; c < HS; c++) {
          qv[c] = q[qBase + c];
          acc[c] = 0.0;
        }
        var m = -3.402823e+38f;
        var l = 0.0;
        for (var j = 0; j < ${count}; j++) {
          let kvBase = (${kvRow}) * D + h * HS;
          var s = 0.0;
          for (var c = 0; c < HS; c++) { s += qv[c] * k[kvBase + c]; }
          s = s * uniforms.scale${maskTerm};
          if (s > m) {
            let rescale = exp(m - s);
            l *= rescale;
            for (var c = 0; c < HS; c++) { acc[c] *= rescale; }
            m = s;
          }
          let p = exp(s - m);
          l += p;
          for (var c = 0; c < HS; c++) { acc[c] += p * v[kvBase + c]; }
        }
        for (var c = 0; c < HS; c++) { setOutputAtIndex(qBase + c, acc[c] / l); }`;

function attentionProgram(b: number, t: number, heads: number, hs: number): Program {
  const rows = b * heads * t; // one invocation per (row, head, query)
  const d = heads * hs;
  return {
    variableNames: ['q', 'k', 'v', 'mask'],
    outputShape: [b * t, d],
    shaderKey: `expandrFusedAttention_${t}_${heads}_${hs}_${b}`,
    dispatchLayout: { x: [0, 1] }, // flat: main(index) gets the global invocation index
    dispatch: [Math.ceil(rows / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    uniforms: 'scale : f32,',
    getUserCode: () => `
      const T = ${t};
      const HS = ${hs};
      const HEADS = ${heads};
      const D = ${d};
      const ROWS = ${rows};
      fn main(index : i32) {
        if (index >= ROWS) { return; }
        // index = ((b · HEADS) + h) · T + i: consecutive invocations share (b, h), so K and V rows are shared.
        let i = index % T;
        let h = (index / T) % HEADS;
        let b = index / (T * HEADS);
        let qBase = (b * T + i) * D + h * HS;
${attendWgsl(hs, 'T', 'b * T + j', ' + mask[b * T + j]')}
      }
    `,
  };
}

/**
 * The same attention over sequences packed without padding: q, k, v (N, d), N the tokens; seqs (2N) int32, for
 * each row its sequence's first row and length. One invocation per (head, row); N a uniform, so batches of
 * other sizes reuse the compiled program. No mask: every key of a sequence is a token.
 */
function packedProgram(n: number, heads: number, hs: number): Program {
  return {
    variableNames: ['q', 'k', 'v', 'seqs'],
    outputShape: [n, heads * hs],
    shaderKey: `expandrPackedAttention_${heads}_${hs}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil((n * heads) / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    uniforms: 'scale : f32, n : i32,',
    getUserCode: () => `
      const HS = ${hs};
      const HEADS = ${heads};
      const D = ${heads * hs};
      fn main(index : i32) {
        let n = uniforms.n;
        if (index >= n * HEADS) { return; }
        // index = h · N + r: consecutive invocations are consecutive rows of one head, mostly of one sequence.
        let r = index % n;
        let h = index / n;
        let start = i32(seqs[2 * r]);
        let len = i32(seqs[2 * r + 1]);
        let qBase = r * D + h * HS;
${attendWgsl(hs, 'len', 'start + j', '')}
      }
    `,
  };
}

interface WebGpuBackendLike {
  runWebGPUProgram(program: Program, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms: { type: string; data: number[] }[]): tf.TensorInfo;
}

function fusedAttentionKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const { q, k, v, mask } = inputs as Record<'q' | 'k' | 'v' | 'mask', tf.TensorInfo>;
  const { batch, seqLen, heads, scale } = attrs as FusedAttentionAttrs;
  const shape = attentionShape(FUSED_ATTENTION, q, k, v, mask, heads);
  if (shape.batch !== batch || shape.seq !== seqLen) throw new Error(`${FUSED_ATTENTION}: attrs say B ${batch}, T ${seqLen} but the mask is [${mask.shape}]`);
  const program = attentionProgram(batch, seqLen, heads, shape.headSize);
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [q, k, v, mask], 'float32', [{ type: 'float32', data: [scale] }]);
}

function packedAttentionKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const { q, k, v, seqs } = inputs as Record<'q' | 'k' | 'v' | 'seqs', tf.TensorInfo>;
  const { heads, scale } = attrs as { heads: number; scale: number };
  const [n, d] = q.shape;
  const same = (t: tf.TensorInfo) => t.shape.length === 2 && t.shape[0] === n && t.shape[1] === d && t.dtype === 'float32';
  if (!same(q) || !same(k) || !same(v) || seqs.dtype !== 'int32' || seqs.shape.join() !== `${2 * n}` || !Number.isInteger(d / heads)) {
    throw new Error(`${PACKED_ATTENTION}: expects float32 q, k, v (N, d) with d divisible by heads and int32 seqs (2N); got q [${q.shape}], k [${k.shape}], v [${v.shape}], seqs ${seqs.dtype} [${seqs.shape}], heads ${heads}`);
  }
  const program = packedProgram(n, heads, d / heads);
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [q, k, v, seqs], 'float32', [{ type: 'float32', data: [scale] }, { type: 'int32', data: [n] }]);
}

/** Registers FUSED_ATTENTION and PACKED_ATTENTION for the webgpu backend (idempotent). */
export function registerFusedAttention(): void {
  registerKernelOnce(FUSED_ATTENTION, 'webgpu', fusedAttentionKernel);
  registerKernelOnce(PACKED_ATTENTION, 'webgpu', packedAttentionKernel);
}

/**
 * softmax(q·kᵀ·scale + mask)·v per head, heads side by side: q, k, v (B·T, d) as the linear layers give
 * them, maskAdd (B, T) additive (0 or a large negative). → (B·T, d). Webgpu only, no gradient.
 */
export function webgpuFusedAttention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, maskAdd: tf.Tensor2D, heads: number, scale: number): tf.Tensor2D {
  registerFusedAttention();
  const [batch, seqLen] = maskAdd.shape;
  const attrs = { batch, seqLen, heads, scale };
  return tf.engine().runKernel(FUSED_ATTENTION, { q, k, v, mask: maskAdd } as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/**
 * webgpuFusedAttention over sequences packed without padding (encoder/packing.ts): q, k, v (N, d); seqs (2N)
 * int32, row r's sequence as [first row, length]. → (N, d), each row as webgpuFusedAttention gives that token in
 * the padded batch (its padding keys add exact zeros there). Webgpu only, no gradient.
 */
export function webgpuPackedAttention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, seqs: tf.Tensor1D, heads: number, scale: number): tf.Tensor2D {
  registerFusedAttention();
  return tf.engine().runKernel(PACKED_ATTENTION, { q, k, v, seqs } as unknown as tf.NamedTensorMap, { heads, scale } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}
