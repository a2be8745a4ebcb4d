// Allocation of fresh contiguous tensors. With poisoning on (tests), new storage is filled with NaN bits
// (0xFFFFFFFF, which is also -1 / u32 max) so that an element no kernel writes shows up.

import { dispatch, grid } from '../device/batch.js';
import { gpu } from '../device/gpu.js';
import { type DType, byteSize } from '../kernels/dtype.js';
import { UniformWriter } from '../kernels/operand.js';
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

const FILL_WORDS = `struct P { n: u32, value: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i < p.n) { out[i] = p.value; }
}`;

/** Fills whole 32-bit words of a buffer with a bit pattern. */
export function fillWords(buffer: GPUBuffer, words: number, value: number): void {
  // In windows of at most one binding, for buffers past maxStorageBufferBindingSize.
  const limit = Math.floor((gpu().info.limits['maxStorageBufferBindingSize'] ?? 2 ** 27) / 256) * 256;
  for (let start = 0; start < words * 4; start += limit) {
    const size = Math.min(limit, buffer.size - start);
    const n = Math.min(words - start / 4, size / 4);
    dispatch({
      kernel: { name: 'fill-words', code: FILL_WORDS, bindings: ['write', 'uniform'] },
      buffers: [{ buffer, offset: start, size }],
      uniforms: new UniformWriter().u32(n, value).bytes(),
      workgroups: grid(Math.ceil(n / 256)),
    });
  }
}

/** A new contiguous tensor with unspecified contents (NaN when poisoning is on). */
export function empty(shape: readonly number[], dtype: DType, op = 'empty'): Tensor {
  checkShape(op, shape);
  const bytes = numel(shape) * byteSize(dtype);
  const storage = new Storage(bytes);
  const t = new Tensor({ storage, shape: [...shape], strides: contiguousStrides(shape), offset: 0, dtype });
  if (poison) fillWords(storage.buffer, Math.ceil(bytes / 4), 0xffffffff);
  return t;
}
