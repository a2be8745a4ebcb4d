// Launcher for the mask-free dropout kernel (the mask is regenerated from the RNG's seed and offset).

import { dispatch, grid } from '../device/batch.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { philoxLib } from './random.js';
import { prelude, wgslFile } from './source.js';

const source = wgslFile('dropout', new URL('./wgsl/dropout.wgsl', import.meta.url));

export interface DropoutDraw {
  readonly p: number;
  /** Elements sharing one draw (1: dropout; elements per sample: DropPath). */
  readonly group: number;
  readonly seed: number;
  /** Philox block offset of the draw. */
  readonly offset: number;
}

const split = (x: number): [number, number] => [x % 2 ** 32 >>> 0, Math.floor(x / 2 ** 32) >>> 0];

/** out = mask ⊙ src / (1 − p) for contiguous out and src of n elements. */
export function runDropout(n: number, out: Operand, src: Operand, d: DropoutDraw): void {
  if (n === 0) return;
  const [k0, k1] = split(d.seed);
  const [o0, o1] = split(d.offset);
  dispatch({
    kernel: { name: 'dropout', code: prelude({ T: wgslStorageType(src.dtype) }, src.dtype === 'f16') + philoxLib.text() + source.text(), bindings: ['write', 'read', 'uniform'] },
    buffers: [whole(out), whole(src)],
    uniforms: new UniformWriter().u32(n, d.group, k0, k1, o0, o1).f32(d.p, d.p >= 1 ? 0 : 1 / (1 - d.p)).bytes(),
    workgroups: grid(Math.ceil(n / 256)),
  });
}
