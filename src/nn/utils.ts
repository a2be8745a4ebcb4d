// kiln.nn.utils: torch.nn.utils' gradient clipping, computed and applied on the GPU with no readback.
// The norm is a fixed-order two-pass reduction (src/kernels/grad-norm.ts), so it is bitwise reproducible.

import { type NormKind, runNormFinish, runNormPartials, NORM_CHUNK } from '../kernels/grad-norm.js';
import { checkScalarTensor } from '../optim/optimizer.js';
import { checkAndScale } from '../optim/non-finite.js';
import { empty } from '../tensor/alloc.js';
import { noGrad, tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

export interface ClipGradNormOptions {
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

const OP = 'clipGradNorm_';

/**
 * torch.nn.utils.clip_grad_norm_: the p-norm of all gradients of `params` together (parameters without a
 * gradient are skipped), and every gradient multiplied by min(1, maxNorm / (norm + 1e-6)) — computed on
 * the GPU, so nothing is read back. Returns the total norm as a 0-d f32 GPU tensor.
 * @example const gradNorm = kiln.nn.utils.clipGradNorm_(model.parameters(), 1.0);
 */
export function clipGradNorm_(params: Tensor | readonly Tensor[], maxNorm: number, opts: Partial<ClipGradNormOptions> = {}): Tensor {
  const { normType = 2, errorIfNonfinite = false, foundInf = null } = opts;
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new Error(`${OP}: maxNorm must be a number, got ${String(maxNorm)}`);
  if (typeof normType !== 'number' || !(normType > 0)) throw new Error(`${OP}: normType must be a positive number or Infinity, got ${String(normType)}`);
  if (errorIfNonfinite)
    throw new Error(
      `${OP}: errorIfNonfinite: true would need a readback of the norm; pass { foundInf } to flag a non-finite norm on the GPU ` +
        '(an optimizer with that foundInf skips the step), or check `await norm.item()` yourself',
    );
  if (foundInf !== null) checkScalarTensor(`${OP}: foundInf`, foundInf);
  const list = params instanceof Tensor ? [params] : [...params];
  const grads: Tensor[] = [];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new Error(`${OP}: params[${i}] is not a tensor`);
    const g = p.grad;
    if (!g) return;
    g.check(OP);
    if (g.dtype !== 'f32' && g.dtype !== 'f16') throw new Error(`${OP}: the gradient of params[${i}] is ${g.dtype}, expected f32 or f16`);
    grads.push(g);
  });
  const kind: NormKind = normType === 2 ? 'l2' : normType === 1 ? 'l1' : normType === Infinity ? 'inf' : 'p';
  return noGrad(() =>
    tidy(() => {
      // Pass 1 reads each gradient from element 0 of a contiguous run; a strided one is measured on a copy.
      const dense = grads.map((g) => (g.isContiguous() ? g : g.contiguous()));
      const starts: number[] = [];
      let count = 0;
      for (const g of dense) {
        starts.push(count);
        count += Math.ceil(g.numel() / NORM_CHUNK);
      }
      const partials = empty([Math.max(count, 1)], 'f32', OP);
      dense.forEach((g, i) => runNormPartials(g.numel(), g.operand(OP), partials.storage.buffer, starts[i]!, kind, normType));
      const total = empty([], 'f32', OP);
      const coef = empty([], 'f32', OP);
      runNormFinish(count, partials.storage.buffer, total.operand(OP), coef.operand(OP), maxNorm, kind, normType);
      // g ← g · coef, on the GPU (torch multiplies even when coef is 1: x·1 = x, bitwise).
      for (const g of grads) checkAndScale(g, total, coef, { check: false, unscale: true }, OP);
      if (foundInf !== null) {
        checkAndScale(total, foundInf, coef, { check: true, unscale: false }, OP);
        foundInf.bumpVersion();
      }
      return total;
    }),
  );
}
