// Checks and copies shared by the optimizers' loadStateDict: a loaded state dict may come from a file, so
// every field is checked at run time, with the field's path in the error.

import type { DType } from '../kernels/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { keep } from './optimizer.js';

export function checkNumber(v: unknown, where: string): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`${where}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}

/** A boolean, or `fallback` where torch writes null/omits the key. */
export function checkBool(v: unknown, where: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new Error(`${where}: expected a boolean, got ${JSON.stringify(v)}`);
  return v;
}

/** The optimizer's own contiguous copy of a loaded state tensor, in the dtype and shape its state uses. */
export function ownCopy(t: Tensor, dtype: DType, shape: readonly number[]): Tensor {
  const v = t.check('loadStateDict').reshape(shape);
  return keep(v.dtype === dtype ? v.clone() : v.cast(dtype));
}

/** Throws unless `t` is a tensor of the parameter's shape (a moment or momentum buffer of `p`). */
export function checkLike(t: unknown, p: Tensor, where: string): void {
  if (!(t instanceof Tensor)) throw new Error(`${where}: expected a tensor, got ${typeof t}`);
  if (t.shape.join(',') !== p.shape.join(',')) throw new Error(`${where} has shape [${t.shape.join(',')}], the parameter has shape [${p.shape.join(',')}]`);
}
