// matmul with PyTorch semantics (1-D operands promoted and squeezed, batch dimensions broadcast);
// transposed or broadcast operands are read through their strides without a copy.

import { runMatmul } from '../../kernels/matmul.js';
import { needsBlocks, runMatmulBlocks } from '../../kernels/matmul-large.js';
import { isFloat } from '../../kernels/dtype.js';
import { empty } from '../alloc.js';
import { broadcastShapes, broadcastStrides, fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { autocasting, runAutocast } from '../autocast.js';
import { expectTensor } from './args.js';
import { record } from './record.js';
import type { GradRules } from './types.js';

/** [..., M, K] @ [..., K, N] with broadcast batch axes; both operands at least 2-D. */
function matmul2(a: Tensor, b: Tensor): Tensor {
  const M = a.shape[a.ndim - 2]!;
  const K = a.shape[a.ndim - 1]!;
  const N = b.shape[b.ndim - 1]!;
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = empty([...batch, M, N], a.dtype, 'matmul');
  const view = (t: Tensor, rows: number, cols: number) => {
    const o = t.operand('matmul');
    const bs = broadcastStrides(t.shape.slice(0, -2), t.strides.slice(0, -2), batch);
    return { ...o, shape: [...batch, rows, cols], strides: [...bs, t.strides[t.ndim - 2]!, t.strides[t.ndim - 1]!] };
  };
  const problem = { out: out.operand('matmul'), a: view(a, M, K), b: view(b, K, N) };
  if (needsBlocks(problem)) runMatmulBlocks(problem);
  else runMatmul(problem);
  record('matmul', [a, b], out, {}, [a, b]);
  return out;
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  expectTensor('matmul', 'first operand', a);
  expectTensor('matmul', 'second operand', b);
  if (autocasting()) return runAutocast('f16', [a, b], matmul);
  a.check('matmul');
  b.check('matmul');
  if (a.ndim === 0 || b.ndim === 0)
    throw new Error(`matmul: both arguments need at least 1 dimension, got ${fmt(a.shape)} @ ${fmt(b.shape)}`);
  if (a.dtype !== b.dtype)
    throw new Error(`matmul: expected both operands to have the same dtype, but got ${a.dtype} @ ${b.dtype} (shapes ${fmt(a.shape)} @ ${fmt(b.shape)})`);
  if (!isFloat(a.dtype)) throw new Error(`matmul: only f32 and f16 are supported, got ${a.dtype}`);
  const ka = a.shape[a.ndim - 1]!;
  const kb = b.ndim === 1 ? b.shape[0]! : b.shape[b.ndim - 2]!;
  if (ka !== kb) throw new Error(`matmul: inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)}`);
  const temps: Tensor[] = [];
  const A = a.ndim === 1 ? a.unsqueeze(0) : a;
  const B = b.ndim === 1 ? b.unsqueeze(1) : b;
  if (A !== a) temps.push(A);
  if (B !== b) temps.push(B);
  let out = matmul2(A, B);
  if (a.ndim === 1 || b.ndim === 1) {
    const shape = out.shape.filter((_, i) => !((a.ndim === 1 && i === out.ndim - 2) || (b.ndim === 1 && i === out.ndim - 1)));
    temps.push(out);
    out = out.reshape(shape);
  }
  for (const t of temps) t.dispose();
  return out;
}

/**
 * dB = Aᵀ·dY. When B is a matrix broadcast over A's batch (Linear's weight), the batch is folded into
 * the contraction — [K, B·M]·[B·M, N], one product with the sum inside it — instead of B products of
 * [K, M]·[M, N] whose [B, K, N] stack the walker then sums: B× less memory, one long k loop (as PyTorch).
 */
function weightGrad(a: Tensor, g: Tensor, b: Tensor): Tensor {
  if (b.ndim !== 2 || a.ndim < 3) return matmul2(a.mT, g);
  const a2 = a.reshape([-1, a.shape[a.ndim - 1]!]); // [B·M, K]
  const g2 = g.reshape([-1, g.shape[g.ndim - 1]!]); // [B·M, N]
  const at = a2.mT;
  const out = matmul2(at, g2); // [K, N]
  for (const t of [a2, g2, at]) t.dispose();
  return out;
}

export const matmulRules = {
  // d(A·B) = dA·B + A·dB  ⇒  dA = dY·Bᵀ, dB = Aᵀ·dY (batch broadcasting is summed by the walker)
  matmul: (g, c) => [c.needs(0) ? matmul2(g, c.saved(1).mT) : null, c.needs(1) ? weightGrad(c.saved(0), g, c.saved(1)) : null],
} satisfies Pick<GradRules, 'matmul'>;
