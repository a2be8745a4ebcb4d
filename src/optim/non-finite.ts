// The GPU skip flag's producer: torch's _amp_foreach_non_finite_check_and_unscale_ — raise found_inf when a
// gradient holds NaN or ±inf, optionally unscaling the gradients in the same pass, with no readback.

import { type NonFiniteModes, runNonFiniteCheck } from '../kernels/non-finite.js';
import { full } from '../tensor/create.js';
import { noGrad, tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { checkScalarTensor } from './optimizer.js';

const OP = 'nonFiniteCheckAndUnscale_';

/**
 * Sets `foundInf` (a one-element f32 tensor) to 1 if any element of `tensors` is NaN or ±inf — it is never
 * cleared here, so several calls accumulate — and multiplies every element by `invScale` (a one-element f32
 * tensor, as a loss scaler holds it, or a number). With `invScale` 1 (the default) it is the plain check
 * and writes nothing but the flag. One dispatch per tensor; nothing is read back. Elements are checked
 * before the multiply, as torch does.
 * @example kiln.optim.nonFiniteCheckAndUnscale_(params.map((p) => p.grad!), opt.foundInf!, 1 / 1024);
 */
export function nonFiniteCheckAndUnscale_(tensors: readonly Tensor[], foundInf: Tensor, invScale: Tensor | number = 1): void {
  checkScalarTensor(`${OP}: foundInf`, foundInf);
  if (invScale instanceof Tensor) {
    checkScalarTensor(`${OP}: invScale`, invScale);
    if (invScale.storage === foundInf.storage) throw new Error(`${OP}: invScale and foundInf must not share storage`);
  } else if (typeof invScale !== 'number' || !Number.isFinite(invScale)) throw new Error(`${OP}: invScale must be a finite number or a tensor, got ${String(invScale)}`);
  tensors.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`${OP}: tensors[${i}] is not a tensor`);
    t.check(OP);
    if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new Error(`${OP}: tensors[${i}] is ${t.dtype}, expected f32 or f16`);
    if (t.storage === foundInf.storage) throw new Error(`${OP}: tensors[${i}] shares storage with foundInf`);
    if (invScale instanceof Tensor && t.storage === invScale.storage) throw new Error(`${OP}: tensors[${i}] shares storage with invScale`);
  });
  const unscale = invScale !== 1;
  noGrad(() =>
    tidy(() => {
      // A number is passed in a buffer too: the kernel's scale slot must hold one.
      const inv = invScale instanceof Tensor ? invScale : full([], invScale);
      for (const t of tensors) checkAndScale(t, foundInf, inv, { check: true, unscale }, OP);
      foundInf.bumpVersion();
    }),
  );
}

/**
 * @internal One tensor through the non-finite/scale kernel (a strided one through a contiguous copy that is
 * written back). Call inside tidy and noGrad; the caller bumps the flag's version.
 */
export function checkAndScale(t: Tensor, flag: Tensor, scale: Tensor, modes: NonFiniteModes, op: string): void {
  const dense = t.isContiguous() ? t : t.contiguous();
  runNonFiniteCheck(dense.numel(), dense.operand(op), flag.operand(op), scale.operand(op), modes);
  if (!modes.unscale) return;
  if (dense === t) t.bumpVersion();
  else t.copy_(dense);
}
