// Softmax and log-softmax along any axis: fused single-kernel forward and backward, beside the unfused
// composition of primitive ops (kept callable so the fusion can be tested and benchmarked against it).

import { runSoftmax, runSoftmaxBackward } from '../../kernels/softmax.js';
import { isFloat } from '../../kernels/dtype.js';
import { empty } from '../alloc.js';
import { autocasting, runAutocast } from '../autocast.js';
import { normAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { record } from './record.js';
import type { GradRules } from './types.js';
import { amax, sum } from './reduce.js';

declare module './types.js' {
  interface OpAttrs {
    softmax: { dim: number };
    log_softmax: { dim: number };
  }
}

function fused(op: 'softmax' | 'log_softmax', x: Tensor, dim: number): Tensor {
  if (autocasting()) return runAutocast('f32', [x], (x32) => fused(op, x32, dim));
  x.check(op);
  if (!isFloat(x.dtype)) throw new Error(`${op}: expected a floating point tensor, got ${x.dtype}`);
  const d = normAxis(op, dim, x.ndim);
  if (x.ndim === 0) {
    const one = x.reshape([1]);
    const y1 = fused(op, one, 0);
    const y = y1.reshape([]);
    one.dispose();
    y1.dispose();
    return y;
  }
  const y = empty(x.shape, x.dtype, op);
  runSoftmax(y.operand(op), x.operand(op), d, op === 'log_softmax');
  record(op, [x], y, { dim: d }, [y]);
  return y;
}

/** softmax(x) along `dim`, max-subtracted, in one fused kernel. */
export function softmax(x: Tensor, dim: number): Tensor {
  return fused('softmax', x, dim);
}

/** log(softmax(x)) along `dim`, computed as x − logsumexp(x) in one fused kernel. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return fused('log_softmax', x, dim);
}

/** The same softmax composed from primitive ops (max, sub, exp, sum, div), for fusion research. */
export function softmaxUnfused(x: Tensor, dim: number): Tensor {
  if (autocasting()) return runAutocast('f32', [x], (x32) => softmaxUnfused(x32, dim));
  const m = amax(x, dim, true);
  const z = x.sub(m);
  const e = z.exp();
  const s = sum(e, dim, true);
  const y = e.div(s);
  for (const t of [m, z, e, s]) t.dispose();
  return y;
}

/** log-softmax composed from primitive ops: (x − max) − log Σ exp(x − max). */
export function logSoftmaxUnfused(x: Tensor, dim: number): Tensor {
  if (autocasting()) return runAutocast('f32', [x], (x32) => logSoftmaxUnfused(x32, dim));
  const m = amax(x, dim, true);
  const z = x.sub(m);
  const e = z.exp();
  const s = sum(e, dim, true);
  const l = s.log();
  const y = z.sub(l);
  for (const t of [m, z, e, s, l]) t.dispose();
  return y;
}

function backward(op: 'softmax' | 'log_softmax', g: Tensor, y: Tensor, dim: number): Tensor {
  const dx = empty(y.shape, y.dtype, op);
  runSoftmaxBackward(dx.operand(op), y.operand(op), g.operand(op), dim, op === 'log_softmax');
  return dx;
}

export const softmaxRules = {
  // d softmax: dx = y ⊙ (g − Σ g⊙y)
  softmax: (g, c) => [backward('softmax', g, c.saved(0), c.attrs.dim)],
  // d log-softmax: dx = g − softmax ⊙ Σ g = g − exp(y) ⊙ Σ g
  log_softmax: (g, c) => [backward('log_softmax', g, c.saved(0), c.attrs.dim)],
} satisfies Pick<GradRules, 'softmax' | 'log_softmax'>;
