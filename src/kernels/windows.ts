// Binding windows for buffers larger than maxStorageBufferBindingSize (128 MiB on the software adapter,
// while ImageBind-huge's text embedding alone is 193 MiB): a problem is split along its leading axis into
// pieces whose operands each touch a byte range that fits in one binding, bound at an aligned offset.

import { gpu } from '../device/gpu.js';
import { byteSize } from './dtype.js';
import type { Operand } from './operand.js';

export interface Piece {
  /** The piece's shape (the leading axis shortened). */
  readonly shape: number[];
  /** Operands rebased into their windows, strides as given. */
  readonly operands: Operand[];
}

/** The most bytes one storage binding may cover on this device (what a launch can see at once). */
export function maxBinding(op = 'kiln'): number {
  return gpu(op).info.limits['maxStorageBufferBindingSize'] ?? 128 * 1024 * 1024;
}

/**
 * Splits `shape` (operands already laid out over it, strides ≥ 0) so that every operand's window fits in a
 * binding. Returns null when the whole problem already fits.
 */
export function splitForBinding(shape: readonly number[], operands: readonly Operand[]): Piece[] | null {
  const limit = maxBinding();
  if (operands.every((o) => o.buffer.size <= limit)) return null;
  if (shape.length === 0) return null;
  const align = Math.max(gpu().info.limits['minStorageBufferOffsetAlignment'] ?? 256, 256);
  const lead = shape[0]!;
  // Rows of the leading axis per piece: bounded by each big operand's bytes per row and the rest's extent.
  let rows = lead;
  for (const o of operands) {
    if (o.buffer.size <= limit) continue;
    const b = byteSize(o.dtype);
    const rest = shape.slice(1).reduce((acc, s, d) => acc + (s - 1) * o.strides[d + 1]!, 0);
    const per = o.strides[0]! * b;
    const room = limit - align - (rest + 1) * b;
    if (room < 0) throw new Error(`kiln: one row of a ${o.buffer.size}-byte operand does not fit in a ${limit}-byte binding`);
    if (per > 0) rows = Math.min(rows, Math.max(1, Math.floor(room / per) + 1));
  }
  const pieces: Piece[] = [];
  for (let r0 = 0; r0 < lead; r0 += rows) {
    const n = Math.min(rows, lead - r0);
    const pieceShape = [n, ...shape.slice(1)];
    const ops = operands.map((o): Operand => {
      if (o.buffer.size <= limit) return { ...o, offset: o.offset + r0 * o.strides[0]!, shape: pieceShape };
      const b = byteSize(o.dtype);
      const first = o.offset + r0 * o.strides[0]!;
      const last = first + pieceShape.reduce((acc, s, d) => acc + (s - 1) * o.strides[d]!, 0);
      const start = Math.floor((first * b) / align) * align;
      const end = Math.min(Math.ceil(((last + 1) * b) / 4) * 4, o.buffer.size);
      return { ...o, shape: pieceShape, offset: first - start / b, window: { offset: start, size: end - start } };
    });
    pieces.push({ shape: pieceShape, operands: ops });
  }
  return pieces;
}
