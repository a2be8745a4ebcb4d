// Scaled dot-product attention (PyTorch's F.scaled_dot_product_attention): a fused flash-style op — forward
// saves only lse per query row, backward recomputes scores tile by tile — beside its unfused composition
// (matmul → scale + mask → softmax → dropout → matmul), kept callable for tests and benchmarks.

import { type AttentionProblem, runAttentionBackward, runAttentionForward } from '../../kernels/attention.js';
import { isFloat } from '../../kernels/dtype.js';
import { empty } from '../alloc.js';
import { autocasting, runAutocast } from '../autocast.js';
import { ones, takeRng, tensor, zeros } from '../create.js';
import { noGrad } from '../scope.js';
import { broadcastStrides, contiguousStrides, fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { dropout as dropoutOp } from './dropout.js';
import { cat } from './indexing.js';
import { record } from './record.js';
import { sum } from './reduce.js';
import { softmax } from './softmax.js';
import type { GradRules } from './types.js';

declare module './types.js' {
  interface OpAttrs {
    attention: {
      scale: number;
      causal: boolean;
      mask: { kind: 'additive' | 'boolean'; strides: readonly number[] } | null;
      bias: boolean;
      dropout: { p: number; seed: number; offset: number } | null;
    };
  }
}

export interface AttentionOptions {
  /**
   * Broadcastable to [B, H, Lq, Lk]: a float mask added to the scores, or a boolean mask where true means
   * "takes part in attention" (PyTorch's convention for F.scaled_dot_product_attention). No gradient flows to it.
   */
  readonly mask?: Tensor | null;
  /** Key j takes part in query i only when j ≤ i (top-left aligned, like PyTorch's is_causal). */
  readonly causal?: boolean;
  /** Score scale; 1/√D by default. */
  readonly scale?: number;
  /** Dropout probability on the attention weights (applied whenever > 0, as PyTorch's dropout_p). */
  readonly dropout?: number;
  /** An extra key/value token [H, D] per head appended after the keys (add_bias_kv); never masked. */
  readonly biasK?: Tensor | null;
  readonly biasV?: Tensor | null;
}

/** The largest head dim the fused kernels hold in registers; larger ones run the unfused composition. */
export const MAX_FUSED_HEAD_DIM = 128;
const OP = 'scaledDotProductAttention';

interface Checked {
  readonly B: number;
  readonly H: number;
  readonly Lq: number;
  readonly Lk: number;
  readonly D: number;
  readonly scale: number;
}

function check(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Checked {
  for (const t of [q, k, v]) t.check(OP);
  if (!isFloat(q.dtype) || k.dtype !== q.dtype || v.dtype !== q.dtype)
    throw new Error(`${OP}: expected q, k and v of one floating point dtype, got ${q.dtype}, ${k.dtype}, ${v.dtype}`);
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4)
    throw new Error(`${OP}: expected q [B, H, Lq, D] and k, v [B, H, Lk, D] (or 3-D [N, L, D]), got ${fmt(q.shape)}, ${fmt(k.shape)}, ${fmt(v.shape)}`);
  const [B, H, Lq, D] = q.shape as [number, number, number, number];
  const Lk = k.shape[2]!;
  const want = [B, H, Lk, D];
  if (k.shape.some((s, i) => s !== want[i]) || v.shape.some((s, i) => s !== want[i]))
    throw new Error(`${OP}: k and v must have shape [B, H, Lk, D] = ${fmt(want)} for q ${fmt(q.shape)}, got ${fmt(k.shape)} and ${fmt(v.shape)}`);
  if ((opts.biasK == null) !== (opts.biasV == null)) throw new Error(`${OP}: biasK and biasV must be given together`);
  for (const [name, t] of [['biasK', opts.biasK], ['biasV', opts.biasV]] as const)
    if (t && (t.numel() !== H * D || t.dtype !== q.dtype || t.shape[t.ndim - 1] !== D))
      throw new Error(`${OP}: ${name} must be [H, D] = [${H}, ${D}] of dtype ${q.dtype}, got ${fmt(t.shape)} (${t.dtype})`);
  const p = opts.dropout ?? 0;
  if (!(p >= 0 && p <= 1)) throw new Error(`${OP}: dropout probability has to be between 0 and 1, but got ${p}`);
  if (opts.mask) {
    const m = opts.mask;
    m.check(OP);
    const target = [B, H, Lq, Lk];
    const lead = 4 - m.ndim;
    if (m.ndim > 4 || m.shape.some((s, i) => s !== 1 && s !== target[lead + i]))
      throw new Error(`${OP}: mask of shape ${fmt(m.shape)} does not broadcast to [B, H, Lq, Lk] = ${fmt(target)}`);
    if (m.dtype !== 'bool' && !isFloat(m.dtype)) throw new Error(`${OP}: mask must be bool or floating point, got ${m.dtype}`);
  }
  return { B, H, Lq, Lk, D, scale: opts.scale ?? 1 / Math.sqrt(D) };
}

/** The tensor itself when its head dim is contiguous (the kernels read rows through strides), else a copy. */
const rowsContiguous = (t: Tensor): Tensor => (t.strides[3] === 1 || t.shape[3] === 1 ? t : t.contiguous());

function fusedAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  const { B, H, Lq, Lk, D, scale } = check(q, k, v, opts);
  const temps: Tensor[] = [];
  const keep = (t: Tensor, src: Tensor): Tensor => {
    if (t !== src) temps.push(t);
    return t;
  };
  const qc = keep(rowsContiguous(q), q);
  const kc = keep(rowsContiguous(k), k);
  const vc = keep(rowsContiguous(v), v);
  let maskT: Tensor | null = null;
  let mask: AttentionProblem['mask'] = null;
  if (opts.mask) {
    // f16 masks are widened once (the user's tensor, not an L×L expansion); the kernel reads 32-bit words.
    maskT = opts.mask.dtype === 'f16' ? keep(noGrad(() => opts.mask!.to('f32')), opts.mask) : opts.mask;
    const strides = broadcastStrides(maskT.shape, maskT.strides, [B, H, Lq, Lk]);
    mask = { operand: maskT.operand(OP), kind: maskT.dtype === 'bool' ? 'boolean' : 'additive', strides };
  }
  const biasK = opts.biasK ?? null;
  const biasV = opts.biasV ?? null;
  const bias2 = biasK && biasV ? keep(noGrad(() => cat([biasK.reshape([H, D]), biasV.reshape([H, D])], 0)), biasK) : null;
  const nk = Lk + (bias2 ? 1 : 0);
  let dropout: AttentionProblem['dropout'] = null;
  const p = opts.dropout ?? 0;
  if (p > 0) {
    if (B * H * Lq * nk >= 2 ** 32) throw new Error(`${OP}: dropout needs B·H·Lq·Lk < 2^32 draws, got ${B * H * Lq * nk}`);
    const rng = takeRng('uniform', B * H * Lq * nk);
    dropout = { p, seed: rng.seed, offset: rng.offset };
  }
  const pb: AttentionProblem = { B, H, Lq, Lk, D, scale, causal: opts.causal ?? false, mask, bias: bias2?.operand(OP) ?? null, dropout };
  const out = empty([B, H, Lq, D], q.dtype, OP);
  const lse = empty([B * H * Lq], 'f32', OP);
  runAttentionForward(pb, out.operand(OP), lse.operand(OP), qc.operand(OP), kc.operand(OP), vc.operand(OP));
  const inputs = biasK && biasV ? [qc, kc, vc, biasK, biasV] : [qc, kc, vc];
  const saved = [qc, kc, vc, out, lse, ...(maskT ? [maskT] : []), ...(bias2 ? [bias2] : [])];
  const attrs = { scale, causal: pb.causal, mask: mask && { kind: mask.kind, strides: mask.strides }, bias: bias2 !== null, dropout };
  record('attention', inputs, out, attrs, saved);
  for (const t of [...temps, lse]) t.dispose();
  return out;
}

/**
 * The additive causal mask [Lq, Lk + extra]: 0 where a query may attend, −inf for keys after it; `extra`
 * trailing columns (bias_k/bias_v tokens) stay open. Upstream's build_causal_attention_mask for Lq = Lk.
 */
export function causalMask(Lq: number, Lk = Lq, opts: { extra?: number; dtype?: Tensor['dtype'] } = {}): Tensor {
  const extra = opts.extra ?? 0;
  const dtype = opts.dtype ?? 'f32';
  for (const [name, v] of [['Lq', Lq], ['Lk', Lk], ['extra', extra]] as const)
    if (!Number.isInteger(v) || v < 0) throw new Error(`causalMask: ${name} must be a non-negative integer, got ${v}`);
  const n = Lk + extra;
  const data = new Float32Array(Lq * n);
  for (let i = 0; i < Lq; i++) for (let j = i + 1; j < Lk; j++) data[i * n + j] = -Infinity;
  return tensor(data, { shape: [Lq, n], dtype });
}

/** The same attention composed from public ops: softmax(q·kᵀ·scale + mask)·v, materialising [B, H, Lq, Lk]. */
export function scaledDotProductAttentionUnfused(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  if (autocasting()) return withAutocast(scaledDotProductAttentionUnfused, q, k, v, opts);
  const { B, H, Lq, Lk, D, scale } = check(q, k, v, opts);
  const temps: Tensor[] = [];
  const t = (x: Tensor): Tensor => {
    temps.push(x);
    return x;
  };
  let kk = k;
  let vv = v;
  const nb = opts.biasK && opts.biasV ? 1 : 0;
  if (opts.biasK && opts.biasV) {
    const tok = (b: Tensor): Tensor => t(t(b.reshape([1, H, 1, D])).expand([B, H, 1, D]));
    kk = t(cat([k, tok(opts.biasK)], 2));
    vv = t(cat([v, tok(opts.biasV)], 2));
  }
  let s = t(t(q.matmul(t(kk.mT))).mul(scale)); // [B, H, Lq, Lk + nb]
  const m = opts.mask;
  if (m) {
    const shape4 = [...Array<number>(4 - m.ndim).fill(1), ...m.shape];
    const lead = shape4.slice(0, 2);
    let mm = t(t(m.reshape(shape4)).expand([...lead, Lq, Lk]));
    if (nb) {
      // PyTorch pads the mask with a column that lets every query see the bias token.
      const pad = t(m.dtype === 'bool' ? ones([...lead, Lq, 1], { dtype: 'bool' }) : zeros([...lead, Lq, 1], { dtype: m.dtype }));
      mm = t(cat([mm, pad], 3));
    }
    s = m.dtype === 'bool' ? t(s.where(mm, -Infinity)) : t(s.add(mm));
  }
  if (opts.causal) s = t(s.add(t(causalMask(Lq, Lk, { extra: nb, dtype: s.dtype }))));
  let w = t(softmax(s, -1));
  const p = opts.dropout ?? 0;
  if (p > 0) w = t(dropoutOp(w, p));
  const out = w.matmul(vv);
  for (const x of temps) x.dispose();
  return out;
}

/**
 * Attention over q [B, H, Lq, D], k and v [B, H, Lk, D] (3-D [N, L, D] inputs are taken as H = 1): the fused
 * flash kernels for head dims up to 128, the unfused composition beyond.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  if (autocasting()) return withAutocast(scaledDotProductAttention, q, k, v, opts);
  if (q.ndim === 3 && k.ndim === 3 && v.ndim === 3) {
    const [q4, k4, v4] = [q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)];
    const o4 = scaledDotProductAttention(q4, k4, v4, opts);
    const o = o4.squeeze(1);
    for (const x of [q4, k4, v4, o4]) x.dispose();
    return o;
  }
  if (q.ndim === 4 && q.shape[3]! > MAX_FUSED_HEAD_DIM) return scaledDotProductAttentionUnfused(q, k, v, opts);
  return fusedAttention(q, k, v, opts);
}

type Attention = (q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions) => Tensor;

/** Attention on autocast's f16 list: q, k, v, the bias-kv tokens and a float mask are cast, as PyTorch casts them. */
function withAutocast(f: Attention, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  const { mask = null, biasK = null, biasV = null } = opts;
  return runAutocast('f16', [q, k, v, mask, biasK, biasV], (q2, k2, v2, m, bk, bv) => f(q2, k2, v2, { ...opts, mask: m, biasK: bk, biasV: bv }));
}

export const attentionRules = {
  // P = softmax(s), s = scale·q·kᵀ + mask, O = (P⊙M)·v:  dv = (P⊙M)ᵀ·dO, dS = P⊙(dO·vᵀ⊙M − Δ) with
  // Δ = rowsum(dO⊙O), dq = scale·dS·k, dk = scale·dSᵀ·q; the bias-kv token's dk/dv summed over the batch
  attention: (g, c) => {
    const a = c.attrs;
    const [q, k, v, o, lse] = [0, 1, 2, 3, 4].map((i) => c.saved(i)) as [Tensor, Tensor, Tensor, Tensor, Tensor];
    let n = 5;
    const maskT = a.mask ? c.saved(n++) : null;
    const bias2 = a.bias ? c.saved(n++) : null;
    const [B, H, Lq, D] = q.shape as [number, number, number, number];
    const Lk = k.shape[2]!;
    const gc = g.shape[3] === 1 || g.strides[3] === 1 ? g : g.contiguous();
    const pb: AttentionProblem = {
      B, H, Lq, Lk, D, scale: a.scale, causal: a.causal, dropout: a.dropout,
      mask: maskT && a.mask ? { operand: maskT.operand(OP), kind: a.mask.kind, strides: a.mask.strides } : null,
      bias: bias2?.operand(OP) ?? null,
    };
    const kvN = B * H * Lk * D;
    const dq = empty(q.shape, q.dtype, OP);
    const dkv = empty([2 * kvN + (bias2 ? 2 * B * H * D : 0)], q.dtype, OP);
    const ld = empty([B * H * Lq, 2], 'f32', OP);
    runAttentionBackward(pb, { dq: dq.operand(OP), dkv: dkv.operand(OP), ld: ld.operand(OP) }, q.operand(OP), k.operand(OP), v.operand(OP), o.operand(OP), lse.operand(OP), gc.operand(OP));
    const kvStrides = contiguousStrides(k.shape);
    const grads: (Tensor | null)[] = [c.needs(0) ? dq : null, c.needs(1) ? dkv.withLayout(k.shape, kvStrides, 0) : null, c.needs(2) ? dkv.withLayout(k.shape, kvStrides, kvN) : null];
    if (bias2) {
      const part = (off: number, i: number): Tensor | null => {
        if (!c.needs(i)) return null;
        const view = dkv.withLayout([B, H, D], [2 * H * D, 2 * D, 1], 2 * kvN + off);
        const s = sum(view, 0); // [H, D], summed over the batch in a fixed order
        const r = s.reshape(c.inputs[i]!.shape);
        view.dispose();
        if (r !== s) s.dispose();
        return r;
      };
      grads.push(part(0, 3), part(D, 4));
    }
    if (!c.needs(0)) dq.dispose();
    if (gc !== g) gc.dispose();
    ld.dispose();
    dkv.dispose();
    return grads;
  },
} satisfies Pick<GradRules, 'attention'>;
