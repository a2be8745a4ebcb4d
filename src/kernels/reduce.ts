// Launcher for row reductions (sum, max, min, argmax, argmin) over strided views. Rows longer than
// CHUNK are reduced in two deterministic passes: fixed-size partials, then the partials in order.

import { dispatch, grid } from '../device/batch.js';
import { acquireBuffer, releaseBuffer } from '../device/pool.js';
import { type DType, byteSize, computeType, wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, coalesce, whole } from './operand.js';
import { columnSumsApply, runColumnSums } from './reduce-columns.js';
import { prelude, wgslFile } from './source.js';

export type ReduceOp = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';
const OPS: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2, argmax: 3, argmin: 4 };
const source = wgslFile('reduce', new URL('./wgsl/reduce.wgsl', import.meta.url));
/** Elements one invocation reduces before a second pass takes over. */
export const CHUNK = 2048;

function launch(op: ReduceOp, out: { buffer: GPUBuffer; dtype: DType }, input: Operand, rows: { shape: number[]; strides: number[] }, inner: { shape: number[]; strides: number[] }, parts: number): void {
  const nRows = rows.shape.reduce((a, b) => a * b, 1);
  const nInner = inner.shape.reduce((a, b) => a * b, 1);
  if (op === 'sum' && columnSumsApply(out, input, rows, inner)) {
    runColumnSums(out, input, rows, inner, parts);
    return;
  }
  const chunk = Math.ceil(nInner / parts);
  const c = computeType(input.dtype);
  const f16 = input.dtype === 'f16' || out.dtype === 'f16';
  const code = prelude({ T: wgslStorageType(input.dtype), O: wgslStorageType(out.dtype), C: c }, f16) + source.text();
  const u = new UniformWriter()
    .u32(nRows, nInner, chunk, parts, input.offset, rows.shape.length, inner.shape.length, 0)
    .vecU32(rows.shape, 8).vecU32(rows.strides, 8).vecU32(inner.shape, 8).vecU32(inner.strides, 8);
  dispatch({
    kernel: { name: `reduce:${op}`, code, bindings: ['write', 'read', 'uniform'], overrides: { OP: OPS[op], FLOAT: c === 'f32' ? 1 : 0 } },
    buffers: [{ buffer: out.buffer, offset: 0, size: out.buffer.size }, whole(input)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil((nRows * parts) / 64)),
    work: { op, shapes: [[nRows, nInner]], bytes: nRows * nInner * byteSize(input.dtype) + nRows * parts * byteSize(out.dtype) },
  });
}

/**
 * Reduces `input` over its trailing `nReduce` axes (callers permute the reduced axes last) into the
 * contiguous `out` buffer of `rows` elements.
 */
export function runReduce(op: ReduceOp, out: { buffer: GPUBuffer; dtype: DType }, input: Operand, nReduce: number): void {
  const k = input.shape.length - nReduce;
  const rowsC = coalesce(input.shape.slice(0, k), [input.strides.slice(0, k)]);
  const innerC = coalesce(input.shape.slice(k), [input.strides.slice(k)]);
  const rows = { shape: rowsC.shape, strides: rowsC.strides[0]! };
  const inner = { shape: innerC.shape, strides: innerC.strides[0]! };
  if (rows.shape.length > 8 || inner.shape.length > 8) throw new Error('kiln: reductions support at most 8 non-mergeable dimensions');
  const nRows = rows.shape.reduce((a, b) => a * b, 1);
  const nInner = inner.shape.reduce((a, b) => a * b, 1);
  const parts = op === 'argmax' || op === 'argmin' || nInner <= CHUNK ? 1 : Math.ceil(nInner / CHUNK);
  if (parts === 1) {
    launch(op, out, input, rows, inner, 1);
    return;
  }
  // Pass 1 into f32/i32/u32 partials [rows, parts]; pass 2 reduces each row of partials.
  const partialType: DType = computeType(input.dtype) === 'f32' ? 'f32' : computeType(input.dtype);
  const tmp = acquireBuffer(nRows * parts * 4);
  launch(op, { buffer: tmp, dtype: partialType }, input, rows, inner, parts);
  const partial: Operand = { buffer: tmp, dtype: partialType, shape: [nRows, parts], strides: [parts, 1], offset: 0 };
  launch(op, out, partial, { shape: [nRows], strides: [parts] }, { shape: [parts], strides: [1] }, 1);
  releaseBuffer(tmp);
}
