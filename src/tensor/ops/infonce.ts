// The softmax-InfoNCE (CLIP) loss ½·(CE(s·a·bᵀ, labels) + CE(s·b·aᵀ, labels)) as one fused op: its forward
// keeps row and column log-sum-exps (f32 [n] each) and never materialises the n×n logits; its backward
// recomputes them tile by tile. Memory stays linear in n (the one-pass kernels' partials are [≤ 64, n] and
// [≤ 4, n, D]). The unfused composition (matmul → two cross-entropies) stays callable.

import { backwardSlots, forwardSlots, infoNCETiles, runInfoNCEBackward, runInfoNCEBackwardOnePass, runInfoNCEForward, runInfoNCEForwardOnePass } from '../../kernels/infonce.js';
import { isFloat } from '../../kernels/dtype.js';
import { autocasting, runAutocast } from '../autocast.js';
import { empty } from '../alloc.js';
import { arange, zeros } from '../create.js';
import { fmt } from '../shape.js';
import { noGrad, tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { crossEntropy } from './cross-entropy.js';
import { cat } from './indexing.js';
import { matmul } from './matmul.js';
import { record } from './record.js';
import { sum } from './reduce.js';
import type { GradRules } from './types.js';

declare module './types.js' {
  interface OpAttrs {
    infonce: { n: number; d: number; hasLabels: boolean };
  }
}

export interface InfoNCEOptions {
  /**
   * Target column of each row, i32 [N] in [0, N) (default: the diagonal, arange(N)); the column loss uses
   * the same labels on s·b·aᵀ. A label outside [0, N) matches no logit (that term is just its lse).
   */
  readonly labels?: Tensor;
}

const OP = 'infoNCE';

function check(a: Tensor, b: Tensor, s: Tensor, labels: Tensor | undefined): { n: number; d: number } {
  for (const t of [a, b, s]) t.check(OP);
  if (a.ndim !== 2 || b.ndim !== 2 || a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1])
    throw new Error(`${OP}: expected embeddings a and b of the same shape [N, D], got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  if (!isFloat(a.dtype) || a.dtype !== b.dtype) throw new Error(`${OP}: expected floating point embeddings of one dtype, got ${a.dtype} and ${b.dtype}`);
  if (s.numel() !== 1 || s.ndim > 1 || !isFloat(s.dtype)) throw new Error(`${OP}: logitScale must be a floating point scalar (shape [] or [1]), got ${fmt(s.shape)} ${s.dtype}`);
  const n = a.shape[0]!;
  if (n === 0) throw new Error(`${OP}: expected at least one pair, got N = 0`);
  if (labels) {
    labels.check(OP);
    if (labels.dtype !== 'i32' || labels.ndim !== 1 || labels.shape[0] !== n)
      throw new Error(`${OP}: labels must be i32 of shape [${n}], got ${fmt(labels.shape)} ${labels.dtype}`);
  }
  return { n, d: a.shape[1]! };
}

/** `t` as a dense buffer from element 0 (what the kernels bind), copied only when it is not one already. */
function dense(t: Tensor): Tensor {
  return t.isContiguous() && t.offset === 0 ? t : t.clone();
}

/** Embeddings [n, d] as dense [n, 4·⌈d/4⌉] (zero columns change no dot product), for vec4 loads. */
function packed(x: Tensor): Tensor {
  const pad = (4 - (x.shape[1]! % 4)) % 4;
  if (pad === 0) return dense(x);
  const z = zeros([x.shape[0]!, pad], { dtype: x.dtype });
  const out = cat([x, z], 1);
  z.dispose();
  return out;
}

/**
 * The fused loss (f32 scalar) from a [N, D], b [N, D] and the logit scale s — the multiplier itself
 * (e.g. exp(learned).clamp(max 100)), not its log — with the per-row and per-column lse saved for backward.
 */
export function infoNCE(a: Tensor, b: Tensor, logitScale: Tensor, opts: InfoNCEOptions = {}): Tensor {
  if (autocasting()) return runAutocast('f32', [a, b, logitScale], (...x) => infoNCE(...x, opts));
  const { n, d } = check(a, b, logitScale, opts.labels);
  const [xa, xb, sc, lab] = noGrad(() => [packed(a), packed(b), dense(logitScale.to('f32').reshape([1])), opts.labels ? dense(opts.labels) : null] as const);
  const d4 = xa.shape[1]! / 4;
  const stats = empty([4 * n], 'f32', OP); // lse rows | lse columns | loss terms rows | loss terms columns
  const tiles = infoNCETiles(n);
  if (tiles.sg) {
    // one sweep: rows' lse directly, columns' from per-slot partials merged in slot order
    const colp = empty([2 * forwardSlots(n, tiles.tm) * n], 'f32', OP);
    runInfoNCEForwardOnePass(n, d4, lab !== null, tiles.tm, stats.operand(OP), colp.operand(OP), xa.operand(OP), xb.operand(OP), (lab ?? xb).operand(OP), sc.operand(OP));
    colp.dispose();
  } else {
    for (const side of [0, 1] as const) {
      const [x, y] = side === 0 ? [xa, xb] : [xb, xa];
      runInfoNCEForward({ n, d4, side, hasLabels: lab !== null }, stats.operand(OP), x.operand(OP), y.operand(OP), (lab ?? y).operand(OP), sc.operand(OP), tiles);
    }
  }
  const loss = noGrad(() => tidy(() => sum(stats.narrow(0, 2 * n, 2 * n)).mul(1 / (2 * n))));
  record('infonce', [a, b, logitScale], loss, { n, d, hasLabels: lab !== null }, [xa, xb, sc, stats, ...(lab ? [lab] : [])]);
  for (const t of [xa, xb, sc, lab]) if (t && t !== a && t !== b && t !== logitScale && t !== opts.labels) t.dispose();
  stats.dispose();
  return loss;
}

/** The logits s·a·bᵀ [N, N] (differentiable; the one place the n×n matrix is allocated). */
export function infoNCELogits(a: Tensor, b: Tensor, logitScale: Tensor): Tensor {
  if (autocasting()) return runAutocast('f32', [a, b, logitScale], infoNCELogits);
  return tidy(() => matmul(a, b.mT).mul(logitScale.reshape([])));
}

/** The same loss composed from the tuned matmul and the fused cross-entropy, materialising the logits. */
export function infoNCEUnfused(a: Tensor, b: Tensor, logitScale: Tensor, opts: InfoNCEOptions = {}): { loss: Tensor; logits: Tensor } {
  if (autocasting()) return runAutocast('f32', [a, b, logitScale], (...x) => infoNCEUnfused(...x, opts));
  const { n } = check(a, b, logitScale, opts.labels);
  return tidy(() => {
    const labels = opts.labels ?? arange(n, undefined, 1, { dtype: 'i32' });
    const logits = infoNCELogits(a, b, logitScale);
    const loss = crossEntropy(logits, labels).add(crossEntropy(logits.mT, labels)).mul(0.5);
    return { loss, logits };
  });
}

export const infoNCERules = {
  // G = g/(2n)·(P + Q − Y_row − Y_col), P/Q the row/column softmaxes of s·a·bᵀ:
  // da = s·G·b, db = s·Gᵀ·a, ds = Σ G∘(a·bᵀ); the kernels recompute the logits tile by tile
  infonce: (g, c) => {
    const { n, d, hasLabels } = c.attrs;
    const [xa, xb, sc, stats] = [c.saved(0), c.saved(1), c.saved(2), c.saved(3)];
    const lab = hasLabels ? c.saved(4) : null;
    const gc = dense(g.to('f32').reshape([1]));
    const d4 = xa.shape[1]! / 4;
    const s = c.inputs[2]!;
    const tiles = infoNCETiles(n);
    if (tiles.sg) {
      // one sweep (3 products, not 4): da by rows, db as per-slot partials added in slot order
      const slots = backwardSlots(n, d4, tiles.tm, tiles.slots);
      const da = empty([n, 4 * d4], 'f32', OP);
      const dbp = empty([slots, n, 4 * d4], 'f32', OP);
      const part = empty([n], 'f32', OP);
      const out = { da: da.operand(OP), dbp: dbp.operand(OP), part: part.operand(OP) };
      runInfoNCEBackwardOnePass(n, d4, lab !== null, tiles.tm, tiles.tn / 8, slots, out, xa.operand(OP), xb.operand(OP), (lab ?? xb).operand(OP), sc.operand(OP), gc.operand(OP), stats.operand(OP));
      const db = sum(dbp, 0);
      dbp.dispose();
      const cut = (t: Tensor, side: 0 | 1): Tensor => (4 * d4 === d ? t : t.narrow(1, 0, d).contiguous()).to(c.inputs[side]!.dtype);
      const ds = c.needs(2) ? sum(part).reshape(s.shape).to(s.dtype) : null;
      return [c.needs(0) ? cut(da, 0) : null, c.needs(1) ? cut(db, 1) : null, ds];
    }
    const part = empty([2 * n], 'f32', OP);
    const grad = (side: 0 | 1): Tensor => {
      const [x, y] = side === 0 ? [xa, xb] : [xb, xa];
      const dx = empty([n, 4 * d4], 'f32', OP);
      runInfoNCEBackward({ n, d4, side, hasLabels: lab !== null }, dx.operand(OP), part.operand(OP), x.operand(OP), y.operand(OP), (lab ?? y).operand(OP), sc.operand(OP), gc.operand(OP), stats.operand(OP), tiles);
      const cut = 4 * d4 === d ? dx : dx.narrow(1, 0, d).contiguous();
      return cut.to(c.inputs[side]!.dtype);
    };
    // side 0 also writes the partials of ds (per row of a), so it runs when a or s needs a gradient
    const da = c.needs(0) || c.needs(2) ? grad(0) : null;
    const db = c.needs(1) ? grad(1) : null;
    const ds = c.needs(2) ? sum(part.narrow(0, 0, n)).reshape(s.shape).to(s.dtype) : null;
    return [c.needs(0) ? da : null, db, ds];
  },
} satisfies Pick<GradRules, 'infonce'>;
