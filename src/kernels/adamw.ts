// Launcher for the fused AdamW update of one contiguous f32 parameter and its moments (its step is advanced
// before, by flag-count.ts).

import { dispatch, grid } from '../device/batch.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const source = wgslFile('adamw', new URL('./wgsl/adamw.wgsl', import.meta.url));

export interface AdamWHyper {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly maximize: boolean;
  /** A number (sent as a uniform) or one f32 element of a GPU buffer. */
  readonly lr: number | Operand;
}

/**
 * param, expAvg, expAvgSq: contiguous f32 of n elements; grad: contiguous f32/f16; step: the (already
 * advanced) f32 step count; flag: an f32 skip flag — nonzero leaves everything untouched.
 */
export function runAdamW(n: number, param: Operand, expAvg: Operand, expAvgSq: Operand, grad: Operand, step: Operand, flag: Operand, h: AdamWHyper): void {
  if (n === 0) return;
  // A number lr binds the flag buffer in the lr slot: the slot must hold a buffer, the kernel ignores it.
  const lr = typeof h.lr === 'number' ? flag : h.lr;
  const u = new UniformWriter()
    .u32(n).f32(h.beta1, h.beta2, h.eps, h.weightDecay).u32(h.maximize ? 1 : 0)
    .f32(typeof h.lr === 'number' ? h.lr : 0).u32(typeof h.lr === 'number' ? 0 : 1, lr.offset, step.offset, flag.offset, 0);
  dispatch({
    kernel: {
      name: 'adamw',
      code: prelude({ G: wgslStorageType(grad.dtype) }, grad.dtype === 'f16') + source.text(),
      bindings: ['write', 'write', 'write', 'read', 'read', 'read', 'read', 'uniform'],
    },
    buffers: [whole(param), whole(expAvg), whole(expAvgSq), whole(grad), whole(step), whole(lr), whole(flag)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(n / 256)),
  });
}
