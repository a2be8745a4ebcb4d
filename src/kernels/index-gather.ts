// Launcher for gather along one dimension (gather, and indexSelect through a stride-0 index): one
// invocation per output element, strided x and index read directly. Not the scatter-add (index-scatter.ts).

import { dispatch, grid } from '../device/batch.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const source = wgslFile('index-gather', new URL('./wgsl/index-gather.wgsl', import.meta.url));
const WG = 256;
/** Dimensions the indexing kernels address (shapes and strides travel as 8-entry uniforms). */
export const MAX_INDEX_RANK = 8;

/** The WGSL type an index is stored as; callers have checked the dtype is i32 or u32. */
export function indexType(index: Operand): 'i32' | 'u32' {
  return index.dtype === 'i32' ? 'i32' : 'u32';
}

/**
 * out (contiguous, shaped like `index`) = x gathered along `dim`: out[p] = x[p with p[dim] = index[p]].
 * `index.shape[d] <= x.shape[d]` for d ≠ dim; its strides may be 0 (broadcast).
 */
export function runGather(out: Operand, x: Operand, index: Operand, dim: number): void {
  const n = out.shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  if (out.shape.length > MAX_INDEX_RANK) throw new Error(`kiln: gather supports at most ${MAX_INDEX_RANK} dimensions, got ${out.shape.length}`);
  const t = wgslStorageType(x.dtype);
  const code = prelude({ T: t, I: indexType(index) }, t === 'f16') + source.text();
  const u = new UniformWriter()
    .u32(n, out.shape.length, dim, x.shape[dim]!, x.offset, index.offset, 0, 0)
    .vecU32(out.shape, MAX_INDEX_RANK)
    .vecU32(x.strides, MAX_INDEX_RANK)
    .vecU32(index.strides, MAX_INDEX_RANK);
  dispatch({
    kernel: { name: 'index-gather', code, bindings: ['write', 'read', 'read', 'uniform'] },
    buffers: [whole(out), whole(x), whole(index)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(n / WG)),
  });
}
