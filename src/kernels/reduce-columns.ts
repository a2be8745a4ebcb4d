// Launcher for column sums (reduce_columns.wgsl): the sum of reduce.ts when each output row is one of 4
// adjacent unit-stride f32 columns and the reduced elements lie along one 4-aligned stride — the gradient
// of a broadcast bias. Same summation order per output as reduce.wgsl (bit-identical), vec4 loads instead
// of per-lane gathers, and workgroups of 8 so a few hundred columns still spread over every core.

import { dispatch, grid } from '../device/batch.js';
import type { DType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const source = wgslFile('reduce_columns', new URL('./wgsl/reduce_columns.wgsl', import.meta.url));

interface Axes {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

/** Whether runColumnSums computes the sum of `input` over `inner` into [rows, parts] partials. */
export function columnSumsApply(out: { dtype: DType }, input: Operand, rows: Axes, inner: Axes): boolean {
  const step = inner.shape.length === 0 ? 0 : inner.strides[0]!;
  return input.dtype === 'f32' && out.dtype === 'f32' && input.window === undefined
    && rows.shape.length === 1 && rows.strides[0] === 1 && rows.shape[0]! % 4 === 0
    && inner.shape.length === 1 && step % 4 === 0 && step > 0 && input.offset % 4 === 0;
}

export function runColumnSums(out: { buffer: GPUBuffer; dtype: DType }, input: Operand, rows: Axes, inner: Axes, parts: number): void {
  const nRows = rows.shape[0]!;
  const nInner = inner.shape[0]!;
  const chunk = Math.ceil(nInner / parts);
  const u = new UniformWriter().u32(nRows, nInner, chunk, parts, input.offset, inner.strides[0]!, 0, 0);
  dispatch({
    kernel: { name: 'reduce:sum_columns', code: prelude({ T: 'f32', O: 'f32', C: 'f32' }, false) + source.text(), bindings: ['write', 'read', 'uniform'] },
    buffers: [{ buffer: out.buffer, offset: 0, size: out.buffer.size }, whole(input)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(((nRows / 4) * parts) / 8)),
    work: { op: 'sum', shapes: [[nRows, nInner]], bytes: nRows * nInner * 4 + nRows * parts * 4 },
  });
}
