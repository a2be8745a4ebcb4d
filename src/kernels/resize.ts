// Launchers for image resampling: PIL-exact separable bicubic (horizontal pass, then a vertical pass fused
// with ToTensor/Normalize), and PyTorch's bilinear (no antialias) fused with crop and Normalize. They see
// operands only; filter taps and sizes are computed by the caller (src/data/resize.ts).

import { dispatch, grid } from '../device/batch.js';
import { type Operand, UniformWriter, whole } from './operand.js';
import { wgslFile } from './source.js';

const horizontal = wgslFile('resize_h', new URL('./wgsl/resize_h.wgsl', import.meta.url));
const vertical = wgslFile('resize_v', new URL('./wgsl/resize_v.wgsl', import.meta.url));
const bilinear = wgslFile('resize_bilinear', new URL('./wgsl/resize_bilinear.wgsl', import.meta.url));

/** Per-channel affine map applied to the resampled value: (v − mean) / std. */
export interface Normalization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

function vec4(v: readonly number[], fill: number): number[] {
  return [0, 1, 2, 3].map((k) => v[k] ?? fill);
}

/**
 * Horizontal pass: tmp[row, x, c] for `rows` rows of `src` ([rows, inW, channels], packed bytes when `u8`,
 * f32 otherwise) and `outW` output columns whose taps start at word `cOff` of `coef`.
 */
export function runResizeHorizontal(
  tmp: Operand, src: Operand, coef: Operand,
  g: { rows: number; inW: number; outW: number; channels: number; ksize: number; cOff: number; u8: boolean },
): void {
  const n = g.rows * g.outW;
  if (n === 0) return;
  dispatch({
    kernel: { name: `resize_h${g.u8 ? ':u8' : ':f32'}`, code: horizontal.text(), bindings: ['write', 'read', 'read', 'uniform'], overrides: { U8: g.u8 ? 1 : 0 } },
    buffers: [whole(tmp), whole(src), whole(coef)],
    uniforms: new UniformWriter().u32(g.rows, g.outW, g.inW, g.channels, g.ksize, g.cOff, 0, 0).bytes(),
    workgroups: grid(Math.ceil(n / 64)),
  });
}

/**
 * Vertical pass fused with ToTensor/Normalize: out[oOff + c·cStride + y·outW + x] for an outW × outH
 * window, reading tmp rows from input row `row0` on, taps from word `cOff` of `coef`.
 */
export function runResizeVertical(
  out: Operand, tmp: Operand, coef: Operand,
  g: { outW: number; outH: number; channels: number; row0: number; ksize: number; cOff: number; oOff: number; cStride: number; u8: boolean },
  norm: Normalization,
): void {
  const n = g.outW * g.outH;
  if (n === 0) return;
  dispatch({
    kernel: { name: `resize_v${g.u8 ? ':u8' : ':f32'}`, code: vertical.text(), bindings: ['write', 'read', 'read', 'uniform'], overrides: { U8: g.u8 ? 1 : 0 } },
    buffers: [whole(out), whole(tmp), whole(coef)],
    uniforms: new UniformWriter()
      .u32(g.outW, g.outH, g.channels, g.row0, g.ksize, g.cOff, g.oOff, g.cStride)
      .f32(...vec4(norm.mean, 0), ...vec4(norm.std, 1)).bytes(),
    workgroups: grid(Math.ceil(n / 64)),
  });
}

/**
 * Bilinear resize of a packed 8-bit image (src: [inH, inW, channels] bytes, read as v / 255) to a virtual
 * size of scale (sx, sy) = in / out, of which the outW × outH window at (x0, y0) is written like the
 * vertical pass writes.
 */
export function runResizeBilinear(
  out: Operand, src: Operand,
  g: { inW: number; inH: number; channels: number; outW: number; outH: number; x0: number; y0: number; sx: number; sy: number; oOff: number; cStride: number },
  norm: Normalization,
): void {
  const n = g.outW * g.outH;
  if (n === 0) return;
  dispatch({
    kernel: { name: 'resize_bilinear', code: bilinear.text(), bindings: ['write', 'read', 'uniform'] },
    buffers: [whole(out), whole(src)],
    uniforms: new UniformWriter()
      .u32(g.inW, g.inH, g.channels, g.oOff, g.outW, g.outH, g.x0, g.y0)
      .f32(g.sx, g.sy).u32(g.cStride, 0)
      .f32(...vec4(norm.mean, 0), ...vec4(norm.std, 1)).bytes(),
    workgroups: grid(Math.ceil(n / 64)),
  });
}
