// Launcher for the non-finite check into a GPU flag and/or the multiply by a GPU scalar of one contiguous
// f32/f16 tensor.

import { dispatch, grid } from '../device/batch.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const source = wgslFile('non_finite_unscale', new URL('./wgsl/non_finite_unscale.wgsl', import.meta.url));

export interface NonFiniteModes {
  /** Raise the flag on NaN/±inf (else the flag slot is bound but never touched). */
  readonly check: boolean;
  /** Multiply the values by invScale (else they are never written). */
  readonly unscale: boolean;
}

/**
 * values: n contiguous f32/f16 elements from its offset; flag, invScale: one f32 element each, in buffers
 * other than values' and each other's.
 */
export function runNonFiniteCheck(n: number, values: Operand, flag: Operand, invScale: Operand, modes: NonFiniteModes): void {
  if (n === 0 || !(modes.check || modes.unscale)) return;
  dispatch({
    kernel: {
      name: 'non-finite-unscale',
      code: prelude({ G: wgslStorageType(values.dtype) }, values.dtype === 'f16') + source.text(),
      bindings: ['write', 'write', 'read', 'uniform'],
      overrides: { CHECK: modes.check ? 1 : 0, UNSCALE: modes.unscale ? 1 : 0 },
    },
    buffers: [whole(values), whole(flag), whole(invScale)],
    uniforms: new UniformWriter().u32(n, values.offset, invScale.offset, flag.offset).bytes(),
    workgroups: grid(Math.ceil(n / 256)),
  });
}
