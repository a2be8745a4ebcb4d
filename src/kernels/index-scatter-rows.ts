// Launcher for the row scatter-add (index-scatter-rows.wgsl): the embedding-gradient case of
// runScatterAdd — dim 0 of a contiguous [size, C] output, one index line shared by all columns, f32 rows
// that are unit-stride and 4-aligned — summed a vec4 at a time from the counting sort's buckets, without
// the general kernel's per-element coordinate arithmetic. Not a general scatter: see index-scatter.ts.

import { dispatch, grid } from '../device/batch.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const rowsSource = wgslFile('index-scatter-rows', new URL('./wgsl/index-scatter-rows.wgsl', import.meta.url));

const rowsOk = (o: Operand): boolean => o.dtype === 'f32' && o.strides[1] === 1 && o.offset % 4 === 0 && o.strides[0]! % 4 === 0 && o.window === undefined;

/**
 * Whether the row kernel computes runScatterAdd(out, base, src, index, dim) for an index with `lines`
 * lines: every output row j sums the rows of `src` in bucket j, columns all inside the index grid.
 */
export function scatterRowsApplies(out: Operand, base: Operand | null, src: Operand, index: Operand, dim: number, lines: number, limit: number): boolean {
  return dim === 0 && lines === 1 && out.shape.length === 2 && out.shape[1]! % 4 === 0 && index.shape[1] === out.shape[1]
    && out.offset === 0 && out.strides[0] === out.shape[1] && out.buffer.size <= limit
    && rowsOk(out) && rowsOk(src) && (base === null || rowsOk(base));
}

/** out[j, :] = base[j, :] (or 0) + Σ src[perm[s], :] for s in bucket j (ends, perm from index-bucket.wgsl). */
export function runScatterRows(out: Operand, base: Operand | null, src: Operand, ends: GPUBuffer, perm: GPUBuffer): void {
  const [size, cols] = [out.shape[0]!, out.shape[1]!];
  const c4 = cols / 4;
  const b = base ?? src;
  const u = new UniformWriter().u32(size, c4, src.offset / 4, src.strides[0]! / 4, b.offset / 4, b.strides[0]! / 4, base ? 1 : 0, 0);
  const all = (buffer: GPUBuffer): { buffer: GPUBuffer; offset: number; size: number } => ({ buffer, offset: 0, size: buffer.size });
  dispatch({
    kernel: { name: 'index-scatter-rows', code: prelude({ T: 'f32', C: 'f32' }, false) + rowsSource.text(), bindings: ['write', 'read', 'read', 'read', 'read', 'uniform'] },
    buffers: [whole(out), whole(b), whole(src), all(ends), all(perm)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil((size * c4) / 64)),
    work: { op: 'index-scatter', shapes: [[...src.shape], [...out.shape]] },
  });
}
