// Row layouts for kernels that process one axis of a strided tensor per invocation (softmax, norms, losses):
// the other axes, merged where every operand allows, address the rows.

import type { DispatchWork } from '../device/probe.js';
import { type DType, byteSize } from './dtype.js';
import type { Operand } from './operand.js';
import { coalesce } from './operand.js';

export interface RowLayout {
  readonly rows: number;
  /** Outer (row) shape after merging, at most 8 axes. */
  readonly shape: number[];
  /** Per operand: outer strides, and the stride along the row axis. */
  readonly outer: number[][];
  readonly step: number[];
}

/** Lays out operands of one shape as rows along `axis`. */
export function rowLayout(operands: readonly Operand[], axis: number): RowLayout {
  const shape = operands[0]!.shape;
  const keep = shape.map((_, i) => i).filter((i) => i !== axis);
  const c = coalesce(keep.map((i) => shape[i]!), operands.map((o) => keep.map((i) => o.strides[i]!)));
  if (c.shape.length > 8) throw new Error('kiln: row kernels support at most 8 non-mergeable outer dimensions');
  return {
    rows: c.shape.reduce((a, b) => a * b, 1),
    shape: c.shape,
    outer: c.strides,
    step: operands.map((o) => o.strides[axis]!),
  };
}

/** For kiln.profile: a row op over `rows` × `n` that reads or writes each operand once. */
export function rowWork(op: string, rows: number, n: number, operands: readonly { readonly dtype: DType }[]): DispatchWork {
  return { op, shapes: [[rows, n]], bytes: operands.reduce((s, o) => s + rows * n * byteSize(o.dtype), 0) };
}
