// Launchers for the two passes of a global p-norm over many tensors (torch's get_total_norm): fixed-size
// chunk partials per tensor, in tensor order, 7 tensors a dispatch, then one workgroup that folds them into
// a GPU scalar.

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

/** Tensors one pass-1 dispatch reads (with the partials: WebGPU's minimum of 8 storage buffers per stage). */
export const NORM_TENSORS_PER_DISPATCH = 7;

/** One tensor of pass 1: n contiguous f32/f16 `values`, whose partials go from `outIndex` on. */
export interface NormInput {
  readonly n: number;
  readonly values: Operand;
  readonly outIndex: number;
}

/**
 * Pass 1: the ceil(n / NORM_CHUNK) partials of each input (all of one dtype), 7 inputs a dispatch; the
 * partials are those of one dispatch per input, bit for bit.
 */
export function runNormPartials(inputs: readonly NormInput[], partials: GPUBuffer, kind: NormKind, p: number): void {
  const todo = inputs.filter((t) => t.n > 0);
  const dtype = todo[0]?.values.dtype;
  if (dtype === undefined) return;
  if (todo.some((t) => t.values.dtype !== dtype)) throw new Error('runNormPartials: the inputs of one call must share a dtype');
  for (let k = 0; k < todo.length; k += NORM_TENSORS_PER_DISPATCH) {
    const chunk = todo.slice(k, k + NORM_TENSORS_PER_DISPATCH);
    const first: number[] = [];
    let groups = 0;
    for (const t of chunk) {
      first.push(groups);
      groups += Math.ceil(t.n / NORM_CHUNK);
    }
    const u = new UniformWriter().u32(chunk.length, groups).f32(p).u32(KINDS[kind]);
    chunk.forEach((t, i) => u.u32(t.n, t.values.offset, t.outIndex, first[i]!));
    const values = chunk.map((t) => whole(t.values));
    while (values.length < NORM_TENSORS_PER_DISPATCH) values.push(values[0]!);
    dispatch({
      kernel: {
        name: 'norm-partials',
        code: prelude({ T: wgslStorageType(dtype) }, dtype === 'f16') + common.text() + partialsSource.text(),
        bindings: ['write', ...Array<'read'>(NORM_TENSORS_PER_DISPATCH).fill('read'), 'uniform'],
      },
      buffers: [{ buffer: partials, offset: 0, size: partials.size }, ...values],
      uniforms: u.bytes(),
      workgroups: grid(groups),
    });
  }
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
