// Reductions over any set of axes with keepdim: sum, mean, amax/amin (PyTorch's max/min values),
// argmax/argmin, var — each forward beside its gradient rule.

import { type DType, isFloat } from '../../kernels/dtype.js';
import { autocasting, runAutocast } from '../autocast.js';
import { runReduce } from '../../kernels/reduce.js';
import { empty } from '../alloc.js';
import { fmt, normAxes, normAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { launch, mul, sub } from './elementwise.js';
import { record } from './record.js';
import type { GradRules } from './types.js';

type Dims = number | readonly number[] | undefined;

function outShape(shape: readonly number[], axes: readonly number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((s, i) => (axes.includes(i) ? 1 : s)) : shape.filter((_, i) => !axes.includes(i));
}

/** Runs a reduction kernel over `axes` into a new contiguous tensor of the reduced shape. */
function reduceInto(op: 'sum' | 'max' | 'min' | 'argmax' | 'argmin', x: Tensor, axes: readonly number[], keepdim: boolean, dtype: DType): Tensor {
  const out = empty(outShape(x.shape, axes, keepdim), dtype, op);
  if (out.numel() === 0) return out;
  const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...keep, ...axes];
  const o = x.operand(op);
  runReduce(op, { buffer: out.storage.buffer, dtype }, { ...o, shape: order.map((i) => x.shape[i]!), strides: order.map((i) => x.strides[i]!) }, axes.length);
  return out;
}

export function sum(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  if (autocasting()) return runAutocast('f32', [x], (x32) => sum(x32, dims, keepdim));
  x.check('sum');
  const axes = normAxes('sum', dims, x.ndim);
  const dtype: DType = x.dtype === 'bool' ? 'i32' : x.dtype;
  const out = reduceInto('sum', x, axes, keepdim, dtype);
  record('sum', [x], out, { dims: axes, keepdim });
  return out;
}

export function mean(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  if (autocasting()) return runAutocast('f32', [x], (x32) => mean(x32, dims, keepdim));
  x.check('mean');
  if (!isFloat(x.dtype)) throw new Error(`mean: could not infer output dtype: input dtype ${x.dtype} is not floating point`);
  const axes = normAxes('mean', dims, x.ndim);
  const n = axes.reduce((a, i) => a * x.shape[i]!, 1);
  const s = sum(x, axes, keepdim);
  const out = mul(s, 1 / n);
  s.dispose();
  return out;
}

function extremum(op: 'amax' | 'amin', x: Tensor, dims: Dims, keepdim: boolean): Tensor {
  x.check(op);
  const axes = normAxes(op, dims, x.ndim);
  if (axes.some((i) => x.shape[i] === 0))
    throw new Error(`${op}: expected reduction dims ${fmt(axes)} of shape ${fmt(x.shape)} to have non-zero size`);
  const out = reduceInto(op === 'amax' ? 'max' : 'min', x, axes, keepdim, x.dtype);
  record(op, [x], out, { dims: axes, keepdim }, [x, out]);
  return out;
}

export function amax(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return extremum('amax', x, dims, keepdim);
}

export function amin(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return extremum('amin', x, dims, keepdim);
}

function argExtremum(op: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  x.check(op);
  if (x.numel() === 0) throw new Error(`${op}: expected a non-empty tensor, got shape ${fmt(x.shape)}`);
  if (dim === undefined) {
    const flat = x.reshape([x.numel()]);
    const out = reduceInto(op, flat, [0], false, 'i32');
    flat.dispose();
    if (!keepdim) return out;
    const r = out.reshape(x.shape.map(() => 1));
    out.dispose();
    return r;
  }
  const d = normAxis(op, dim, x.ndim);
  return reduceInto(op, x, x.ndim === 0 ? [] : [d], keepdim, 'i32');
}

export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtremum('argmax', x, dim, keepdim);
}

export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtremum('argmin', x, dim, keepdim);
}

/** Two-pass variance: mean first, then the mean square deviation (stable for large offsets). */
export function variance(x: Tensor, dims: Dims, correction: number, keepdim: boolean): Tensor {
  if (autocasting()) return runAutocast('f32', [x], (x32) => variance(x32, dims, correction, keepdim));
  x.check('var');
  if (!isFloat(x.dtype)) throw new Error(`var: expected a floating point tensor, got ${x.dtype}`);
  const axes = normAxes('var', dims, x.ndim);
  const n = axes.reduce((a, i) => a * x.shape[i]!, 1);
  const m = mean(x, axes, true);
  const d = sub(x, m);
  const sq = mul(d, d);
  const s = sum(sq, axes, keepdim);
  const out = mul(s, 1 / Math.max(n - correction, 0));
  for (const t of [m, d, sq, s]) t.dispose();
  return out;
}

/** Re-inserts reduced axes as size 1, so a reduced gradient broadcasts against the input. */
function unreduce(g: Tensor, inputShape: readonly number[], dims: readonly number[], keepdim: boolean): Tensor {
  if (keepdim) return g;
  return g.reshape(inputShape.map((s, i) => (dims.includes(i) ? 1 : s)));
}

const extremumRule = (g: Tensor, c: { attrs: { dims: readonly number[]; keepdim: boolean }; inputs: readonly { shape: readonly number[] }[]; saved(i: number): Tensor }): Tensor[] => {
  // d max(x) = dy on the maximal elements, split evenly among ties (PyTorch's amax)
  const x = c.saved(0);
  const y = unreduce(c.saved(1), x.shape, c.attrs.dims, c.attrs.keepdim);
  const gy = unreduce(g, x.shape, c.attrs.dims, c.attrs.keepdim);
  const mask = launch('eq', [x, y], x.shape, x.dtype, x.dtype);
  const count = sum(mask, c.attrs.dims, true);
  const share = launch('div', [gy, count], count.shape, 'f32', g.dtype);
  return [mul(mask, share)];
};

export const reduceRules = {
  // d Σx = dy broadcast over the reduced axes
  sum: (g, c) => {
    const gy = unreduce(g, c.inputs[0]!.shape, c.attrs.dims, c.attrs.keepdim);
    return [gy.expand(c.inputs[0]!.shape)];
  },
  amax: extremumRule,
  amin: extremumRule,
} satisfies Pick<GradRules, 'sum' | 'amax' | 'amin'>;

