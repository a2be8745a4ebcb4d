// kiln.nn.functional (also kiln.F): the functional forms of the neural-network ops. Each fused op has its
// unfused composition beside it (`{ fused: false }` or the *Unfused function) for fusion research.

import { logSoftmaxUnfused, logSoftmax as logSoftmaxFused, softmaxUnfused, softmax as softmaxFused } from '../tensor/ops/softmax.js';
import { layerNorm as layerNormFused, layerNormUnfused, rmsNorm as rmsNormFused } from '../tensor/ops/norm.js';
import { type CrossEntropyOptions, crossEntropy as crossEntropyFused, crossEntropyUnfused } from '../tensor/ops/cross-entropy.js';
import { dropPath as dropPathOp, dropout as dropoutOp } from '../tensor/ops/dropout.js';
import type { Tensor } from '../tensor/tensor.js';
import { autocasting, runAutocast } from '../tensor/autocast.js';

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

/** Dropout: zeroes elements with probability p, scales the rest by 1/(1−p); the mask is regenerated in backward. */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  return dropoutOp(x, p, training);
}

/** DropPath (stochastic depth): drops whole samples along dim 0 with probability p. */
export function dropPath(x: Tensor, p = 0, training = true): Tensor {
  return dropPathOp(x, p, training);
}

/** GELU, exact (erf) or tanh-approximated. */
export function gelu(x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  return x.gelu(opts);
}

/** OpenAI CLIP's QuickGELU: x·σ(1.702x). */
export function quickGelu(x: Tensor): Tensor {
  const s = x.mul(1.702);
  const sig = s.sigmoid();
  const y = x.mul(sig);
  s.dispose();
  sig.dispose();
  return y;
}

/**
 * x / max(‖x‖_p, eps) along `dim` (PyTorch's F.normalize; p = 2 by default). An f16 input is normalised
 * in f32 and the result stored as f16: its squares overflow f16 past |x| = 256, their sum past 65504, and
 * eps = 1e-12 rounds to 0 in f16.
 */
export function normalize(x: Tensor, opts: { p?: number; dim?: number; eps?: number } = {}): Tensor {
  // On autocast's f32 list with PyTorch's `norm`: an f16 square would overflow above 256.
  if (autocasting()) return runAutocast('f32', [x], (x32) => normalize(x32, opts));
  const p = opts.p ?? 2;
  const dim = opts.dim ?? 1;
  const eps = opts.eps ?? 1e-12;
  const xf = x.dtype === 'f16' ? x.to('f32') : x;
  const a = p === 2 ? xf.square() : xf.abs().pow(p);
  const s = a.sum(dim, true);
  const n = p === 2 ? s.sqrt() : s.pow(1 / p);
  const d = n.clamp(eps);
  const yf = xf.div(d);
  const y = xf === x ? yf : yf.to(x.dtype);
  for (const t of [a, s, n, d, ...(xf === x ? [] : [xf, yf])]) t.dispose();
  return y;
}

/** An embedding lookup: rows of `weight` [V, D] at integer `ids` (any shape) → [...ids.shape, D]. */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  if (weight.ndim !== 2) throw new Error(`embedding: weight must be 2-D [num_embeddings, dim], got [${weight.shape.join(',')}]`);
  const flat = ids.reshape([-1]);
  const rows = weight.indexSelect(0, flat);
  const out = rows.reshape([...ids.shape, weight.shape[1]!]);
  flat.dispose();
  if (out !== rows) rows.dispose();
  return out;
}

export { conv2d, conv3d, type ConvOptions } from '../tensor/ops/conv.js';
export { linear, linearUnfused, type LinearActivation, type LinearOptions } from '../tensor/ops/linear.js';

import { type InfoNCEOptions, infoNCE as infoNCEFused, infoNCELogits, infoNCEUnfused } from '../tensor/ops/infonce.js';

/**
 * Symmetric softmax-InfoNCE (CLIP) loss ½·(CE(s·a·bᵀ, labels) + CE(s·b·aᵀ, labels)), each averaged over N;
 * a, b [N, D], labels i32 [N] (default the diagonal). `logitScale` is the multiplier s itself (a scalar
 * tensor [] or [1], e.g. `logScale.exp().clamp(null, 100)`), not its log. Fused, the N×N logits are never
 * stored (backward recomputes them). Returns the loss, or `{ loss, logits }` with `returnLogits: true`
 * (logits = s·a·bᵀ [N, N], for retrieval metrics; the only case that allocates N×N).
 * @example const loss = kiln.F.infoNCE(img, txt, logScale.exp());
 */
export function infoNCE(a: Tensor, b: Tensor, logitScale: Tensor, opts: InfoNCEOptions & FusedOption & { returnLogits: true }): { loss: Tensor; logits: Tensor };
export function infoNCE(a: Tensor, b: Tensor, logitScale: Tensor, opts?: InfoNCEOptions & FusedOption & { returnLogits?: false }): Tensor;
export function infoNCE(a: Tensor, b: Tensor, logitScale: Tensor, opts: InfoNCEOptions & FusedOption & { returnLogits?: boolean } = {}): Tensor | { loss: Tensor; logits: Tensor } {
  if (opts.fused === false) {
    const { loss, logits } = infoNCEUnfused(a, b, logitScale, opts);
    if (opts.returnLogits) return { loss, logits };
    logits.dispose();
    return loss;
  }
  const loss = infoNCEFused(a, b, logitScale, opts);
  return opts.returnLogits ? { loss, logits: infoNCELogits(a, b, logitScale) } : loss;
}

/**
 * Scaled dot-product attention over q [B, H, Lq, D], k and v [B, H, Lk, D] (PyTorch's semantics): fused
 * flash kernels (no L×L matrix in memory) with mask, causal, scale, dropout and bias-kv options.
 * @example kiln.F.scaledDotProductAttention(q, k, v, { causal: true })
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions & FusedOption = {}): Tensor {
  return opts.fused === false ? attentionUnfused(q, k, v, opts) : attentionFused(q, k, v, opts);
}
export { type AttentionOptions, causalMask } from '../tensor/ops/attention.js';
import { type AttentionOptions, scaledDotProductAttention as attentionFused, scaledDotProductAttentionUnfused as attentionUnfused } from '../tensor/ops/attention.js';
