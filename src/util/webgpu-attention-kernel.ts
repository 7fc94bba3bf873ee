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

/** On by default; benchmarks switch it off to time the composed ops it replaces in the same run. */
export const webgpuKernelSwitches = { fusedAttention: true };
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
        var qv : array<f32, ${hs}>;
        var acc : array<f32, ${hs}>;
        for (var c = 0; c < HS; c++) {
          qv[c] = q[qBase + c];
          acc[c] = 0.0;
        }
        var m = -3.402823e+38f;
        var l = 0.0;
        for (var j = 0; j < T; j++) {
          let kvBase = (b * T + j) * D + h * HS;
          var s = 0.0;
          for (var c = 0; c < HS; c++) { s += qv[c] * k[kvBase + c]; }
          s = s * uniforms.scale + mask[b * T + j];
          if (s > m) {
            let r = exp(m - s);
            l *= r;
            for (var c = 0; c < HS; c++) { acc[c] *= r; }
            m = s;
          }
          let p = exp(s - m);
          l += p;
          for (var c = 0; c < HS; c++) { acc[c] += p * v[kvBase + c]; }
        }
        for (var c = 0; c < HS; c++) { setOutputAtIndex(qBase + c, acc[c] / l); }
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

/** Registers FUSED_ATTENTION for the webgpu backend (idempotent). */
export function registerFusedAttention(): void {
  registerKernelOnce(FUSED_ATTENTION, 'webgpu', fusedAttentionKernel);
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
