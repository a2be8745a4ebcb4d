// A kernel no other test has compiled (its WGSL holds a random constant), for tests that count pipeline
// compiles: the suite shares one pipeline cache across files, so a built-in op may be compiled already.
import { dispatch } from '../../src/device/batch.js';
import type { Tensor } from '../../src/node.js';

/** Dispatches a one-invocation kernel, new to the pipeline cache, that writes `out[0]`; returns the value written. */
export function dispatchFreshKernel(out: Tensor): number {
  const value = Math.fround(Math.random());
  const code = `@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = ${value.toPrecision(9)}; }`;
  dispatch({
    kernel: { name: 'fresh-test-kernel', code, bindings: ['write'] },
    buffers: [{ buffer: out.storage.buffer, offset: 0, size: out.storage.buffer.size }],
    workgroups: [1, 1, 1],
  });
  return value;
}
