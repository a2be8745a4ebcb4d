// Launchers for the fused cross-entropy loss (class-index targets) and its backward.

import { dispatch, grid } from '../device/batch.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const fwd = wgslFile('cross_entropy', new URL('./wgsl/cross_entropy.wgsl', import.meta.url));
const bwd = wgslFile('cross_entropy_backward', new URL('./wgsl/cross_entropy_backward.wgsl', import.meta.url));

export interface CrossEntropyProblem {
  readonly n: number;
  readonly c: number;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
}

function uniforms(p: CrossEntropyProblem): Uint8Array {
  return new UniformWriter().u32(p.n, p.c).i32(p.ignoreIndex).f32(p.labelSmoothing).bytes();
}

/** Per-row losses [N] (f32) and log-sum-exps [N] (f32) from logits [N, C] and targets [N] (i32). */
export function runCrossEntropy(p: CrossEntropyProblem, loss: Operand, lse: Operand, x: Operand, target: Operand): void {
  if (p.n === 0) return;
  dispatch({
    kernel: { name: 'cross_entropy', code: prelude({ T: wgslStorageType(x.dtype) }, x.dtype === 'f16') + fwd.text(), bindings: ['write', 'write', 'read', 'read', 'uniform'] },
    buffers: [whole(loss), whole(lse), whole(x), whole(target)],
    uniforms: uniforms(p),
    workgroups: grid(Math.ceil(p.n / 64)),
  });
}

/** dx [N, C] from the per-row loss gradient g [N] (f32). */
export function runCrossEntropyBackward(p: CrossEntropyProblem, dx: Operand, x: Operand, target: Operand, lse: Operand, g: Operand): void {
  if (p.n * p.c === 0) return;
  dispatch({
    kernel: { name: 'cross_entropy_backward', code: prelude({ T: wgslStorageType(x.dtype) }, x.dtype === 'f16') + bwd.text(), bindings: ['write', 'read', 'read', 'read', 'read', 'uniform'] },
    buffers: [whole(dx), whole(x), whole(target), whole(lse), whole(g)],
    uniforms: uniforms(p),
    workgroups: grid(Math.ceil((p.n * p.c) / 256)),
  });
}
