// kiln.nn.utils: torch.nn.utils' gradient norm and clipping (get_total_norm, clip_grads_with_norm_,
// clip_grad_norm_), computed and applied on the GPU with no readback. The norm is a fixed-order two-pass
// reduction (src/kernels/grad-norm.ts), so it is bitwise reproducible.

import { type NormKind, runNormFinish, runNormPartials, NORM_CHUNK } from '../kernels/grad-norm.js';
import { checkScalarTensor } from '../optim/optimizer.js';
import { checkAndScale } from '../optim/non-finite.js';
import { empty } from '../tensor/alloc.js';
import { div } from '../tensor/ops/elementwise.js';
import { noGrad, tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

export interface TotalNormOptions {
  /** The p of the p-norm: a positive number, or Infinity (torch's norm_type; default 2). */
  normType: number;
  /**
   * torch raises when the total norm is NaN/inf; that needs a readback, so Kiln refuses `true` and offers
   * `foundInf` instead.
   */
  errorIfNonfinite: boolean;
  /** A one-element f32 flag set to 1 when the total norm is NaN/inf (an optimizer's foundInf then skips). */
  foundInf: Tensor | null;
}

/**
 * torch.nn.utils.get_total_norm: the p-norm of all elements of `tensors` together (typically gradients;
 * nulls are skipped), as a 0-d f32 GPU tensor, with no readback.
 * @example const towerNorm = kiln.nn.utils.getTotalNorm(vision.parameters().map((p) => p.grad));
 */
export function getTotalNorm(tensors: Tensor | readonly (Tensor | null)[], opts: Partial<TotalNormOptions> = {}): Tensor {
  return totalNorm('getTotalNorm', tensors instanceof Tensor ? [tensors] : tensors, opts);
}

/**
 * torch.nn.utils.clip_grads_with_norm_: multiplies the gradient of every parameter that has one by
 * min(1, maxNorm / (totalNorm + 1e-6)), computed on the GPU from the 0-d `totalNorm` (for example from
 * getTotalNorm). torch multiplies even when the factor is 1: x·1 = x, bitwise.
 * @example kiln.nn.utils.clipGradsWithNorm_(params, 1.0, norm);
 */
export function clipGradsWithNorm_(params: Tensor | readonly Tensor[], maxNorm: number, totalNorm: Tensor): void {
  const op = 'clipGradsWithNorm_';
  checkMaxNorm(op, maxNorm);
  checkScalarTensor(`${op}: totalNorm`, totalNorm);
  const grads = gradsOf(op, params);
  noGrad(() =>
    tidy(() => {
      // coef = min(1, maxNorm / (norm + 1e-6)); clamp keeps a NaN, as torch's does.
      const coef = div(maxNorm, totalNorm.reshape([]).add(1e-6)).clamp(null, 1);
      const unusedFlag = empty([], 'f32', op); // the kernel's flag slot, untouched when it only scales
      for (const g of grads) if (g) checkAndScale(g, unusedFlag, coef, { check: false, unscale: true }, op);
    }),
  );
}

/**
 * torch.nn.utils.clip_grad_norm_: getTotalNorm over the gradients of `params` (parameters without one are
 * skipped), then clipGradsWithNorm_ — all on the GPU, so nothing is read back. Returns the total norm as
 * a 0-d f32 GPU tensor.
 * @example const gradNorm = kiln.nn.utils.clipGradNorm_(model.parameters(), 1.0);
 */
export function clipGradNorm_(params: Tensor | readonly Tensor[], maxNorm: number, opts: Partial<TotalNormOptions> = {}): Tensor {
  const op = 'clipGradNorm_';
  checkMaxNorm(op, maxNorm);
  const norm = totalNorm(op, gradsOf(op, params), opts);
  clipGradsWithNorm_(params, maxNorm, norm);
  return norm;
}

function checkMaxNorm(op: string, maxNorm: number): void {
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new Error(`${op}: maxNorm must be a number, got ${String(maxNorm)}`);
}

/** The gradient of each of `params`, null where there is none (so indices in errors are the params'). */
function gradsOf(op: string, params: Tensor | readonly Tensor[]): (Tensor | null)[] {
  const list = params instanceof Tensor ? [params] : [...params];
  return list.map((p, i) => {
    if (!(p instanceof Tensor)) throw new Error(`${op}: params[${i}] is not a tensor`);
    if (p.grad) checkFloat(op, p.grad, `the gradient of params[${i}]`);
    return p.grad;
  });
}

function checkFloat(op: string, t: Tensor, what: string): void {
  t.check(op);
  if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new Error(`${op}: ${what} is ${t.dtype}, expected f32 or f16`);
}

function totalNorm(op: string, tensors: readonly (Tensor | null)[], opts: Partial<TotalNormOptions>): Tensor {
  const { normType = 2, errorIfNonfinite = false, foundInf = null } = opts;
  if (typeof normType !== 'number' || !(normType > 0)) throw new Error(`${op}: normType must be a positive number or Infinity, got ${String(normType)}`);
  if (errorIfNonfinite)
    throw new Error(
      `${op}: errorIfNonfinite: true would need a readback of the norm; pass { foundInf } to flag a non-finite norm on the GPU ` +
        '(an optimizer with that foundInf skips the step), or check `await norm.item()` yourself',
    );
  if (foundInf !== null) checkScalarTensor(`${op}: foundInf`, foundInf);
  const list = tensors.flatMap((t, i) => {
    if (t === null) return [];
    if (!(t instanceof Tensor)) throw new Error(`${op}: tensors[${i}] is not a tensor`);
    checkFloat(op, t, `tensors[${i}]`);
    return [t];
  });
  const kind: NormKind = normType === 2 ? 'l2' : normType === 1 ? 'l1' : normType === Infinity ? 'inf' : 'p';
  return noGrad(() =>
    tidy(() => {
      // Pass 1 reads each tensor from a contiguous run; a strided one is measured on a copy.
      const dense = list.map((t) => (t.isContiguous() ? t : t.contiguous()));
      const starts: number[] = [];
      let count = 0;
      for (const t of dense) {
        starts.push(count);
        count += Math.ceil(t.numel() / NORM_CHUNK);
      }
      const partials = empty([Math.max(count, 1)], 'f32', op);
      // Packed per dtype (the kernel's storage type is compiled in); each tensor keeps its partials' place.
      const inputs = dense.map((t, i) => ({ n: t.numel(), values: t.operand(op), outIndex: starts[i]! }));
      for (const dtype of new Set(inputs.map((t) => t.values.dtype)))
        runNormPartials(inputs.filter((t) => t.values.dtype === dtype), partials.storage.buffer, kind, normType);
      const norm = empty([], 'f32', op);
      runNormFinish(count, partials.storage.buffer, norm.operand(op), kind, normType);
      if (foundInf !== null) {
        // The plain non-finite check of the norm; the scale slot takes the partials (read, never used).
        checkAndScale(norm, foundInf, partials, { check: true, unscale: false }, op);
        foundInf.bumpVersion();
      }
      return norm;
    }),
  );
}
