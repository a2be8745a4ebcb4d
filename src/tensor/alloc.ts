// Allocation of fresh contiguous tensors. With poisoning on (tests), new storage is filled with NaN bits
// (0xFFFFFFFF, which is also -1 / u32 max) so that an element no kernel writes shows up.

import { gpu } from '../device/gpu.js';
import { type DType, byteSize } from '../kernels/dtype.js';
import { fillWords } from '../kernels/fill.js';
import { checkShape, contiguousStrides, numel } from './shape.js';
import { Storage } from './storage.js';
import { Tensor } from './tensor.js';

let poison = typeof process !== 'undefined' && process.env?.['KILN_POISON'] === '1';

/** Turns NaN-poisoning of new storage on or off (for tests); returns the previous setting. */
export function setPoison(on: boolean): boolean {
  const prev = poison;
  poison = on;
  return prev;
}

/** Throws, naming `op`, when the device cannot store or compute f16 (no adapter feature 'shader-f16'). */
export function requireF16(op: string): void {
  const ctx = gpu(op);
  if (!ctx.hasF16) throw new Error(`${op}: dtype f16 needs the adapter feature 'shader-f16', which this adapter (${ctx.info.description || ctx.info.vendor}) lacks`);
}

/** A new contiguous tensor with unspecified contents (NaN when poisoning is on). */
export function empty(shape: readonly number[], dtype: DType, op = 'empty'): Tensor {
  checkShape(op, shape);
  // Every f16 tensor that is not a view starts here (creation, op outputs, module parameters): an f16
  // kernel never runs, nor compiles, on a device without the feature.
  if (dtype === 'f16') requireF16(op);
  const bytes = numel(shape) * byteSize(dtype);
  const storage = new Storage(bytes);
  const t = new Tensor({ storage, shape: [...shape], strides: contiguousStrides(shape), offset: 0, dtype });
  if (poison) fillWords(storage.buffer, Math.ceil(bytes / 4), 0xffffffff);
  return t;
}

/** A shape-only tensor on the meta device: no GPU memory; using it in any op throws (PyTorch's device='meta'). */
export function emptyMeta(shape: readonly number[], dtype: DType, op = 'empty'): Tensor {
  checkShape(op, shape);
  return new Tensor({ storage: new Storage(numel(shape) * byteSize(dtype), true), shape: [...shape], strides: contiguousStrides(shape), offset: 0, dtype });
}
