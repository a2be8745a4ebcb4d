// Launchers for the two passes of a global p-norm over many tensors (torch's get_total_norm): fixed-size
// chunk partials per tensor, in tensor order, then one workgroup that folds them into a GPU scalar.

import { dispatch, grid } from '../device/batch.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const common = wgslFile('norm_common', new URL('./wgsl/norm_common.wgsl', import.meta.url));
const partialsSource = wgslFile('norm_partials', new URL('./wgsl/norm_partials.wgsl', import.meta.url));
const finishSource = wgslFile('norm_finish', new URL('./wgsl/norm_finish.wgsl', import.meta.url));

/** Elements one workgroup of pass 1 folds into one partial. */
export const NORM_CHUNK = 4096;

/** L2, L1, L∞, or a general p (given as `p`). */
export type NormKind = 'l2' | 'l1' | 'inf' | 'p';
const KINDS: Record<NormKind, number> = { l2: 0, l1: 1, inf: 2, p: 3 };

/** Pass 1: the ceil(n / NORM_CHUNK) partials of n contiguous f32/f16 `values`, written from `outIndex` on. */
export function runNormPartials(n: number, values: Operand, partials: GPUBuffer, outIndex: number, kind: NormKind, p: number): void {
  const groups = Math.ceil(n / NORM_CHUNK);
  if (groups === 0) return;
  dispatch({
    kernel: {
      name: 'norm-partials',
      code: prelude({ T: wgslStorageType(values.dtype) }, values.dtype === 'f16') + common.text() + partialsSource.text(),
      bindings: ['read', 'write', 'uniform'],
    },
    buffers: [whole(values), { buffer: partials, offset: 0, size: partials.size }],
    uniforms: new UniformWriter().u32(n, values.offset, outIndex, groups).f32(p).u32(KINDS[kind]).bytes(),
    workgroups: grid(groups),
  });
}

/** Pass 2: folds `count` partials into the f32 scalar `norm`. */
export function runNormFinish(count: number, partials: GPUBuffer, norm: Operand, kind: NormKind, p: number): void {
  dispatch({
    kernel: { name: 'norm-finish', code: common.text() + finishSource.text(), bindings: ['read', 'write', 'uniform'] },
    buffers: [{ buffer: partials, offset: 0, size: partials.size }, whole(norm)],
    uniforms: new UniformWriter().u32(count, norm.offset, KINDS[kind]).f32(p).bytes(),
    workgroups: [1, 1, 1],
  });
}
