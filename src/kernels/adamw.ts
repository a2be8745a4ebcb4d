// Launcher for the fused AdamW update of one contiguous f32 parameter and its moments.

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
}

/** param, expAvg, expAvgSq: contiguous f32 of n elements; grad: contiguous f32/f16; hyper: f32 [lr, step]. */
export function runAdamW(n: number, param: Operand, expAvg: Operand, expAvgSq: Operand, grad: Operand, hyper: Operand, h: AdamWHyper): void {
  if (n === 0) return;
  dispatch({
    kernel: {
      name: 'adamw',
      code: prelude({ G: wgslStorageType(grad.dtype) }, grad.dtype === 'f16') + source.text(),
      bindings: ['write', 'write', 'write', 'read', 'read', 'uniform'],
    },
    buffers: [whole(param), whole(expAvg), whole(expAvgSq), whole(grad), whole(hyper)],
    uniforms: new UniformWriter().u32(n).f32(h.beta1, h.beta2, h.eps, h.weightDecay).u32(h.maximize ? 1 : 0, 0, 0).bytes(),
    workgroups: grid(Math.ceil(n / 256)),
  });
}
