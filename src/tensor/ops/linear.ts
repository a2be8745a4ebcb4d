// Linear as one op: y = act(x·Wᵀ + b) + residual (torch.nn.functional.linear, plus an activation and a
// skip connection), computed in the matmul's store where a register-blocked kernel runs, with its own
// gradient rule. `linearUnfused`, the same computation composed from primitives, stays callable.

import { isFloat, promoteTypes } from '../../kernels/dtype.js';
import { type ElementwiseKernel, runElementwise } from '../../kernels/elementwise.js';
import { type MatmulActivation, type MatmulEpilogue, runMatmulEpilogue } from '../../kernels/matmul.js';
import { type Operand, coalesce } from '../../kernels/operand.js';
import { empty } from '../alloc.js';
import { autocasting, runAutocast } from '../autocast.js';
import { noGrad } from '../scope.js';
import { fmt, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { expectTensor } from './args.js';
import { cast, dense, launch } from './elementwise.js';
import { matmul } from './matmul.js';
import { needsRecord, record } from './record.js';
import type { GradRules } from './types.js';

export type { MatmulActivation as LinearActivation } from '../../kernels/matmul.js';

export interface LinearOptions {
  /** Applied after the bias: 'gelu' (erf, as F.gelu), 'quick_gelu' (x·σ(1.702x), OpenAI CLIP) or 'none'. */
  readonly activation?: MatmulActivation;
  /** Added after the activation: a tensor of the output's shape (a transformer block's skip connection). */
  readonly residual?: Tensor | null;
}

const ACTIVATIONS: readonly MatmulActivation[] = ['none', 'gelu', 'quick_gelu'];

/** The activation of `opts` (default 'none'), or a synchronous error naming `op` and the value. */
export function linearActivation(op: string, opts: LinearOptions): MatmulActivation {
  const activation = opts.activation ?? 'none';
  if (!ACTIVATIONS.includes(activation)) throw new Error(`${op}: activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(activation)}`);
  return activation;
}

/**
 * torch.nn.functional.linear with an optional activation and residual: act(x·wᵀ + b) + residual, w [out, in],
 * b [out], residual of the output's shape. One op for autocast (x, w and b go to f16; the residual keeps its
 * dtype and the output takes the promoted one, as `h + linear(x)` does in PyTorch). Fused into the matmul's
 * store where a register-blocked kernel runs; composed from primitives elsewhere, with the same gradient.
 * @example const h = kiln.F.linear(x, fc1.weight, fc1.bias, { activation: 'gelu' });
 * @example const y = kiln.F.linear(h, fc2.weight, fc2.bias, { residual: x }); // x + fc2(h)
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: LinearOptions = {}): Tensor {
  expectTensor('linear', 'input', x);
  expectTensor('linear', 'weight', weight);
  if (bias !== null) expectTensor('linear', 'bias', bias);
  const activation = linearActivation('linear', opts);
  const residual = opts.residual ?? null;
  if (residual !== null) expectTensor('linear', 'residual', residual);
  if (autocasting()) return runAutocast('f16', [x, weight, bias], (x16, w16, b16) => linear(x16, w16, b16, { activation, residual }));
  for (const t of [x, weight, bias, residual]) t?.check('linear');
  check(x, weight, bias, residual);
  if (x.ndim === 1) return linearOfVector(x, weight, bias, activation, residual);
  const outShape = [...x.shape.slice(0, -1), weight.shape[0]!];
  const dtype = residual ? promoteTypes(x.dtype, residual.dtype) : x.dtype;
  const inputs = [x, weight, ...(bias ? [bias] : []), ...(residual ? [residual] : [])];
  const savePre = activation !== 'none' && needsRecord(inputs);
  // The kernel reads the residual at the output's index and type; the gradient reaches `residual` itself.
  const r = residual ? noGrad(() => dense(residual.dtype === dtype ? residual : cast(residual, dtype), 'linear')) : null;
  const res = fused(x, weight, bias, r, activation, savePre, outShape, dtype) ?? noGrad(() => compose(x, weight, bias, activation, r));
  if (r !== null && r !== residual) r.dispose();
  const pre = savePre ? res.pre : null;
  if (res.pre !== res.out && res.pre !== pre) res.pre.dispose();
  record('linear', inputs, res.out, { activation, bias: bias !== null, residual: residual !== null }, pre ? [x, weight, pre] : [x, weight]);
  pre?.dispose();
  return res.out;
}

/**
 * The same computation composed from primitives (matmul, add, gelu or x·σ(1.702x), add), each recorded:
 * what `linear` is tested and benchmarked against.
 * @example const y = kiln.F.linearUnfused(x, w, b, { activation: 'gelu' });
 */
export function linearUnfused(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: LinearOptions = {}): Tensor {
  const { out, pre } = compose(x, weight, bias, opts.activation ?? 'none', opts.residual ?? null);
  if (pre !== out) pre.dispose();
  return out;
}

function check(x: Tensor, weight: Tensor, bias: Tensor | null, residual: Tensor | null): void {
  if (weight.ndim !== 2) throw new Error(`linear: weight must be 2-D [out, in], got ${fmt(weight.shape)}`);
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== weight.shape[1])
    throw new Error(`linear: input ${fmt(x.shape)} does not end in weight ${fmt(weight.shape)}'s in_features ${weight.shape[1]}`);
  if (!isFloat(x.dtype) || x.dtype !== weight.dtype || (bias && bias.dtype !== x.dtype))
    throw new Error(`linear: input, weight and bias must share one float dtype, got ${x.dtype}, ${weight.dtype}${bias ? `, ${bias.dtype}` : ''}`);
  if (bias && !sameShape(bias.shape, [weight.shape[0]!]))
    throw new Error(`linear: bias must be [${weight.shape[0]}] (out_features), got ${fmt(bias.shape)}`);
  const outShape = [...x.shape.slice(0, -1), weight.shape[0]!];
  if (residual && !sameShape(residual.shape, outShape))
    throw new Error(`linear: residual must have the output's shape ${fmt(outShape)}, got ${fmt(residual.shape)}`);
  if (residual && !isFloat(residual.dtype)) throw new Error(`linear: residual must be a float tensor, got ${residual.dtype}`);
}

/** A 1-D input as one row: [in] → [1, in] → [1, out] → [out]. */
function linearOfVector(x: Tensor, weight: Tensor, bias: Tensor | null, activation: MatmulActivation, residual: Tensor | null): Tensor {
  const x2 = x.unsqueeze(0);
  const r2 = residual?.unsqueeze(0) ?? null;
  const y2 = linear(x2, weight, bias, { activation, residual: r2 });
  const y = y2.reshape([weight.shape[0]!]);
  for (const t of [x2, r2, y2]) if (t !== y) t?.dispose();
  return y;
}

/**
 * x's leading axes merged into rows where their strides allow ([B, L, in] → M = B·L: whole tiles of rows
 * instead of a part-empty tile per batch element), the rest kept as batch axes.
 */
function rowsOf(t: Tensor): { lead: number[]; strides: number[] } {
  const c = coalesce(t.shape.slice(0, -1), [t.strides.slice(0, -1)]);
  return c.shape.length === 0 ? { lead: [1], strides: [0] } : { lead: c.shape, strides: c.strides[0]! };
}

/** The fused forward into fresh out (and pre) tensors; null where no register-blocked kernel takes it. */
function fused(
  x: Tensor, weight: Tensor, bias: Tensor | null, residual: Tensor | null, activation: MatmulActivation, savePre: boolean,
  outShape: readonly number[], dtype: Tensor['dtype'],
): { out: Tensor; pre: Tensor } | null {
  const xo = x.operand('linear');
  const { lead, strides } = rowsOf(x);
  if (lead.length > 5) return null; // more non-mergeable batch axes than the kernels index
  const [N, K] = [weight.shape[0]!, weight.shape[1]!];
  const batch = lead.slice(0, -1);
  const M = lead[lead.length - 1]!;
  const outDims = [...batch, M, N];
  const contiguous = (shape: readonly number[]): number[] => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = empty(outShape, dtype, 'linear');
  const pre = savePre ? empty(outShape, dtype, 'linear') : null;
  const wo = weight.operand('linear');
  const asOut = (t: Tensor): Operand => ({ ...t.operand('linear'), shape: outDims, strides: contiguous(outDims) });
  const problem = {
    out: asOut(out),
    a: { ...xo, shape: [...batch, M, K], strides: [...strides, x.strides[x.ndim - 1]!] },
    b: { ...wo, shape: [...batch, K, N], strides: [...batch.map(() => 0), wo.strides[1]!, wo.strides[0]!] }, // Wᵀ, read in place
  };
  const ep: MatmulEpilogue = { bias: bias?.operand('linear') ?? null, residual: residual ? asOut(residual) : null, pre: pre ? asOut(pre) : null, activation };
  if (runMatmulEpilogue(problem, ep)) return { out, pre: pre ?? out };
  out.dispose();
  pre?.dispose();
  return null;
}

/** act(x·wᵀ + b) + r from primitives; `pre` is x·wᵀ + b (the same tensor as `out` when nothing follows it). */
function compose(x: Tensor, weight: Tensor, bias: Tensor | null, activation: MatmulActivation, residual: Tensor | null): { out: Tensor; pre: Tensor } {
  const wt = weight.mT; // [in, out], read transposed in place
  const mm = matmul(x, wt);
  wt.dispose();
  const pre = bias ? mm.add(bias) : mm;
  if (pre !== mm) mm.dispose();
  let h = pre;
  if (activation === 'gelu') h = pre.gelu();
  else if (activation === 'quick_gelu') {
    const s = pre.mul(1.702);
    const sig = s.sigmoid();
    h = pre.mul(sig);
    s.dispose();
    sig.dispose();
  }
  const out = residual ? h.add(residual) : h;
  if (out !== h && h !== pre) h.dispose();
  return { out, pre };
}

const QUICK_GELU_BW: ElementwiseKernel = {
  name: 'linear:quick_gelu_bw',
  // d x·σ(ax) = σ(ax)·(1 + a·x·(1 − σ(ax)))·dx, a = 1.702
  expr: 'a0 * kiln_sigmoid(1.702 * a1) * (1.0 + 1.702 * a1 * (1.0 - kiln_sigmoid(1.702 * a1)))',
  compute: 'f32',
  result: 'f32',
};

/** dy·act'(pre), one elementwise kernel. */
function activationGrad(activation: MatmulActivation, g: Tensor, pre: () => Tensor): Tensor {
  if (activation === 'none') return g;
  if (activation === 'gelu') return launch('gelu_bw', [g, pre()], g.shape, 'f32', g.dtype);
  const out = empty(g.shape, g.dtype, 'linear');
  runElementwise(QUICK_GELU_BW, out.operand('linear'), [g.operand('linear'), pre().operand('linear')]);
  return out;
}

export const linearRules = {
  // y = act(x·Wᵀ + b) + r, pre = x·Wᵀ + b:  dpre = dy·act'(pre);  dx = dpre·W,  dW = dpreᵀ·x (all rows in
  // one product),  db = Σ_rows dpre,  dr = dy
  linear: (g, c) => {
    const { activation, bias, residual } = c.attrs;
    const [x, w] = [c.saved(0), c.saved(1)];
    const N = w.shape[0]!;
    const temps: Tensor[] = [];
    const keep = <T extends Tensor>(t: T): T => (temps.push(t), t);
    const gp = activationGrad(activation, g, () => c.saved(2));
    if (gp !== g) temps.push(gp);
    const gw = gp.dtype === w.dtype ? gp : keep(cast(gp, w.dtype));
    const g2 = keep(gw.reshape([-1, N])); // [rows, out]
    const dx = c.needs(0) ? keep(matmul(g2, w)).reshape(x.shape) : null;
    const dw = c.needs(1) ? matmul(keep(g2.mT), keep(x.reshape([-1, x.shape[x.ndim - 1]!]))) : null; // [out, in]
    const db = bias && c.needs(2) ? keep(gp.reshape([-1, N])).sum(0) : null;
    const dr = residual && c.needs(bias ? 3 : 2) ? g : null;
    for (const t of temps) t.dispose();
    return [dx, dw, ...(bias ? [db] : []), ...(residual ? [dr] : [])];
  },
} satisfies Pick<GradRules, 'linear'>;
