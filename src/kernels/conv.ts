// Launchers for im2col (convolution's column matrix) and col2im (its deterministic adjoint, also the
// gradient of Tensor.unfold) over up to three spatial dims; callers pad a smaller rank with size-1 dims.

import { dispatch, grid } from '../device/batch.js';
import { computeType, wgslStorageType } from './dtype.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { prelude, wgslFile } from './source.js';

const im2colSource = wgslFile('conv_im2col', new URL('./wgsl/conv_im2col.wgsl', import.meta.url));
const col2imSource = wgslFile('conv_col2im', new URL('./wgsl/conv_col2im.wgsl', import.meta.url));

/** The window geometry of one convolution, three entries per spatial field (unused dims: 1, 1, 1, 1, 0). */
export interface Windows {
  readonly batch: number;
  readonly channels: number;
  /** Input extent, output extent, kernel extent, stride, zero padding (each side). */
  readonly size: readonly number[];
  readonly outs: readonly number[];
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly pad: readonly number[];
}

const prod = (v: readonly number[]): number => v.reduce((a, b) => a * b, 1);

/**
 * cols (contiguous [B, O0, O1, O2, C, K0, K1, K2]) ← windows of x. `x` is read as [B, C, S0, S1, S2]
 * through `xStrides` (5 entries), from `x.offset`.
 */
export function runIm2col(cols: Operand, x: Operand, xStrides: readonly number[], w: Windows): void {
  const k = prod(w.kernel);
  const l = prod(w.outs);
  const n = w.batch * l * w.channels * k;
  if (n === 0) return;
  const u = new UniformWriter()
    .u32(n, w.channels * k, l, k, x.offset, xStrides[0]!, xStrides[1]!, 0)
    .vecU32(w.size, 4)
    .vecU32(w.outs, 4)
    .vecU32(w.kernel, 4)
    .vecU32(w.stride, 4)
    .vecU32(w.pad, 4)
    .vecU32(xStrides.slice(2), 4);
  dispatch({
    kernel: { name: 'conv_im2col', code: prelude({ T: wgslStorageType(x.dtype) }, x.dtype === 'f16') + im2colSource.text(), bindings: ['write', 'read', 'uniform'] },
    buffers: [whole(cols), whole(x)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(n / 256)),
  });
}

/**
 * dx ← col2im(g): `dx` is written as [B, C, S0, S1, S2] through `dxStrides` (5 entries; every element
 * written once), `g` is read as [B, C, O0, O1, O2, K0, K1, K2] through `gStrides` (8 entries).
 */
export function runCol2im(dx: Operand, dxStrides: readonly number[], g: Operand, gStrides: readonly number[], w: Windows): void {
  const n = w.batch * w.channels * prod(w.size);
  if (n === 0) return;
  const t = wgslStorageType(dx.dtype);
  const u = new UniformWriter()
    .u32(n, w.channels, g.offset, dx.offset)
    .vecU32(w.size, 4)
    .vecU32(w.outs, 4)
    .vecU32(w.kernel, 4)
    .vecU32(w.stride, 4)
    .vecU32(w.pad, 4)
    .vecU32(dxStrides.slice(2), 4)
    .u32(dxStrides[0]!, dxStrides[1]!, gStrides[0]!, gStrides[1]!)
    .vecU32(gStrides.slice(2, 5), 4)
    .vecU32(gStrides.slice(5, 8), 4);
  dispatch({
    kernel: {
      name: 'conv_col2im',
      code: prelude({ T: t, C: computeType(dx.dtype) }, t === 'f16') + col2imSource.text(),
      bindings: ['write', 'read', 'uniform'],
    },
    buffers: [whole(dx), whole(g)],
    uniforms: u.bytes(),
    workgroups: grid(Math.ceil(n / 256)),
  });
}
