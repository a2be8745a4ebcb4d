// Launcher for batched matmul out[b] = a[b] @ b[b]: `out` is contiguous [batch, M, N]; `a` and `b` are
// strided views [batch..., M, K] and [batch..., K, N] whose batch axes are already broadcast (stride 0),
// so transposed operands are read without a copy.

import { dispatch } from '../device/batch.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, coalesce, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const naive = wgslFile('matmul_naive', new URL('./wgsl/matmul_naive.wgsl', import.meta.url));

export interface MatmulProblem {
  readonly out: Operand;
  readonly a: Operand;
  readonly b: Operand;
}

/** Batch axes of a and b after merging, at most 4. */
function batchLayout(p: MatmulProblem): { shape: number[]; a: number[]; b: number[] } {
  const k = p.a.shape.length - 2;
  const c = coalesce(p.a.shape.slice(0, k), [p.a.strides.slice(0, k), p.b.strides.slice(0, k)]);
  if (c.shape.length > 4) throw new Error('matmul: at most 4 non-mergeable batch dimensions are supported');
  return { shape: c.shape, a: c.strides[0]!, b: c.strides[1]! };
}

export function runMatmul(p: MatmulProblem): void {
  const r = p.a.shape.length;
  const M = p.a.shape[r - 2]!;
  const K = p.a.shape[r - 1]!;
  const N = p.b.shape[r - 1]!;
  const bl = batchLayout(p);
  const batch = bl.shape.reduce((x, y) => x * y, 1);
  if (M * N * batch === 0) return;
  const u = new UniformWriter()
    .u32(M, N, K, batch, p.a.offset, p.a.strides[r - 2]!, p.a.strides[r - 1]!, bl.shape.length)
    .u32(p.b.offset, p.b.strides[r - 2]!, p.b.strides[r - 1]!, 0)
    .vecU32(bl.shape, 4).vecU32(bl.a, 4).vecU32(bl.b, 4);
  const f16 = p.a.dtype === 'f16' || p.out.dtype === 'f16';
  const code = prelude({ T: wgslStorageType(p.a.dtype), O: wgslStorageType(p.out.dtype) }, f16) + naive.text();
  dispatch({
    kernel: { name: 'matmul:naive', code, bindings: ['write', 'read', 'read', 'uniform'] },
    buffers: [whole(p.out), whole(p.a), whole(p.b)],
    uniforms: u.bytes(),
    workgroups: [Math.ceil(N / 8), Math.ceil(M / 8), batch],
  });
}
