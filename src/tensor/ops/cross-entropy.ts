// Cross-entropy from logits with class-index targets (label smoothing, ignore_index, reductions): a fused
// kernel computes per-row losses and saves log-sum-exp; its backward is one fused kernel too. The unfused
// composition (logSoftmax → gather → mean) stays callable for comparison.

import { checkIndices } from '../../kernels/checked.js';
import { runCrossEntropy, runCrossEntropyBackward } from '../../kernels/cross-entropy.js';
import { isFloat } from '../../kernels/dtype.js';
import { autocasting, runAutocast } from '../autocast.js';
import { empty } from '../alloc.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { dense } from './elementwise.js';
import { record } from './record.js';
import type { GradRules } from './types.js';
import { tidy } from '../scope.js';
import { sum } from './reduce.js';
import { logSoftmax } from './softmax.js';

declare module './types.js' {
  interface OpAttrs {
    cross_entropy: { ignoreIndex: number; labelSmoothing: number };
  }
}

export interface CrossEntropyOptions {
  readonly ignoreIndex?: number;
  readonly labelSmoothing?: number;
  readonly reduction?: 'mean' | 'sum' | 'none';
}

/** Logits [N, C] (or [C], or [N, C, d…] with targets [N, d…]) to [N·d…, C] rows and flat targets. */
function rows(logits: Tensor, target: Tensor): { x: Tensor; t: Tensor; outShape: readonly number[] } {
  const op = 'crossEntropy';
  logits.check(op);
  target.check(op);
  if (!isFloat(logits.dtype)) throw new Error(`${op}: expected floating point logits, got ${logits.dtype}`);
  if (target.dtype !== 'i32' && target.dtype !== 'u32')
    throw new Error(`${op}: expected class-index targets of dtype i32 (probability targets are not supported), got ${target.dtype}`);
  const expected = logits.ndim === 1 ? [] : [logits.shape[0]!, ...logits.shape.slice(2)];
  if (logits.ndim === 0 || target.shape.length !== expected.length || target.shape.some((s, i) => s !== expected[i]))
    throw new Error(`${op}: logits ${fmt(logits.shape)} and targets ${fmt(target.shape)} do not match (expected targets ${fmt(expected)})`);
  const c = logits.ndim === 1 ? logits.shape[0]! : logits.shape[1]!;
  return tidy(() => {
    // the class axis last: [N, C, d…] → [N, d…, C] → [N·d…, C]
    const moved = logits.ndim > 2 ? logits.permute([0, ...logits.shape.slice(2).map((_, i) => i + 2), 1]) : logits;
    const x = dense(moved.reshape([-1, c]), op);
    const t = dense((target.dtype === 'i32' ? target : target.cast('i32')).reshape([-1]), op);
    return { x, t, outShape: target.shape };
  });
}

/** Per-row losses (the fused op). */
function perRow(logits: Tensor, target: Tensor, ignoreIndex: number, labelSmoothing: number): { loss: Tensor; t: Tensor } {
  const { x, t, outShape } = rows(logits, target);
  const n = x.shape[0]!;
  const c = x.shape[1]!;
  const loss = empty([n], 'f32', 'crossEntropy');
  const lse = empty([n], 'f32', 'crossEntropy');
  const p = { n, c, ignoreIndex, labelSmoothing };
  checkIndices('crossEntropy', t.operand('crossEntropy'), c, ignoreIndex);
  runCrossEntropy(p, loss.operand('crossEntropy'), lse.operand('crossEntropy'), x.operand('crossEntropy'), t.operand('crossEntropy'));
  record('cross_entropy', [x], loss, { ignoreIndex, labelSmoothing }, [x, t, lse]);
  lse.dispose();
  if (x !== logits) x.dispose();
  const shaped = loss.reshape(outShape);
  if (shaped !== loss) loss.dispose();
  return { loss: shaped, t };
}

/**
 * Cross-entropy between logits and class-index targets, PyTorch's `cross_entropy` (reduction 'mean'
 * averages over targets that are not `ignoreIndex`; no readback is needed for the count).
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  if (autocasting()) return runAutocast('f32', [logits], (x) => crossEntropy(x, target, opts));
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new Error(`crossEntropy: label_smoothing must be in [0, 1], got ${eps}`);
  const { loss, t } = perRow(logits, target, ignoreIndex, eps);
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'none') {
    t.dispose();
    return loss;
  }
  const total = sum(loss);
  loss.dispose();
  if (reduction === 'sum') {
    t.dispose();
    return total;
  }
  const kept = t.ne(ignoreIndex);
  const keptCount = sum(kept);
  const count = keptCount.cast('f32');
  const out = total.div(count);
  for (const x of [t, kept, keptCount, count, total]) x.dispose();
  return out;
}

/** The same loss composed from primitive ops: −mean(gather(logSoftmax(x), t)) with smoothing. */
export function crossEntropyUnfused(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  if (autocasting()) return runAutocast('f32', [logits], (x) => crossEntropyUnfused(x, target, opts));
  return tidy(() => crossEntropyComposed(logits, target, opts));
}

function crossEntropyComposed(logits: Tensor, target: Tensor, opts: CrossEntropyOptions): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const eps = opts.labelSmoothing ?? 0;
  const { x, t } = rows(logits, target);
  const lp = logSoftmax(x, 1);
  const keep = t.ne(ignoreIndex);
  const safeT = t.mul(keep.cast('i32')).unsqueeze(1); // ignored rows gather class 0, then are masked
  const picked = lp.gather(1, safeT).squeeze(1);
  const smooth = lp.mean(1);
  const perRowLoss = picked.mul(-(1 - eps)).sub(smooth.mul(eps)).mul(keep.cast('f32'));
  const reduction = opts.reduction ?? 'mean';
  const out = reduction === 'none' ? perRowLoss.reshape(target.shape) : reduction === 'sum' ? perRowLoss.sum() : perRowLoss.sum().div(keep.cast('f32').sum());
  return out;
}

export const crossEntropyRules = {
  // d loss_i / dx_ij = softmax_ij − (1−ε)[j = t_i] − ε/C  (0 for ignored rows), times g_i
  cross_entropy: (g, c) => {
    const x = c.saved(0);
    const t = c.saved(1);
    const lse = c.saved(2);
    const gc = g.dtype === 'f32' ? dense(g, 'crossEntropy') : g.cast('f32');
    const dx = empty(x.shape, x.dtype, 'crossEntropy');
    const p = { n: x.shape[0]!, c: x.shape[1]!, ignoreIndex: c.attrs.ignoreIndex, labelSmoothing: c.attrs.labelSmoothing };
    runCrossEntropyBackward(p, dx.operand('crossEntropy'), x.operand('crossEntropy'), t.operand('crossEntropy'), lse.operand('crossEntropy'), gc.operand('crossEntropy'));
    return [dx];
  },
} satisfies Pick<GradRules, 'cross_entropy'>;
