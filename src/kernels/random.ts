// Launcher for Philox random draws into a contiguous buffer.

import { dispatch, grid } from '../device/batch.js';
import { type DType, wgslStorageType } from './dtype.js';
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
  dispatch({
    kernel: { name: `random:${d.dist}`, code, bindings: ['write', 'uniform'], overrides: { DIST: d.dist === 'normal' ? 1 : 0 } },
    buffers: [{ buffer: out.buffer, offset: 0, size: out.buffer.size }],
    uniforms: new UniformWriter().u32(d.n, k0, k1, o0, o1).f32(d.a, d.b).bytes(),
    workgroups: grid(Math.ceil(d.n / 256)),
  });
}
