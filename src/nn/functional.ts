// kiln.nn.functional (also kiln.F): the functional forms of the neural-network ops. Each fused op has its
// unfused composition beside it (`{ fused: false }` or the *Unfused function) for fusion research.

import { logSoftmaxUnfused, logSoftmax as logSoftmaxFused, softmaxUnfused, softmax as softmaxFused } from '../tensor/ops/softmax.js';
import { layerNorm as layerNormFused, layerNormUnfused, rmsNorm as rmsNormFused } from '../tensor/ops/norm.js';
import { type CrossEntropyOptions, crossEntropy as crossEntropyFused, crossEntropyUnfused } from '../tensor/ops/cross-entropy.js';
import type { Tensor } from '../tensor/tensor.js';

export interface FusedOption {
  /** false runs the composition of primitive ops instead of the fused kernel. */
  readonly fused?: boolean;
}

/** softmax along `dim` (max-subtracted). @example kiln.F.softmax(logits, -1) */
export function softmax(x: Tensor, dim: number, opts: FusedOption = {}): Tensor {
  return opts.fused === false ? softmaxUnfused(x, dim) : softmaxFused(x, dim);
}

/** log-softmax along `dim`. @example kiln.F.logSoftmax(logits, -1) */
export function logSoftmax(x: Tensor, dim: number, opts: FusedOption = {}): Tensor {
  return opts.fused === false ? logSoftmaxUnfused(x, dim) : logSoftmaxFused(x, dim);
}

/** LayerNorm over the trailing `normalizedShape` dims. @example kiln.F.layerNorm(x, [768], w, b, 1e-6) */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5, opts: FusedOption = {}): Tensor {
  return opts.fused === false ? layerNormUnfused(x, normalizedShape, weight, bias, eps) : layerNormFused(x, normalizedShape, weight, bias, eps);
}

/** RMSNorm over the trailing `normalizedShape` dims. @example kiln.F.rmsNorm(x, [512], w) */
export function rmsNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, eps = 1e-6): Tensor {
  return rmsNormFused(x, normalizedShape, weight, eps);
}

/**
 * Cross-entropy from logits and class-index targets (i32), with labelSmoothing, ignoreIndex and reduction.
 * @example kiln.F.crossEntropy(logits, targets, { labelSmoothing: 0.1 })
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions & FusedOption = {}): Tensor {
  return opts.fused === false ? crossEntropyUnfused(logits, target, opts) : crossEntropyFused(logits, target, opts);
}
