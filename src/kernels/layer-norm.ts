// Launchers for fused LayerNorm / RMSNorm: forward (saving mean and 1/σ per row), input backward, and the
// deterministic column sums for the weight and bias gradients. Inputs are contiguous [rows, D]; the forward
// takes a vec4 path (layer_norm_vec4.wgsl) when D is a multiple of 4.

import { dispatch, grid } from '../device/batch.js';
import { wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { rowWork } from './rows.js';
import { prelude, wgslFile } from './source.js';

const fwd = wgslFile('layer_norm', new URL('./wgsl/layer_norm.wgsl', import.meta.url));
const fwdVec4 = wgslFile('layer_norm_vec4', new URL('./wgsl/layer_norm_vec4.wgsl', import.meta.url));
const bwd = wgslFile('layer_norm_backward', new URL('./wgsl/layer_norm_backward.wgsl', import.meta.url));
const params = wgslFile('layer_norm_params', new URL('./wgsl/layer_norm_params.wgsl', import.meta.url));

export interface NormProblem {
  readonly rows: number;
  readonly d: number;
  readonly rms: boolean;
}

function code(src: { text(): string }, o: Operand): string {
  return prelude({ T: wgslStorageType(o.dtype) }, o.dtype === 'f16') + src.text();
}

/** y, stats ([rows, 2] f32) ← norm(x)·w + b. Missing w or b bind x as a placeholder, never read. */
export function runLayerNorm(p: NormProblem, y: Operand, stats: Operand, x: Operand, w: Operand | null, b: Operand | null, eps: number): void {
  if (p.rows === 0) return;
  // the kernels index x, y, w and b from element 0 of their bindings, so only D decides the vec4 path
  const vec4 = p.d % 4 === 0;
  dispatch({
    kernel: {
      name: `${p.rms ? 'rms_norm' : 'layer_norm'}${vec4 ? '_vec4' : ''}`,
      code: code(vec4 ? fwdVec4 : fwd, x),
      bindings: ['write', 'write', 'read', 'read', 'read', 'uniform'],
      overrides: { RMS: p.rms ? 1 : 0, HAS_W: w ? 1 : 0, HAS_B: b ? 1 : 0 },
    },
    buffers: [whole(y), whole(stats), whole(x), whole(w ?? x), whole(b ?? x)],
    uniforms: new UniformWriter().u32(p.rows, p.d).f32(eps).bytes(),
    workgroups: grid(Math.ceil(p.rows / 64)),
    work: rowWork(p.rms ? 'rmsNorm' : 'layerNorm', p.rows, p.d, [x, y]),
  });
}

export function runLayerNormBackward(p: NormProblem, dx: Operand, x: Operand, g: Operand, w: Operand | null, stats: Operand): void {
  if (p.rows === 0) return;
  dispatch({
    kernel: { name: 'layer_norm_backward', code: code(bwd, x), bindings: ['write', 'read', 'read', 'read', 'read', 'uniform'], overrides: { RMS: p.rms ? 1 : 0, HAS_W: w ? 1 : 0 } },
    buffers: [whole(dx), whole(x), whole(g), whole(w ?? x), whole(stats)],
    uniforms: new UniformWriter().u32(p.rows, p.d).bytes(),
    workgroups: grid(Math.ceil(p.rows / 64)),
    work: rowWork(p.rms ? 'rmsNorm_backward' : 'layerNorm_backward', p.rows, p.d, [x, g, dx]),
  });
}

export function runLayerNormParamsBackward(p: NormProblem, dw: Operand, db: Operand, x: Operand, g: Operand, stats: Operand): void {
  dispatch({
    kernel: { name: 'layer_norm_params', code: code(params, x), bindings: ['write', 'write', 'read', 'read', 'read', 'uniform'] },
    buffers: [whole(dw), whole(db), whole(x), whole(g), whole(stats)],
    uniforms: new UniformWriter().u32(p.rows, p.d).bytes(),
    workgroups: grid(Math.ceil(p.d / 8)),
    work: rowWork(p.rms ? 'rmsNorm_backward' : 'layerNorm_backward', p.rows, p.d, [x, g]),
  });
}
