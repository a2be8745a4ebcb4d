// Convolutions for patch embedding (conv2d, conv3d; PyTorch semantics, no dilation or groups), built as
// im2col + the tuned matmul: columns [B·L, C·K] @ weightᵀ [C·K, O] → [B·L, O], returned as a [B, O, ...]
// view of that (channels-last) storage. Only im2col is an op of its own here; its gradient is col2im.
// Non-overlapping, unpadded windows (stride = kernel, the ViT case) take the unfold-view path instead;
// batches whose columns pass one storage binding are convolved in chunks and concatenated.

import { gpu } from '../../device/gpu.js';
import { runCol2im, runIm2col, type Windows } from '../../kernels/conv.js';
import { byteSize, isFloat } from '../../kernels/dtype.js';
import { empty } from '../alloc.js';
import { autocasting, runAutocast } from '../autocast.js';
import { fmt, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { cat } from './indexing.js';
import { matmul } from './matmul.js';
import { record } from './record.js';
import type { GradRules } from './types.js';
import { unfold } from './unfold.js';
import { permute, reshape, slice } from './views.js';

declare module './types.js' {
  interface OpAttrs {
    im2col: { windows: Windows };
  }
}

export interface ConvOptions {
  /** Step between windows: one number for every spatial dim, or one per dim. Default 1. */
  readonly stride?: number | readonly number[];
  /** Implicit zeros added on both sides of every spatial dim: a number or one per dim. Default 0. */
  readonly padding?: number | readonly number[];
}

/** @internal Overrides the adapter's maxStorageBufferBindingSize for batch splitting (tests; 0: the adapter's). */
export const convLimits = { maxBindingBytes: 0 };

/** How the columns are built: 'kernel' (the im2col op), 'views' (unfold views + a copy; padding 0 only). */
export type Im2colPath = 'kernel' | 'views';

function tuple(op: string, name: string, v: number | readonly number[], nd: number, min: number): number[] {
  const t = typeof v === 'number' ? new Array<number>(nd).fill(v) : [...v];
  if (t.length !== nd || t.some((s) => !Number.isInteger(s) || s < min))
    throw new Error(`${op}: ${name} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer or ${nd} of them, got ${typeof v === 'number' ? v : fmt(v)}`);
  return t;
}

/** Output extent of one spatial dim: ⌊(S + 2p − k) / s⌋ + 1 (PyTorch's formula without dilation). */
function outSize(s: number, k: number, stride: number, pad: number): number {
  return Math.floor((s + 2 * pad - k) / stride) + 1;
}

/** Window geometry of x [B, C, ...S] under `kernel`, padded to three spatial dims for the kernels. */
function windows(x: Tensor, kernel: readonly number[], stride: readonly number[], pad: readonly number[]): Windows {
  const nd = kernel.length;
  const size = x.shape.slice(2);
  const fill = <T>(v: readonly T[], one: T): T[] => [...new Array<T>(3 - nd).fill(one), ...v];
  return {
    batch: x.shape[0]!,
    channels: x.shape[1]!,
    size: fill(size, 1),
    outs: fill(size.map((s, d) => outSize(s, kernel[d]!, stride[d]!, pad[d]!)), 1),
    kernel: fill(kernel, 1),
    stride: fill(stride, 1),
    pad: fill(pad, 0),
  };
}

/** Strides of a contiguous [B, O0, O1, O2, C, K0, K1, K2] column buffer, as [B, C, O…, K…] for col2im. */
function columnStrides(w: Windows): number[] {
  const k = numel(w.kernel);
  const l = numel(w.outs);
  const [o1, o2] = [w.outs[1]!, w.outs[2]!];
  const [k1, k2] = [w.kernel[1]!, w.kernel[2]!];
  const row = w.channels * k;
  return [l * row, k, o1 * o2 * row, o2 * row, row, k1 * k2, k2, 1];
}

/**
 * The column matrix of a convolution: x [B, C, ...S] → [B·L, C·K], row (b, o…) holding the window at
 * output position o (channel-major, then kernel offsets; zeros in the padding).
 */
export function im2col(x: Tensor, kernel: readonly number[], stride: readonly number[], padding: readonly number[], path: Im2colPath = 'kernel'): Tensor {
  x.check('im2col');
  const nd = kernel.length;
  const [B, C] = [x.shape[0]!, x.shape[1]!];
  if (path === 'views') {
    if (padding.some((p) => p !== 0)) throw new Error(`im2col: the 'views' path needs zero padding, got ${fmt(padding)}`);
    // x.unfold per spatial dim → [B, C, O…, K…]; channel-major rows: permute to [B, O…, C, K…] and copy.
    let u = x;
    for (let d = 0; d < nd; d++) {
      const next = unfold(u, 2 + d, kernel[d]!, stride[d]!);
      if (u !== x) u.dispose();
      u = next;
    }
    const outs = u.shape.slice(2, 2 + nd);
    const p = permute(u, [0, ...outs.map((_, d) => 2 + d), 1, ...kernel.map((_, d) => 2 + nd + d)]);
    const cols = reshape(p, [B * numel(outs), C * numel(kernel)], 'im2col'); // copies: p is not contiguous
    if (u !== x) u.dispose();
    p.dispose();
    return cols;
  }
  const w = windows(x, kernel, stride, padding);
  const cols = empty([B * numel(w.outs), C * numel(kernel)], x.dtype, 'im2col');
  const xs = [x.strides[0]!, x.strides[1]!, ...new Array<number>(3 - nd).fill(0), ...x.strides.slice(2)];
  runIm2col(cols.operand('im2col'), x.operand('im2col'), xs, w);
  record('im2col', [x], cols, { windows: w });
  return cols;
}

function conv(op: 'conv2d' | 'conv3d', nd: number, x: Tensor, weight: Tensor, bias: Tensor | null, opts: ConvOptions): Tensor {
  x.check(op);
  weight.check(op);
  bias?.check(op);
  const names = nd === 2 ? '[B, C, H, W]' : '[B, C, T, H, W]';
  if (x.ndim !== nd + 1 && x.ndim !== nd + 2)
    throw new Error(`${op}: expected a ${nd + 2}-D input ${names} (or ${nd + 1}-D unbatched), got ${fmt(x.shape)}`);
  if (weight.ndim !== nd + 2)
    throw new Error(`${op}: expected a ${nd + 2}-D weight [O, C, ${nd === 2 ? 'kh, kw' : 'kt, kh, kw'}], got ${fmt(weight.shape)}`);
  if (x.ndim === nd + 1) {
    // Unbatched input, as PyTorch accepts: run with B = 1 and drop it again.
    const xb = x.unsqueeze(0);
    const yb = conv(op, nd, xb, weight, bias, opts);
    const y = yb.squeeze(0);
    xb.dispose();
    yb.dispose();
    return y;
  }
  if (!isFloat(x.dtype)) throw new Error(`${op}: expected a floating point input, got ${x.dtype}`);
  if (weight.dtype !== x.dtype || (bias && bias.dtype !== x.dtype))
    throw new Error(`${op}: input (${x.dtype}), weight (${weight.dtype})${bias ? ` and bias (${bias.dtype})` : ''} must have the same dtype`);
  const [O, C] = [weight.shape[0]!, weight.shape[1]!];
  if (x.shape[1] !== C)
    throw new Error(`${op}: weight ${fmt(weight.shape)} expects ${C} input channels, but the input ${fmt(x.shape)} has ${x.shape[1]} channels`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== O))
    throw new Error(`${op}: bias must have shape [${O}] (the weight's output channels), got ${fmt(bias.shape)}`);
  const kernel = weight.shape.slice(2);
  const stride = tuple(op, 'stride', opts.stride ?? 1, nd, 1);
  const padding = tuple(op, 'padding', opts.padding ?? 0, nd, 0);
  x.shape.slice(2).forEach((s, d) => {
    if (kernel[d]! > s + 2 * padding[d]!)
      throw new Error(
        `${op}: kernel size ${fmt(kernel)} is larger than the padded input size ${fmt(x.shape.slice(2).map((v, e) => v + 2 * padding[e]!))} (input ${fmt(x.shape)}, weight ${fmt(weight.shape)}, padding ${fmt(padding)})`,
      );
  });
  const B = x.shape[0]!;
  const outs = x.shape.slice(2).map((s, d) => outSize(s, kernel[d]!, stride[d]!, padding[d]!));
  // Columns, products and the input are each bound whole: past one binding, convolve batch chunks (the
  // input copied per chunk, so its binding is small too) and concatenate them.
  const limit = convLimits.maxBindingBytes || (gpu(op).info.limits['maxStorageBufferBindingSize'] ?? 2 ** 27);
  const bytes = byteSize(x.dtype);
  const perBatch = numel(outs) * Math.max(C * numel(kernel), O) * bytes;
  const perSample = Math.max(perBatch, numel(x.shape.slice(1)) * bytes);
  if (perSample > limit)
    throw new Error(`${op}: one sample of input ${fmt(x.shape)} with weight ${fmt(weight.shape)} needs ${perSample} bytes of columns or input, more than one ${limit}-byte binding`);
  if (B * perBatch > limit || x.storage.bytes > limit) {
    const n = Math.floor(limit / perSample);
    const parts: Tensor[] = [];
    for (let b0 = 0; b0 < B; b0 += n) {
      const xs = slice(x, 0, b0, Math.min(B, b0 + n));
      const xc = xs.clone(); // storage of its own, so the chunk's binding is small
      parts.push(conv(op, nd, xc, weight, bias, opts));
      xc.dispose();
      xs.dispose();
    }
    const out = cat(parts, 0);
    for (const p of parts) p.dispose();
    return out;
  }
  const patches = stride.every((s, d) => s === kernel[d]) && padding.every((p) => p === 0);
  const cols = im2col(x, kernel, stride, padding, patches ? 'views' : 'kernel'); // [B·L, C·K]
  const w2 = reshape(weight, [O, C * numel(kernel)], op);
  const wt = w2.mT; // [C·K, O], read transposed in place
  const y = matmul(cols, wt); // [B·L, O]
  const yb = bias ? y.add(bias) : y;
  const y3 = reshape(yb, [B, ...outs, O], op);
  const out = permute(y3, [0, nd + 1, ...outs.map((_, d) => d + 1)]); // [B, O, ...outs], channels-last storage
  for (const t of [cols, w2, wt, y, yb, y3]) if (t !== out) t.dispose();
  return out;
}

/**
 * 2-D convolution (PyTorch's F.conv2d without dilation or groups): x [B, C, H, W], weight [O, C, kh, kw],
 * bias [O] → [B, O, H', W'] with H' = ⌊(H + 2p − kh)/s⌋ + 1. The result is a view of channels-last
 * storage, so `flatten(2).transpose(1, 2)` (patch tokens) is a free view.
 * @example kiln.F.conv2d(spectrogram, w, null, { stride: 10 }) // ImageBind audio: k = 16, stride 10
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvOptions = {}): Tensor {
  if (autocasting()) return runAutocast('f16', [x, weight, bias], (...a) => conv2d(...a, opts));
  return conv('conv2d', 2, x, weight, bias, opts);
}

/**
 * 3-D convolution: x [B, C, T, H, W], weight [O, C, kt, kh, kw], bias [O] → [B, O, T', H', W'].
 * @example kiln.F.conv3d(video, w, null, { stride: [2, 14, 14] }) // ImageBind vision patch embedding
 */
export function conv3d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvOptions = {}): Tensor {
  if (autocasting()) return runAutocast('f16', [x, weight, bias], (...a) => conv3d(...a, opts));
  return conv('conv3d', 3, x, weight, bias, opts);
}

export const convRules = {
  // cols = A·x for the 0/1 window-selection matrix A: dx = Aᵀ·dcols, the col2im fold
  im2col: (g, c) => {
    const w = c.attrs.windows;
    const gc = g.contiguous();
    const dx = empty(c.inputs[0]!.shape, g.dtype, 'im2col');
    const nd = dx.ndim - 2;
    const ds = [dx.strides[0]!, dx.strides[1]!, ...new Array<number>(3 - nd).fill(0), ...dx.strides.slice(2)];
    runCol2im(dx.operand('im2col'), ds, gc.operand('im2col'), columnStrides(w), w);
    if (gc !== g) gc.dispose();
    return [dx];
  },
} satisfies Pick<GradRules, 'im2col'>;
