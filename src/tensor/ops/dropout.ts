// Dropout (per element) and DropPath (per sample, stochastic depth). Masks are never stored: forward and
// backward run one kernel with the same Philox seed and offset, which regenerates the same mask.

import { runDropout } from '../../kernels/dropout.js';
import { isFloat } from '../../kernels/dtype.js';
import { empty } from '../alloc.js';
import { takeRng } from '../create.js';
import type { Tensor } from '../tensor.js';
import { dense } from './elementwise.js';
import { record } from './record.js';
import type { GradRules } from './types.js';

declare module './types.js' {
  interface OpAttrs {
    dropout: { p: number; group: number; seed: number; offset: number };
  }
}

function masked(op: string, x: Tensor, p: number, group: number): Tensor {
  x.check(op);
  if (!isFloat(x.dtype)) throw new Error(`${op}: expected a floating point tensor, got ${x.dtype}`);
  if (!(p >= 0 && p <= 1)) throw new Error(`${op}: probability has to be between 0 and 1, but got ${p}`);
  const xc = dense(x, op);
  const draws = Math.ceil(x.numel() / group);
  const rng = takeRng('uniform', draws);
  const out = empty(x.shape, x.dtype, op);
  const attrs = { p, group, seed: rng.seed, offset: rng.offset };
  runDropout(x.numel(), out.operand(op), xc.operand(op), attrs);
  record('dropout', [xc], out, attrs);
  if (xc !== x) xc.dispose();
  return out;
}

/** Zeroes each element with probability p and scales the rest by 1/(1−p); identity when not training. */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!training || p === 0) return x;
  return masked('dropout', x, p, 1);
}

/** Drops whole samples (dim 0) with probability p, scaling kept ones by 1/(1−p) (stochastic depth). */
export function dropPath(x: Tensor, p = 0, training = true): Tensor {
  if (!training || p === 0) return x;
  if (x.ndim === 0) throw new Error('dropPath: expected a tensor with a batch dimension, got a 0-d tensor');
  return masked('dropPath', x, p, Math.max(1, x.numel() / x.shape[0]!));
}

export const dropoutRules = {
  // d(x ⊙ m/(1−p)) = dy ⊙ m/(1−p), with m regenerated from (seed, offset)
  dropout: (g, c) => {
    const gc = dense(g, 'dropout');
    const dx = empty(g.shape, g.dtype, 'dropout');
    runDropout(g.numel(), dx.operand('dropout'), gc.operand('dropout'), c.attrs);
    return [dx];
  },
} satisfies Pick<GradRules, 'dropout'>;
