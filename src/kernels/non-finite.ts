// Launcher for the non-finite check (and optional unscale) of one contiguous f32/f16 tensor into a GPU flag.

import { dispatch, grid } from '../device/batch.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const source = wgslFile('non_finite_unscale', new URL('./wgsl/non_finite_unscale.wgsl', import.meta.url));

/**
 * values: n contiguous f32/f16 elements from its offset; flag, invScale: one f32 element each (in other
 * buffers than values). With `unscale` false the values are only checked, never written.
 */
export function runNonFiniteCheck(n: number, values: Operand, flag: Operand, invScale: Operand, unscale: boolean): void {
  if (n === 0) return;
  dispatch({
    kernel: {
      name: 'non-finite-unscale',
      code: prelude({ G: wgslStorageType(values.dtype) }, values.dtype === 'f16') + source.text(),
      bindings: ['write', 'write', 'read', 'uniform'],
      overrides: { UNSCALE: unscale ? 1 : 0 },
    },
    buffers: [whole(values), whole(flag), whole(invScale)],
    uniforms: new UniformWriter().u32(n, values.offset, invScale.offset, flag.offset).bytes(),
    workgroups: grid(Math.ceil(n / 256)),
  });
}
