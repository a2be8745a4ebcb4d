// Launcher for Philox random draws into a contiguous buffer.

import { dispatch, grid } from '../device/batch.js';
import { gpu } from '../device/gpu.js';
import { type DType, byteSize, wgslStorageType } from './dtype.js';
import { UniformWriter } from './operand.js';
import { prelude, wgslFile } from './source.js';

const source = wgslFile('random', new URL('./wgsl/random.wgsl', import.meta.url));
export const philoxLib = wgslFile('philox', new URL('./wgsl/philox.wgsl', import.meta.url));

export interface Draw {
  readonly dist: 'uniform' | 'normal';
  readonly n: number;
  readonly seed: number;
  /** Counter offset in Philox blocks. */
  readonly offset: number;
  /** uniform: [low, high); normal: mean, std. */
  readonly a: number;
  readonly b: number;
}

/** Philox blocks a draw of n values consumes. */
export function blocksFor(dist: Draw['dist'], n: number): number {
  return Math.ceil(n / (dist === 'normal' ? 2 : 4));
}

const split = (x: number): [number, number] => [x % 2 ** 32 >>> 0, Math.floor(x / 2 ** 32) >>> 0];

export function runRandom(out: { buffer: GPUBuffer; dtype: DType }, d: Draw): void {
  if (d.n === 0) return;
  const [k0, k1] = split(d.seed);
  const [o0, o1] = split(d.offset);
  const code = prelude({ O: wgslStorageType(out.dtype) }, out.dtype === 'f16') + philoxLib.text() + source.text();
  // Outputs past one binding are written in windows of whole 256-byte blocks; `base` keeps each element's
  // counter the same as in a single dispatch.
  const bytes = byteSize(out.dtype);
  const per = Math.floor((gpu().info.limits['maxStorageBufferBindingSize'] ?? 2 ** 27) / 256) * (256 / bytes);
  for (let base = 0; base < d.n; base += per) {
    const n = Math.min(per, d.n - base);
    const offset = base * bytes;
    dispatch({
      kernel: { name: `random:${d.dist}`, code, bindings: ['write', 'uniform'], overrides: { DIST: d.dist === 'normal' ? 1 : 0 } },
      buffers: [{ buffer: out.buffer, offset, size: Math.min(Math.ceil((n * bytes) / 4) * 4, out.buffer.size - offset) }],
      uniforms: new UniformWriter().u32(n, k0, k1, o0, o1).f32(d.a, d.b).u32(base).bytes(),
      workgroups: grid(Math.ceil(n / 256)),
    });
  }
}
