// The fused attention kernels' one input check (src/util/attention-inputs.ts): the shape it reads and the
// error that names the kernel and every input's shape when q, k, v or the mask do not fit.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { attentionShape } from '../../src/util/attention-inputs.ts';

const t = (shape: number[], dtype: 'float32' | 'int32' = 'float32') => ({ dataId: {}, shape, dtype }) as unknown as tf.TensorInfo;

describe('attentionShape', () => {
  it('reads batch, sequence, width and head size from q (B·T, d) and the mask (B, T)', () => {
    expect(attentionShape('K', t([6, 8]), t([6, 8]), t([6, 8]), t([2, 3]), 2)).toEqual({ batch: 2, seq: 3, d: 8, headSize: 4 });
  });
  it.each([
    ['k of another width', [t([6, 8]), t([6, 4]), t([6, 8]), t([2, 3])], 2, 1],
    ['v of another length', [t([6, 8]), t([6, 8]), t([5, 8]), t([2, 3])], 2, 1],
    ['rows ≠ B·T', [t([6, 8]), t([6, 8]), t([6, 8]), t([2, 4])], 2, 1],
    ['an int32 mask', [t([6, 8]), t([6, 8]), t([6, 8]), t([2, 3], 'int32')], 2, 1],
    ['d not divisible by heads', [t([6, 8]), t([6, 8]), t([6, 8]), t([2, 3])], 3, 1],
    ['a head size that is not a multiple of 4', [t([6, 8]), t([6, 8]), t([6, 8]), t([2, 3])], 4, 4],
  ] as const)('rejects %s, naming the kernel and the shapes', (_what, [q, k, v, mask], heads, multiple) => {
    expect(() => attentionShape('MyKernel', q, k, v, mask, heads, multiple)).toThrow(/^MyKernel: expects float32 q, k, v .* got q \[6,8\], k \[.*\], v \[.*\], mask \[.*\], heads \d/);
  });
});
