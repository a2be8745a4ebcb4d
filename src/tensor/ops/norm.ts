// LayerNorm and RMSNorm over trailing dimensions: fused kernels for forward (saving mean and 1/σ),
// input backward and weight/bias backward, beside their unfused compositions.

import { runLayerNorm, runLayerNormBackward, runLayerNormParamsBackward } from '../../kernels/layer-norm.js';
import { isFloat } from '../../kernels/dtype.js';
import { empty } from '../alloc.js';
import { autocasting, runAutocast } from '../autocast.js';
import { fmt, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { dense } from './elementwise.js';
import { record } from './record.js';
import type { GradRules } from './types.js';
import { mean, variance } from './reduce.js';

declare module './types.js' {
  interface OpAttrs {
    layer_norm: { d: number; rms: boolean; hasW: boolean; hasB: boolean };
  }
}

function check(op: string, x: Tensor, normalizedShape: readonly number[], weight: Tensor | null, bias: Tensor | null): number {
  x.check(op);
  if (!isFloat(x.dtype)) throw new Error(`${op}: expected a floating point input, got ${x.dtype}`);
  const k = normalizedShape.length;
  if (k === 0 || k > x.ndim || normalizedShape.some((s, i) => s !== x.shape[x.ndim - k + i]))
    throw new Error(`${op}: normalized_shape ${fmt(normalizedShape)} does not match the trailing dimensions of the input ${fmt(x.shape)}`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (!t) continue;
    t.check(op);
    if (t.shape.length !== k || t.shape.some((s, i) => s !== normalizedShape[i]))
      throw new Error(`${op}: ${name} of shape ${fmt(t.shape)} does not match normalized_shape ${fmt(normalizedShape)}`);
    if (t.dtype !== x.dtype) throw new Error(`${op}: ${name} dtype ${t.dtype} differs from input dtype ${x.dtype}`);
  }
  return numel(normalizedShape);
}

function fused(op: 'layerNorm' | 'rmsNorm', x: Tensor, normalizedShape: readonly number[], weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  if (autocasting()) return runAutocast('f32', [x, weight, bias], (...a) => fused(op, a[0], normalizedShape, a[1], a[2], eps));
  const d = check(op, x, normalizedShape, weight, bias);
  const xc = dense(x, op);
  const rows = d === 0 ? 0 : x.numel() / d;
  const y = empty(x.shape, x.dtype, op);
  const stats = empty([rows, 2], 'f32', op);
  const wc = weight ? dense(weight, op) : null;
  const bc = bias ? dense(bias, op) : null;
  runLayerNorm({ rows, d, rms: op === 'rmsNorm' }, y.operand(op), stats.operand(op), xc.operand(op), wc?.operand(op) ?? null, bc?.operand(op) ?? null, eps);
  const inputs = [xc, ...(wc ? [wc] : []), ...(bc ? [bc] : [])];
  record('layer_norm', inputs, y, { d, rms: op === 'rmsNorm', hasW: wc !== null, hasB: bc !== null }, [xc, stats, ...(wc ? [wc] : [])]);
  for (const t of [xc, wc, bc]) if (t && t !== x && t !== weight && t !== bias) t.dispose();
  stats.dispose();
  return y;
}

/** LayerNorm over the trailing `normalizedShape` dims: (x − μ)/√(σ² + ε)·weight + bias. */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return fused('layerNorm', x, normalizedShape, weight, bias, eps);
}

/** RMSNorm over the trailing `normalizedShape` dims: x/√(mean(x²) + ε)·weight. */
export function rmsNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, eps = 1e-6): Tensor {
  return fused('rmsNorm', x, normalizedShape, weight, null, eps);
}

/** LayerNorm composed from primitive ops (mean, var, sub, rsqrt, mul, add). */
export function layerNormUnfused(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  if (autocasting()) return runAutocast('f32', [x, weight, bias], (...a) => layerNormUnfused(a[0], normalizedShape, a[1], a[2], eps));
  check('layerNorm', x, normalizedShape, weight, bias);
  const dims = normalizedShape.map((_, i) => x.ndim - normalizedShape.length + i);
  const m = mean(x, dims, true);
  const v = variance(x, dims, 0, true);
  const r = v.add(eps).rsqrt();
  const xm = x.sub(m);
  let y = xm.mul(r);
  const temps = [m, v, r, xm];
  if (weight) {
    temps.push(y);
    y = y.mul(weight);
  }
  if (bias) {
    temps.push(y);
    y = y.add(bias);
  }
  for (const t of temps) t.dispose();
  return y;
}

export const normRules = {
  // x̂ = (x−μ)r: dx = r(ĝ − mean ĝ − x̂·mean(ĝx̂)) with ĝ = g·w; dw = Σ_rows g·x̂; db = Σ_rows g
  layer_norm: (g, c) => {
    const { d, rms, hasW, hasB } = c.attrs;
    const x = c.saved(0);
    const stats = c.saved(1);
    const w = hasW ? c.saved(2) : null;
    const gc = dense(g, 'layer_norm');
    const p = { rows: d === 0 ? 0 : x.numel() / d, d, rms };
    const dx = c.needs(0) ? empty(x.shape, x.dtype, 'layer_norm') : null;
    if (dx) runLayerNormBackward(p, dx.operand('layer_norm'), x.operand('layer_norm'), gc.operand('layer_norm'), w?.operand('layer_norm') ?? null, stats.operand('layer_norm'));
    let dw: Tensor | null = null;
    let db: Tensor | null = null;
    if ((hasW && c.needs(1)) || (hasB && c.needs(hasW ? 2 : 1))) {
      dw = empty([d], x.dtype, 'layer_norm');
      db = empty([d], x.dtype, 'layer_norm');
      runLayerNormParamsBackward(p, dw.operand('layer_norm'), db.operand('layer_norm'), x.operand('layer_norm'), gc.operand('layer_norm'), stats.operand('layer_norm'));
    }
    const shapeOf = (i: number): readonly number[] => c.inputs[i]!.shape;
    const grads: (Tensor | null)[] = [dx];
    if (hasW) grads.push(dw ? dw.reshape(shapeOf(1)) : null);
    if (hasB) grads.push(db ? db.reshape(shapeOf(hasW ? 2 : 1)) : null);
    return grads;
  },
} satisfies Pick<GradRules, 'layer_norm'>;
